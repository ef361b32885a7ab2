/**
 * Canonical JSON (engine/hash.ts) is what file stores write and what JSON values' data versions hash:
 * it must not change. Plain data is written by JSON.stringify with a key list (no sorted copy); the
 * result must be byte for byte what the sorted copy gives, for any JSON-like value, and values the key
 * list cannot reproduce (class instances, toJSON, `__proto__` keys, many distinct keys) take the copy.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonical, canonicalJson, COMPACT_JSON_FROM } from '../engine/hash.ts';

/** The reference: JSON.stringify of the sorted copy, indented when small. */
const reference = (v: unknown): string => {
  const compact = JSON.stringify(canonical(v)) ?? 'null';
  return compact.length >= COMPACT_JSON_FROM ? compact : JSON.stringify(canonical(v), null, 2);
};

// Keys that order differently as text and as numbers, look like indices without being ones, or need escaping.
const key = fc.oneof(
  fc.constantFrom('a', 'b', 'Z', '10', '9', '0', '01', '-1', '4294967294', '4294967295', 'é', 'ü', '"q"', ''),
  fc.string({ maxLength: 4 }),
);
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string(), fc.boolean()),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(key, tie('value'), { maxKeys: 6 }),
  ),
})).value;

describe('canonical JSON', () => {
  it('writes any JSON-like value exactly as its sorted copy does', () => {
    fc.assert(
      fc.property(json, (v) => {
        expect(canonicalJson(v)).toBe(reference(v));
      }),
      { numRuns: 500 },
    );
  });

  it('large values (compact), null-prototype objects, undefined and holes too', () => {
    const big = Array.from({ length: 3000 }, (_, i) => ({
      z: i,
      a: `arc ${i}`,
      m: { y: [1, 2], b: null },
      10: 1,
      9: 2,
    }));
    expect(canonicalJson(big)).toBe(reference(big));
    const bare = Object.assign(Object.create(null) as object, { b: 1, a: [undefined, 2], c: undefined });
    expect(canonicalJson(bare)).toBe(reference(bare));
    expect(canonicalJson([1, , 3])).toBe(reference([1, , 3])); // eslint-disable-line no-sparse-arrays
  });

  it('takes the sorted copy for what a key list cannot reproduce', () => {
    class Point {
      constructor(
        readonly y: number,
        readonly x: number,
      ) {}
    }
    const withProto = JSON.parse('{"b":1,"__proto__":{"x":1},"a":{"c":2}}') as unknown;
    const manyKeys = Array.from({ length: 300 }, (_, i) => ({ [`k${i}`]: i, other: 1 }));
    for (const v of [
      { p: new Point(2, 1), a: 1 },
      { when: new Date(0), a: { toJSON: () => ({ z: 1, a: 2 }) } },
      withProto,
      manyKeys,
    ])
      expect(canonicalJson(v)).toBe(reference(v));
    expect(() => canonicalJson({ a: [1, Number.NaN] })).toThrow(/non-finite number NaN/);
  });
});
