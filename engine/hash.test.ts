/**
 * stableStringify: sorted keys at every depth, output identical to a JSON.stringify replacer that
 * sorts keys (the previous implementation, kept here as the reference: data versions must not change),
 * non-finite numbers refused.
 */
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  canonicalJsonPieces,
  COMPACT_JSON_FROM,
  dataVersionOf,
  stableStringify,
} from './hash.ts';

function reference(value: unknown): string {
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

describe('stableStringify', () => {
  const values: unknown[] = [
    null,
    0,
    -0,
    1.5e-7,
    'é"\n',
    true,
    [],
    {},
    [1, null, undefined, 'a', [2, [3, { z: 1, a: 2 }]]],
    { b: 1, a: { d: [4, { y: 2, x: 1 }], c: undefined }, e: () => 1 },
    { when: new Date(Date.UTC(2025, 10, 4, 12)), nested: { dates: [new Date(0)] } },
    { buf: { toJSON: () => ({ type: 'T', data: [1, 2] }) } },
    {
      arc_id: '4264',
      day: '2025-11-04',
      flow: [1034, null, 12.5],
      occupancy: [22.86333, null, 0.0000001],
      etat: ['Fluide', null, 'Saturé'],
      geo_point: [48.87, 2.3],
      row_length_m: null,
    },
  ];

  it('sorts keys at every depth, exactly as the previous replacer did', () => {
    for (const v of values) expect(stableStringify(v)).toBe(reference(v));
    expect(stableStringify({ b: 1, a: { d: 1, c: 2 } })).toBe('{"a":{"c":2,"d":1},"b":1}');
  });

  it('sorts each record of a run whatever the keys of the one before (same keys, other order, other keys)', () => {
    const rows = [
      { b: 1, a: 2 },
      { b: 3, a: 4 },
      { a: 5, b: 6 },
      { b: 7, a: 8, c: 9 },
      { c: 1, b: 2 },
      { b: 3, a: 4 },
    ];
    expect(stableStringify(rows)).toBe(reference(rows));
    expect(stableStringify(rows)).toBe(
      '[{"a":2,"b":1},{"a":4,"b":3},{"a":5,"b":6},{"a":8,"b":7,"c":9},{"b":2,"c":1},{"a":4,"b":3}]',
    );
  });

  it('the same value with keys in another order has the same data version', () => {
    expect(dataVersionOf({ a: 1, b: [{ y: 1, x: 2 }] })).toBe(dataVersionOf({ b: [{ x: 2, y: 1 }], a: 1 }));
  });

  it('refuses non-finite numbers wherever they are', () => {
    for (const bad of [NaN, { a: [1, Infinity] }, [[{ x: -Infinity }]]])
      expect(() => stableStringify(bad)).toThrow(/non-finite number/);
  });

  it('does not modify the value it serialises', () => {
    const v = { b: [{ d: 1, c: 2 }], a: 1 };
    stableStringify(v);
    expect(Object.keys(v)).toEqual(['b', 'a']);
    expect(Object.keys(v.b[0]!)).toEqual(['d', 'c']);
  });
});

describe('canonicalJsonPieces: canonicalJson in pieces', () => {
  const big = (n: number) => ({
    date: '2025-01-10',
    global: { total: n, note: 'Évry → Paris 🚲' },
    metrics: Array.from({ length: n }, (_, i) => ({
      z_last: i % 3 ? null : i / 7,
      arc_id: String(i),
      libelle: i % 5 ? `Rue n°${i} (é à ü)` : '𝄞 surrogate pair',
      hours: [1, 2, undefined, i],
      when: new Date(Date.UTC(2025, 0, 1, i % 24)),
      skipped: undefined,
      fn: () => 1,
    })),
    byKey: { '10': 'ten', '2': 'two', b: [3, { y: 1, x: [2] }], a: 1 },
    nested: [[[1, 2], []], {}, [], [{ arr: [{ k: 'v' }] }]],
  });
  const values: [string, unknown][] = [
    ['a small object (indented)', big(3)],
    ['a large object (compact)', big(4000)],
    ['an array at the top', big(2000).metrics],
    ['a primitive', 'text'],
    ['null', null],
    ['undefined', undefined],
    [
      'toJSON giving undefined, in an object and in an array',
      { a: { toJSON: () => undefined }, b: [{ toJSON: () => undefined }] },
    ],
    ['a __proto__ key read from JSON', JSON.parse('{"__proto__": {"x": 1}, "a": [1]}')],
    ['a sparse array', [1, , 3]], // eslint-disable-line no-sparse-arrays
  ];
  it.each(values)('%s: the same text, and the same UTF-8 bytes', (_name, value) => {
    for (const size of [1, 100, 64 * 1024]) {
      const pieces = [...canonicalJsonPieces(value, size)];
      expect(pieces.join('')).toBe(canonicalJson(value));
      const bytes = Buffer.concat(pieces.map((p) => Buffer.from(p, 'utf8')));
      expect(bytes.equals(Buffer.from(canonicalJson(value), 'utf8'))).toBe(true);
    }
  });

  it('a large value comes in pieces of about the size asked, none of the whole text', () => {
    const value = big(20_000);
    const pieces = [...canonicalJsonPieces(value, 64 * 1024)];
    const total = canonicalJson(value).length;
    expect(total).toBeGreaterThan(2_000_000);
    expect(pieces.length).toBeGreaterThan(total / (128 * 1024));
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(COMPACT_JSON_FROM + 1024);
  });

  it('refuses a non-finite number, as canonicalJson does', () => {
    const value = { metrics: Array.from({ length: 10_000 }, (_, i) => ({ v: i === 9_999 ? NaN : i })) };
    expect(() => [...canonicalJsonPieces(value)]).toThrow(/non-finite number NaN/);
  });
});
