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
  for (const k of sortedKeys(v)) sorted[k] = canonical((v as Record<string, unknown>)[k]);
  return sorted;
}

/**
 * `Object.keys(v).sort()`, the sort skipped when the keys are those of the previous object, in the same
 * order: the records of a big value share their keys (a day of road-count metrics: 3,400 records of
 * 17 keys; ≈ a third of canonical()'s time was sorting them again).
 */
let lastKeys: readonly string[] = [];
let lastSorted: readonly string[] = [];
function sortedKeys(v: object): readonly string[] {
  const keys = Object.keys(v);
  if (keys.length === lastKeys.length && keys.every((k, i) => k === lastKeys[i])) return lastSorted;
  lastKeys = keys;
  lastSorted = [...keys].sort();
  return lastSorted;
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
  return compact.length >= COMPACT_JSON_FROM ? compact : indented(c);
}

/** The indented text of a small value (`c`: canonical). */
const indented = (c: unknown): string => JSON.stringify(c, null, 2) ?? 'null';

/** The data version of some stored bytes: a short SHA-256. */
export const versionOfHash = (sha256Hex: string): string => sha256Hex.slice(0, 16);

/**
 * `canonicalJson(value)` in pieces of about `pieceChars` characters, for a value written as it is
 * serialised: no string of the whole text exists, and the pieces can be dropped once written. The
 * first COMPACT_JSON_FROM characters are held back until the text is known to reach that size (else
 * the value is small, and its indented text is the one piece). Arrays and objects are walked, but an
 * array's elements that hold no array are serialised at once (a record: one native call).
 * Pieces end between complete JSON tokens, so their UTF-8 encodings concatenate to the whole text's.
 */
export function* canonicalJsonPieces(value: unknown, pieceChars = 64 * 1024): Generator<string> {
  let buf = '';
  const held: string[] = [];
  let heldChars = 0;
  let compact = false;
  function* flush(): Generator<string> {
    if (compact) {
      if (buf) yield buf;
    } else {
      held.push(buf);
      heldChars += buf.length;
      if (heldChars >= COMPACT_JSON_FROM) {
        compact = true;
        yield* held.splice(0);
      }
    }
    buf = '';
  }
  /** JSON text of a value at once (undefined: none, as JSON.stringify for undefined or a function). */
  const atOnce = (v: unknown): string | undefined => JSON.stringify(canonical(v));
  /** `v` and `walk`'s argument: objects with toJSON replaced by what it gives, as canonical() does. */
  const resolved = (v: unknown): unknown => {
    let r = v;
    while (r !== null && typeof r === 'object' && typeof (r as { toJSON?: unknown }).toJSON === 'function')
      r = (r as { toJSON: () => unknown }).toJSON();
    return r;
  };
  function* walk(v: unknown): Generator<string> {
    if (Array.isArray(v)) {
      buf += '[';
      for (let i = 0; i < v.length; i++) {
        if (i) buf += ',';
        const item = resolved(v[i]);
        if (Array.isArray(item) || holdsArray(item)) yield* walk(item);
        else buf += atOnce(item) ?? 'null';
        if (buf.length >= pieceChars) yield* flush();
      }
      buf += ']';
    } else if (v !== null && typeof v === 'object') {
      // Keys in the order of canonical()'s copy (array-index keys first, as every object orders them).
      const order: Record<string, true> = {};
      for (const k of Object.keys(v).sort()) order[k] = true;
      buf += '{';
      let first = true;
      for (const k of Object.keys(order)) {
        const child = resolved((v as Record<string, unknown>)[k]);
        const walked = child !== null && typeof child === 'object';
        const text = walked ? undefined : atOnce(child);
        if (!walked && text === undefined) continue; // undefined, a function: no key, as JSON.stringify
        buf += `${first ? '' : ','}${JSON.stringify(k)}:`;
        first = false;
        if (walked) yield* walk(child);
        else buf += text;
      }
      buf += '}';
    } else buf += atOnce(v) ?? 'null';
  }
  yield* walk(resolved(value));
  yield* flush();
  if (!compact) yield indented(canonical(value)); // what canonicalJson gives below the size
}

/** An object with an array among its values: walked inside an array, not serialised at once. */
function holdsArray(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return false;
  for (const k in v) if (Array.isArray((v as Record<string, unknown>)[k])) return true;
  return false;
}

/** Short content hash of a JSON value: of its canonical JSON text (`canonicalJson`), as stored. */
export const dataVersionOf = (value: unknown): string => versionOfHash(sha256(canonicalJson(value)));

/**
 * Hash of several version parts, encoded injectively as a JSON array: ["a","bc"] and ["ab","c"] differ
 * (plain concatenation would collide; cf. Dagster issue #34184).
 */
export const combineVersions = (parts: readonly (string | null)[]): string =>
  sha256(JSON.stringify(parts)).slice(0, 16);
