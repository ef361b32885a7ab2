import { hash } from 'node:crypto';

/**
 * JSON with object keys sorted, so equal values always serialise (and hash) the same way.
 * Non-finite numbers are refused: they would silently become `null` in JSON.
 *
 * Objects are rebuilt with sorted keys first, then serialised by the native JSON.stringify: a
 * replacer function (called for every value, numbers included) made this the slowest part of storing
 * a big output — ≈ 47 ms for one day of road-count arc-days (245,000 numbers), now ≈ 10 ms.
 */
export function stableStringify(value: unknown): string {
  return JSON.stringify(canonical(value));
}

/** `v` with every object's keys in sorted order (arrays and primitives shared, not copied). */
export function canonical(v: unknown): unknown {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`Cannot serialise non-finite number ${v}`);
    return v;
  }
  if (v === null || typeof v !== 'object') return v;
  // Dates and other objects with toJSON are serialised as what toJSON gives, as JSON.stringify does.
  const withToJson = v as { toJSON?: () => unknown };
  if (typeof withToJson.toJSON === 'function') return canonical(withToJson.toJSON());
  if (Array.isArray(v)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < v.length; i++) {
      const item: unknown = v[i];
      const c = canonical(item);
      if (c !== item) (out ??= v.slice())[i] = c;
    }
    return out ?? v;
  }
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) sorted[k] = canonical((v as Record<string, unknown>)[k]);
  return sorted;
}

/** One-shot (`crypto.hash`): ≈ 4× faster than a Hash object for the short texts of data versions. */
export const sha256 = (data: string | Uint8Array): string => hash('sha256', data, 'hex');

/** Compact JSON from this size up (characters); indented below it (a person may open a small file). */
export const COMPACT_JSON_FROM = 256 * 1024;

/**
 * The canonical JSON text of a value: sorted keys; indented (2 spaces) when small, compact from
 * `COMPACT_JSON_FROM` — one day of road-count arc-days was 2.4 MB compact against 4.2 MB indented.
 * What file stores write and what a JSON value's data version is the hash of (engine/encode.ts).
 * `undefined` is `null`.
 */
export function canonicalJson(value: unknown): string {
  const c = canonical(value);
  const compact = JSON.stringify(c) ?? 'null';
  return compact.length >= COMPACT_JSON_FROM ? compact : JSON.stringify(c, null, 2);
}

/** The data version of some stored bytes: a short SHA-256. */
export const versionOfHash = (sha256Hex: string): string => sha256Hex.slice(0, 16);

/** Short content hash of a JSON value: of its canonical JSON text (`canonicalJson`), as stored. */
export const dataVersionOf = (value: unknown): string => versionOfHash(sha256(canonicalJson(value)));

/**
 * Hash of several version parts, encoded injectively as a JSON array: ["a","bc"] and ["ab","c"] differ
 * (plain concatenation would collide; cf. Dagster issue #34184).
 */
export const combineVersions = (parts: readonly (string | null)[]): string =>
  sha256(JSON.stringify(parts)).slice(0, 16);
