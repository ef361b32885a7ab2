/**
 * Interner: ids and values get stable 0-based (arcs) / 1-based (values) indices; an interner adopting
 * another's tables (`of`) keeps their indices and interns new values after them; `mapFrom` maps another
 * interner's indices onto this one's.
 */
import { describe, expect, it } from 'vitest';
import { Interner, identityMaps } from './intern.ts';

function sample(): Interner {
  const i = new Interner();
  i.arcOfNumber(4264);
  i.arcOfString('X-12');
  i.arcOfString('007'); // not canonical: kept as a string id
  i.internLib('Av_Champs_Elysees');
  i.internGeo(48.87, 2.3);
  i.internGeo(-0, 0);
  i.internGeo(0, 0); // 0 and -0 are different values: two entries
  i.internLen(123.5);
  return i;
}

describe('Interner', () => {
  it('interns each id and value once, telling -0 from 0', () => {
    const i = sample();
    expect(i.arcIds).toEqual(['4264', 'X-12', '007']);
    expect([i.arcOfString('4264'), i.arcOfNumber(4264), i.arcOfString('007')]).toEqual([0, 0, 2]);
    expect([i.internLib('Av_Champs_Elysees'), i.internGeo(48.87, 2.3), i.internLen(123.5)]).toEqual([
      1, 1, 1,
    ]);
    expect([i.internGeo(-0, 0), i.internGeo(0, 0)]).toEqual([2, 3]);
  });

  it('of: same indices for the adopted tables, new values after them', () => {
    const a = sample();
    const b = Interner.of(a.tables());
    expect(b.tables()).toEqual(a.tables());
    expect([b.arcOfString('X-12'), b.arcOfNumber(9), b.internGeo(0, 0), b.internLen(1)]).toEqual([
      1, 3, 3, 2,
    ]);
    expect(b.arcIds).toEqual(['4264', 'X-12', '007', '9']);
    // The adopted tables are copied: the original is untouched.
    expect(a.arcIds).toHaveLength(3);
  });

  it('of: tables with a repeated entry are refused when first looked up', () => {
    const bad = Interner.of({ arcIds: ['1', '1'], libs: [], geos: [], lens: [] });
    expect(() => bad.arcOfNumber(1)).toThrow(/not distinct/);
  });

  it('mapFrom maps another interner’s indices; identityMaps maps a table onto itself', () => {
    const a = sample();
    const other = new Interner();
    other.arcOfString('X-12');
    other.arcOfNumber(55);
    other.internLib('Av_Champs_Elysees');
    other.internGeo(0, 0);
    const m = a.mapFrom(other.tables());
    expect([...m.arc]).toEqual([1, 3]);
    expect([...m.lib]).toEqual([0, 1]);
    expect([...m.geo]).toEqual([0, 3]);
    expect([...identityMaps(a.tables()).geo]).toEqual([0, 1, 2, 3]);
  });
});
