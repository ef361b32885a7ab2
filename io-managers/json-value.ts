/**
 * Turning an asset value into the JSON document the database IO managers store (shared by the
 * DynamoDB and MongoDB managers). The stored value is what `JSON.parse(JSON.stringify(value))` gives,
 * the same semantics as the local-files manager, except that values JSON would silently corrupt are
 * refused with the path of the bad field: NaN and ±Infinity (JSON writes `null`), bigint, functions.
 */
import { createHash } from 'node:crypto';
import { isArrowTable } from '../engine/arrow.ts';

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
  // Table values are refused when the definitions load (`storesTables`); this guards direct calls.
  if (isArrowTable(value))
    throw new UnstorableValueError(
      '$',
      'is an Arrow Table: database IO managers store JSON values only (store tables in files or S3)',
    );
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
