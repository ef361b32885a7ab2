import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted, so equal values always serialise (and hash) the same way.
 * Non-finite numbers are refused: they would silently become `null` in JSON.
 */
export function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'number' && !Number.isFinite(v))
      throw new TypeError(`Cannot serialise non-finite number ${v}`);
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

export const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Short content hash of a JSON value. */
export const dataVersionOf = (value: unknown): string => sha256(stableStringify(value)).slice(0, 16);

/**
 * Hash of several version parts, encoded injectively as a JSON array: ["a","bc"] and ["ab","c"] differ
 * (plain concatenation would collide; cf. Dagster issue #34184).
 */
export const combineVersions = (parts: readonly (string | null)[]): string =>
  sha256(JSON.stringify(parts)).slice(0, 16);
