/**
 * Values over a database's item/document size limit, shared by the DynamoDB and MongoDB managers
 * (docs/storage.md, "Two layouts"). A value is stored either inline in its index record (the main
 * item/document), or as its UTF-8 JSON cut into chunks of at most `chunkBytes`:
 *
 * 1. the chunks are written under a fresh write tag (time-ordered), nobody reads them yet;
 * 2. the index record is switched to that tag, size and sha256 in ONE write: the atomic step;
 * 3. the previous write's chunks (and orphans of killed writes older than `orphanAgeMs`) are deleted.
 *
 * Readers read the index first and then only the chunks of its tag, checking count, size and sha256,
 * so they get the old value or the new one, never a mix; one that loses the race with step 3 reads the
 * index again (up to `loadTries` times). The database side is a `ChunkBackend`.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { EncodedValue } from './json-value.ts';

/** What an index record says about the value (field names as stored). */
export interface IndexFields {
  data_version: string;
  bytes: number;
  sha256: string;
  layout: 'inline' | 'chunked';
  chunks: number;
  write_tag: string | null;
}

/** An index record as read back (any field may be missing in records of other writers). */
export type IndexRecord = Partial<IndexFields> & Record<string, unknown>;

/** The database side of chunked storage, for one kind of key `K`. */
export interface ChunkBackend<K> {
  /** The index record of `key` (only `fields` when given), or undefined. */
  readIndex(key: K, fields?: readonly string[]): Promise<IndexRecord | undefined>;
  /** The value held inline by an index record. */
  inlineValue(key: K, record: IndexRecord): unknown;
  /** Writes the index record in one write; `inline` holds the value for the inline layout. */
  writeIndex(key: K, fields: IndexFields, inline?: { value: unknown }): Promise<void>;
  writeChunks(key: K, tag: string, slices: Buffer[]): Promise<void>;
  /** The `count` chunks of one write in order, or undefined when one is missing. */
  readChunks(key: K, tag: string, count: number): Promise<Buffer[] | undefined>;
  /** Deletes chunks whose tag is not `current` and is `previous` or older than `cutoffMs` (see isStaleTag). */
  deleteStaleChunks(key: K, current: string | null, previous: string | null, cutoffMs: number): Promise<void>;
  /** The store refused an inline write (too large or deep once converted, a number out of range). */
  refusesInline(err: unknown): boolean;
  /** Names the key in messages. */
  describe(key: K): string;
}

export interface ChunkingLimits {
  /** JSON size up to which a value is stored inline. */
  inlineMaxBytes: number;
  /** Size of each chunk. */
  chunkBytes: number;
  /** Deeper values are chunked (native nesting limits). */
  maxInlineDepth: number;
  /** Chunks of other writes older than this are orphans of killed writes. */
  orphanAgeMs: number;
  /** Index reads when chunks vanish under a reader (a concurrent store). Default 3. */
  loadTries?: number;
}

/** Splits into slices of at most `size` bytes (binary slices: a UTF-8 character may straddle two). */
export function sliceBytes(bytes: Buffer, size: number): Buffer[] {
  if (!(size > 0)) throw new Error(`chunk size must be positive, got ${size}`);
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out.length > 0 ? out : [Buffer.alloc(0)];
}

/**
 * The reassembled bytes of a chunked value, or undefined when they are not exactly what the index
 * recorded (size, and sha256 when present): a concurrent rewrite or a lost chunk, never a half value.
 */
export function verifiedChunks(
  bytes: Buffer,
  expected: { bytes?: unknown; sha256?: unknown },
): Buffer | undefined {
  if (bytes.length !== expected.bytes) return undefined;
  if (expected.sha256 && createHash('sha256').update(bytes).digest('hex') !== expected.sha256)
    return undefined;
  return bytes;
}

/** A fresh tag for one write's chunks: time first (so stale orphans can be aged out), then randomness. */
export function newWriteTag(now = Date.now()): string {
  return `${now.toString(36).padStart(9, '0')}-${randomUUID().slice(0, 8)}`;
}

