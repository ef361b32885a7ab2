/**
 * BytesMemo: per-key memo of a field's bytes and the value decoded from them. The
 * scanner relies on it returning a value only for byte-identical fields with the same quoting.
 */
import { describe, expect, it } from 'vitest';
import { BytesMemo } from './bytes-memo.ts';

describe('BytesMemo', () => {
  it('returns the value only for the same bytes and quoting, and the latest value after a change', () => {
    const m = new BytesMemo();
    const b = Buffer.from('xxAv_Foo;Av_Bar;');
    expect(m.get(3, b, 2, 8, 0)).toBe(-1); // nothing memoised for arc 3
    m.set(3, b, 2, 8, 0, 7); // 'Av_Foo' → 7
    expect(m.get(3, b, 2, 8, 0)).toBe(7);
    expect(m.get(3, b, 2, 8, 1)).toBe(-1); // same bytes, but quoted
    expect(m.get(3, b, 9, 15, 0)).toBe(-1); // 'Av_Bar': same length, other bytes
    expect(m.get(4, b, 2, 8, 0)).toBe(-1); // another arc
    m.set(3, b, 9, 15, 0, 8);
    expect([m.get(3, b, 9, 15, 0), m.get(3, b, 2, 8, 0)]).toEqual([8, -1]);
    m.set(5, b, 8, 8, 0, 0); // empty field → 0 (none) is a value too
    expect(m.get(5, b, 8, 8, 0)).toBe(0);
  });

  it('long fields (native compare) and arena growth keep every live entry', () => {
    const m = new BytesMemo();
    const field = (a: number, n: number): Buffer =>
      Buffer.from(`${a}:`.padEnd(n, String.fromCharCode(97 + (a % 26))));
    // 3,000 arcs × 100-300 bytes ≈ 600 kB: the 64 kB arena grows (and compacts) several times, and
    // arcs 0-99 are rewritten with other bytes along the way (dead copies dropped on growth).
    for (let a = 0; a < 3000; a++) {
      const f = field(a, 100 + (a % 200));
      m.set(a, f, 0, f.length, 1, a + 1);
      if (a === 1500) for (let r = 0; r < 100; r++) m.set(r, field(r + 7, 90), 0, 90, 1, 10_000 + r);
    }
    for (let a = 100; a < 3000; a++) {
      const f = field(a, 100 + (a % 200));
      expect(m.get(a, f, 0, f.length, 1)).toBe(a + 1);
    }
    for (let r = 0; r < 100; r++) {
      expect(m.get(r, field(r + 7, 90), 0, 90, 1)).toBe(10_000 + r);
      const old = field(r, 100 + (r % 200));
      expect(m.get(r, old, 0, old.length, 1)).toBe(-1);
    }
  });
});
