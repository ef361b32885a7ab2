import { describe, expect, it } from 'vitest';
import { UsageError } from './days.ts';
import { withUnitSelection } from './plan-selection.ts';
import { parseUnit } from './unit-arg.ts';

describe('a unit as runs print it (asset[partition])', () => {
  it('is parsed into its asset and partition; anything else is not a unit', () => {
    expect(parseUnit('bikes_metrics[2025-10-28]')).toEqual({
      asset: 'bikes_metrics',
      partition: '2025-10-28',
    });
    expect(parseUnit('raw[2025-10-28T14]')).toEqual({ asset: 'raw', partition: '2025-10-28T14' });
    for (const text of ['bikes_metrics', 'a[1]]', 'a[]', '[1]', 'a[1] b', 'a[1],b', 'a[b[1]]'])
      expect(parseUnit(text), text).toBeNull();
  });

  it('as --select, it selects its asset and its partition', () => {
    expect(withUnitSelection({ select: 'a[2025-10-28]', force: true })).toEqual({
      select: 'a',
      partition: '2025-10-28',
      force: true,
    });
    expect(withUnitSelection({ select: ['a[2025-10-28]'], partition: '2025-10-28' })).toMatchObject({
      select: 'a',
      partition: '2025-10-28',
    });
    // Spaces or a stray comma around the one term (`--select "a[1] "`) change nothing.
    for (const select of ['a[1] ', ' a[1]', ',a[1]'])
      expect(withUnitSelection({ select }), select).toEqual({ select: 'a', partition: '1' });
    const plain = { select: ['a', '+b'], partition: '2025-10-28' };
    expect(withUnitSelection(plain)).toBe(plain);
    expect(withUnitSelection({ all: true })).toEqual({ all: true });
  });

  it('with another partition, a range or other terms, it is a usage error saying what to do', () => {
    const cases: [object, RegExp][] = [
      [{ select: 'a[1]', partition: '2' }, /names partition 1, --partition says 2: give the partition once/],
      [{ select: 'a[1]', from: '1' }, /names one partition: no --from\/--to with it/],
      [
        { select: ['a[1]', 'b'] },
        /a\[1\] is one unit; select it alone, or select assets and give --partition/,
      ],
      [{ select: 'b,a[1]' }, /a\[1\] is one unit/],
    ];
    for (const [o, message] of cases) {
      expect(() => withUnitSelection(o)).toThrow(UsageError);
      expect(() => withUnitSelection(o)).toThrow(message);
    }
  });
});
