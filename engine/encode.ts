/**
 * One serialisation per stored value: the engine encodes a value once to the bytes a file store writes,
 * and its data version is the hash of exactly those bytes, computed as they are produced. Same value →
 * same bytes → same version.
 *
 * - `json` (default): canonical JSON (sorted keys; indented when small, compact from 256 KB).
 * - `text` (`storage.file.format: 'text'`): the string itself, UTF-8.
 * - `arrow` (a `tableSchema` asset; `storage.file.format: 'arrow'`): an Arrow IPC stream.
 */
import { createHash } from 'node:crypto';
import { arrow, isArrowTable } from './arrow.ts';
import { canonicalJson, canonicalJsonPieces, versionOfHash } from './hash.ts';
import type { StorageMeta } from './storage.ts';

export type ValueFormat = 'json' | 'text' | 'arrow';

/** What is known of a value's encoded bytes once they are all produced: their size and hashes. */
export interface ValueDigest {
  format: ValueFormat;
  /** Total size of the bytes. */
  bytes: number;
  /** SHA-256 (hex) of the bytes. */
  sha256: string;
  /** The data version: the SHA-256 of the bytes, shortened. */
  dataVersion: string;
}

/** A value encoded for storage in memory: its bytes (in the chunks they were produced in) and their hashes. */
export interface EncodedValue extends ValueDigest {
  /** The bytes, in order; their concatenation is what a file store writes. */
  chunks: readonly Uint8Array[];
}

/** Where the bytes of a value go as they are produced (a file being written: IOManager.openValue). */
export interface ValueSink {
  /**
   * Appends bytes (a string as UTF-8); resolves to the number of bytes written, once they are: the
   * caller may then reuse the bytes' memory.
   */
  write(piece: string | Uint8Array): Promise<number>;
}

/** Characters of canonical JSON per piece written by `encodeInto` (≤ 3 bytes each in UTF-8). */
const JSON_PIECE_CHARS = 64 * 1024;

/** The format a unit's value is stored in, from the asset's `storage.file.format`. */
export const formatOf = (storage: StorageMeta | undefined): ValueFormat => storage?.file?.format ?? 'json';

/** File name extension and HTTP content type per format (an asset's `storage.file.extension` wins). */
export const FORMAT_FILES: Readonly<Record<ValueFormat, { extension: string; contentType: string }>> = {
  json: { extension: 'json', contentType: 'application/json; charset=utf-8' },
  text: { extension: 'txt', contentType: 'text/plain; charset=utf-8' },
  arrow: { extension: 'arrows', contentType: 'application/vnd.apache.arrow.stream' },
};

/** Refused by `encodeValue`: a value that does not fit its format (one line, naming what was expected). */
export class ValueFormatError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'ValueFormatError';
  }
}

/**
 * Encodes a value in its format, in memory. `what` names it in errors (an asset key). Throws
 * ValueFormatError for a text asset that is not a string or a table asset that is not an Arrow Table,
 * TypeError for a non-finite number in JSON.
 */
export async function encodeValue(
  value: unknown,
  format: ValueFormat,
  what = 'value',
): Promise<EncodedValue> {
  const chunks: Uint8Array[] = [];
  const digest = await encode(value, format, what, (c) => {
    chunks.push(c as Uint8Array); // strings are turned into bytes first when encoding in memory
    return c.length;
  });
  return { ...digest, chunks };
}

/**
 * Encodes a value in its format into `sink` as the bytes are produced, hashing them on the way: the
 * same bytes and version as `encodeValue`, but a large JSON value never exists whole as text or bytes
 * (canonicalJsonPieces). Same errors as `encodeValue`, possibly after some bytes were written.
 */
export function encodeInto(
  value: unknown,
  format: ValueFormat,
  what: string,
  sink: ValueSink,
): Promise<ValueDigest> {
  return encode(value, format, what, (piece) => sink.write(piece), true);
}

async function encode(
  value: unknown,
  format: ValueFormat,
  what: string,
  emit: (piece: string | Uint8Array) => number | Promise<number>,
  streaming = false,
): Promise<ValueDigest> {
  const hash = createHash('sha256');
  let bytes = 0;
  const put = async (piece: string | Uint8Array): Promise<void> => {
    if (!piece.length) return;
    hash.update(piece);
    bytes += await emit(piece);
  };
  if (format === 'arrow') {
    if (!isArrowTable(value))
      throw new ValueFormatError(
        `${what}: a table asset (storage.file.format 'arrow') must produce an Arrow Table`,
      );
    // The stream's messages are hashed as the writer produces them; nothing is serialised twice.
    const { RecordBatchStreamWriter } = await arrow();
    for await (const c of RecordBatchStreamWriter.writeAll(value)) await put(c);
  } else if (format === 'text') {
    if (typeof value !== 'string')
      throw new ValueFormatError(`${what}: a text asset (storage.file.format 'text') must produce a string`);
    await put(streaming ? value : Buffer.from(value, 'utf8'));
  } else {
    if (isArrowTable(value))
      throw new ValueFormatError(
        `${what}: an Arrow Table is stored as a table: declare the asset's schema with tableSchema(…)`,
      );
    if (!streaming) await put(Buffer.from(canonicalJson(value), 'utf8'));
    else {
      // Each piece encoded into one buffer, hashed and written before the next (ValueSink.write), so the
      // text is encoded once and the value's bytes are never held whole.
      const scratch = Buffer.allocUnsafe(3 * JSON_PIECE_CHARS);
      for (const piece of canonicalJsonPieces(value, JSON_PIECE_CHARS)) {
        if (piece.length * 3 > scratch.length) await put(piece);
        else await put(scratch.subarray(0, scratch.write(piece, 'utf8')));
      }
    }
  }
  const sha256 = hash.digest('hex');
  return { format, bytes, sha256, dataVersion: versionOfHash(sha256) };
}

/**
 * What a file-storing IO manager writes for an asset: the bytes the engine encoded (`encoded`, checked to
 * be in the asset's format), or, when called without them, the value encoded the same way.
 */
export async function encodedForStorage(
  storage: StorageMeta | undefined,
  assetKey: string,
  value: unknown,
  encoded?: EncodedValue,
): Promise<EncodedValue> {
  const format = formatOf(storage);
  if (encoded && encoded.format !== format)
    throw new Error(`${assetKey}: value encoded as ${encoded.format}, stored as ${format}`);
  return encoded ?? (await encodeValue(value, format, assetKey));
}

/** The encoded bytes as one buffer (no copy when there is one chunk). */
export const bytesOf = (e: EncodedValue): Uint8Array =>
  e.chunks.length === 1 ? e.chunks[0]! : Buffer.concat(e.chunks as Uint8Array[], e.bytes);

/** The value stored as `bytes` in `format` (what `load` returns). */
export async function decodeValue(bytes: Uint8Array, format: ValueFormat): Promise<unknown> {
  if (format === 'arrow') return (await arrow()).tableFromIPC(bytes);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  return format === 'text' ? text : (JSON.parse(text) as unknown);
}
