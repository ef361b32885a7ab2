/**
 * Turning an asset value into the JSON document the database IO managers store (shared by the
 * DynamoDB and MongoDB managers). The stored value is what `JSON.parse(JSON.stringify(value))` gives,
 * the same semantics as the local-files manager, except that values JSON would silently corrupt are
 * refused with the path of the bad field: NaN and ±Infinity (JSON writes `null`), bigint, functions.
 */
import { createHash, randomUUID } from 'node:crypto';

export class UnstorableValueError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`Cannot store value: ${path} ${reason}`);
    this.name = 'UnstorableValueError';
  }
}

export interface EncodedValue {
  /** The JSON text, UTF-8. */
  bytes: Buffer;
  /** Hex sha256 of `bytes`, kept beside chunked values to verify reassembly. */
  sha256: string;
  /** Deepest nesting level of objects/arrays (DynamoDB maps allow 32). */
  depth: number;
  /** Some string has an unpaired UTF-16 surrogate: only the JSON text keeps it exactly. */
  hasLoneSurrogate: boolean;
  /** Some object key starts with `$`, contains `.` or NUL, or is empty: keep out of native documents. */
  hasAwkwardKey: boolean;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function keyPath(parent: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

/** Validates and serialises. Throws UnstorableValueError naming the field path (e.g. `$.metrics[3].debit_max`). */
export function encodeJsonValue(value: unknown): EncodedValue {
  let depth = 0;
  let hasLoneSurrogate = false;
  let hasAwkwardKey = false;

  const walk = (v: unknown, path: string, level: number, key: string): void => {
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function')
      v = (v as { toJSON(k: string): unknown }).toJSON(key);
    switch (typeof v) {
      case 'number':
        if (!Number.isFinite(v))
          throw new UnstorableValueError(path, `is ${v}; only finite numbers can be stored`);
        return;
      case 'string':
        if (!hasLoneSurrogate && LONE_SURROGATE.test(v)) hasLoneSurrogate = true;
        return;
      case 'bigint':
        throw new UnstorableValueError(path, 'is a bigint; convert it to a number or a string');
      case 'function':
      case 'symbol':
        throw new UnstorableValueError(path, `is a ${typeof v}`);
      case 'object': {
        if (v === null) return;
        depth = Math.max(depth, level + 1);
        if (Array.isArray(v)) {
          v.forEach((item, i) => walk(item, `${path}[${i}]`, level + 1, String(i)));
          return;
        }
        for (const [k, item] of Object.entries(v)) {
          if (item === undefined) continue; // stripped, as JSON does
          if (!hasAwkwardKey && (k === '' || k.startsWith('$') || k.includes('.') || k.includes('\0')))
            hasAwkwardKey = true;
          if (!hasLoneSurrogate && LONE_SURROGATE.test(k)) hasLoneSurrogate = true;
          walk(item, keyPath(path, k), level + 1, k);
        }
        return;
      }
      default: // undefined, boolean
        return;
    }
  };
  walk(value, '$', 0, '');
  const text = JSON.stringify(value);
  if (text === undefined) throw new UnstorableValueError('$', 'is undefined');
  const bytes = Buffer.from(text, 'utf8');
  return {
    bytes,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    depth,
    hasLoneSurrogate,
    hasAwkwardKey,
  };
}

/** Splits into slices of at most `size` bytes (binary slices: a UTF-8 character may straddle two). */
/**
 * The reassembled bytes of a chunked value, or undefined when they are not exactly what the index item
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

export function sliceBytes(bytes: Buffer, size: number): Buffer[] {
  if (size <= 0) throw new Error(`chunk size must be positive, got ${size}`);
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out.length > 0 ? out : [Buffer.alloc(0)];
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

/** Exponential backoff with full jitter: a random delay in [0, min(cap, base·2^attempt)). */
export function backoffDelay(attempt: number, baseMs: number, capMs: number): number {
  return Math.random() * Math.min(capMs, baseMs * 2 ** attempt);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