/** Milliseconds since epoch encoded at the start of a write tag, or NaN when it is not one. */
export function writeTagTime(tag: string): number {
  const head = tag.split('-')[0];
  return head ? parseInt(head, 36) : Number.NaN;
}

/** A chunk of write `tag` may be deleted: not the current write's, and the previous one's or an old orphan. */
export function isStaleTag(
  tag: string,
  current: string | null,
  previous: string | null,
  cutoffMs: number,
): boolean {
  return tag !== current && (tag === previous || writeTagTime(tag) < cutoffMs);
}

/** Stores and loads values through a ChunkBackend, inline or chunked (see the module comment). */
export class ChunkedValues<K> {
  constructor(
    private readonly backend: ChunkBackend<K>,
    private readonly limits: ChunkingLimits,
  ) {
    if (!(limits.chunkBytes > 0)) throw new Error(`chunk size must be positive, got ${limits.chunkBytes}`);
  }

  /** Stores a value encoded by `encodeJsonValue` (which refuses NaN & co. with the field path). */
  async store(key: K, enc: EncodedValue, dataVersion: string): Promise<'inline' | 'chunked'> {
    const prev = await this.backend.readIndex(key, ['write_tag']);
    const inline =
      enc.bytes.length <= this.limits.inlineMaxBytes &&
      enc.depth <= this.limits.maxInlineDepth &&
      !enc.hasLoneSurrogate &&
      !enc.hasAwkwardKey;
    let tag: string | null = null;
    if (inline) {
      try {
        const fields = indexFields(enc, dataVersion, null, 0);
        await this.backend.writeIndex(key, fields, { value: JSON.parse(enc.bytes.toString('utf8')) });
      } catch (err) {
        if (!this.backend.refusesInline(err)) throw err;
        tag = await this.writeChunked(key, enc, dataVersion);
      }
    } else {
      tag = await this.writeChunked(key, enc, dataVersion);
    }
    const previous = typeof prev?.write_tag === 'string' ? prev.write_tag : null;
    await this.backend.deleteStaleChunks(key, tag, previous, Date.now() - this.limits.orphanAgeMs);
    return tag ? 'chunked' : 'inline';
  }

  /** The stored value, or `missing()` thrown when there is none. */
  async load(key: K, missing: () => Error): Promise<unknown> {
    const tries = this.limits.loadTries ?? 3;
    for (let attempt = 1; ; attempt++) {
      const record = await this.backend.readIndex(key);
      if (!record) throw missing();
      if (record.layout !== 'chunked') return this.backend.inlineValue(key, record) ?? null;
      const bytes = await this.readChunks(key, record);
      if (bytes) return JSON.parse(bytes.toString('utf8'));
      // A chunk is gone: a concurrent store replaced the value after we read the index. Re-read it.
      if (attempt >= tries)
        throw new Error(
          `Chunks of ${this.backend.describe(key)} (write ${String(record.write_tag)}) are missing or corrupt`,
        );
    }
  }

  private async writeChunked(key: K, enc: EncodedValue, dataVersion: string): Promise<string> {
    const tag = newWriteTag();
    const slices = sliceBytes(enc.bytes, this.limits.chunkBytes);
    await this.backend.writeChunks(key, tag, slices);
    await this.backend.writeIndex(key, indexFields(enc, dataVersion, tag, slices.length));
    return tag;
  }

  private async readChunks(key: K, record: IndexRecord): Promise<Buffer | undefined> {
    const tag = record.write_tag;
    const count = record.chunks ?? 0;
    if (typeof tag !== 'string') return undefined;
    const parts = await this.backend.readChunks(key, tag, count);
    if (!parts || parts.length !== count) return undefined;
    return verifiedChunks(Buffer.concat(parts), record);
  }
}

function indexFields(
  enc: EncodedValue,
  dataVersion: string,
  tag: string | null,
  chunks: number,
): IndexFields {
  return {
    data_version: dataVersion,
    bytes: enc.bytes.length,
    sha256: enc.sha256,
    layout: tag ? 'chunked' : 'inline',
    chunks,
    write_tag: tag,
  };
}
