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
import { canonicalJson, versionOfHash } from './hash.ts';
import type { StorageMeta } from './storage.ts';

export type ValueFormat = 'json' | 'text' | 'arrow';

/** A value encoded for storage: its bytes (in the chunks they were produced in) and their hashes. */
export interface EncodedValue {
  format: ValueFormat;
  /** The bytes, in order; their concatenation is what a file store writes. */
  chunks: readonly Uint8Array[];
  /** Total size of `chunks`. */
  bytes: number;
  /** SHA-256 (hex) of the bytes. */
  sha256: string;
  /** The data version: the SHA-256 of the bytes, shortened. */
  dataVersion: string;
}

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
 * Encodes a value in its format. `what` names it in errors (an asset key). Throws ValueFormatError for
 * a text asset that is not a string or a table asset that is not an Arrow Table, TypeError for a
 * non-finite number in JSON.
 */
export async function encodeValue(
  value: unknown,
  format: ValueFormat,
  what = 'value',
): Promise<EncodedValue> {
  const hash = createHash('sha256');
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  const push = (c: Uint8Array): void => {
    if (!c.length) return;
    hash.update(c);
    chunks.push(c);
    bytes += c.length;
  };
  if (format === 'arrow') {
    if (!isArrowTable(value))
      throw new ValueFormatError(
        `${what}: a table asset (storage.file.format 'arrow') must produce an Arrow Table`,
      );
    // The stream's messages are hashed as the writer produces them; nothing is serialised twice.
    const { RecordBatchStreamWriter } = await arrow();
    for await (const c of RecordBatchStreamWriter.writeAll(value)) push(c);
  } else if (format === 'text') {
    if (typeof value !== 'string')
      throw new ValueFormatError(`${what}: a text asset (storage.file.format 'text') must produce a string`);
    push(Buffer.from(value, 'utf8'));
  } else {
    if (isArrowTable(value))
      throw new ValueFormatError(
        `${what}: an Arrow Table is stored as a table: declare the asset's schema with tableSchema(…)`,
      );
    push(Buffer.from(canonicalJson(value), 'utf8'));
  }
  const sha256 = hash.digest('hex');
  return { format, chunks, bytes, sha256, dataVersion: versionOfHash(sha256) };
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
