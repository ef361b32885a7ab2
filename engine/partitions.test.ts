import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAsset, defineSource, dep, self } from './asset.ts';
import { AssetGraph, DefinitionError } from './graph.ts';
import { combineVersions } from './hash.ts';
import {
  addDays,
  daily,
  dayInZone,
  dayOffset,
  daysBetween,
  fanIn,
  fromUnpartitioned,
  hourly,
  hourlyToDaily,
  identity,
  isDayKey,
  lastKey,
  monthly,
  offset,
  partitionKeys,
  staticPartitions,
  validatePartitionKey,
  weekly,
  type PartitionMapping,
  type PartitionsDef,
} from './partitions.ts';

/** A mapping as the graph binds it (throws its reason when it does not fit). */
function bound(m: PartitionMapping, up: PartitionsDef | undefined, down: PartitionsDef | undefined) {
  const b = m.bind ? m.bind(up, down, false) : m;
  if (typeof b === 'string') throw new Error(b);
  return b;
}

describe('time partitions: presets', () => {
  it('hourly: 24 local hours a day, keys YYYY-MM-DDTHH', () => {
    const keys = partitionKeys(hourly(), '2025-11-03', '2025-11-04');
    expect(keys).toHaveLength(48);
    expect(keys[0]).toBe('2025-11-03T00');
    expect(keys.at(-1)).toBe('2025-11-04T23');
  });

  it('daily: calendar days, across months and years', () => {
    expect(partitionKeys(daily(), '2024-12-30', '2025-01-02')).toEqual([
      '2024-12-30',
      '2024-12-31',
      '2025-01-01',
      '2025-01-02',
    ]);
  });

  it('weekly: ISO weeks (Monday–Sunday) wholly inside the range, YYYY-Www with the ISO week-year', () => {
    // 2024-12-30 is the Monday of 2025-W01; 2026-12-28 the Monday of 2026-W53.
    expect(partitionKeys(weekly(), '2024-12-30', '2025-01-12')).toEqual(['2025-W01', '2025-W02']);
    expect(partitionKeys(weekly(), '2024-12-31', '2025-01-12')).toEqual(['2025-W02']); // W01 not whole
    expect(partitionKeys(weekly(), '2026-12-28', '2027-01-03')).toEqual(['2026-W53']);
    expect(validatePartitionKey(weekly(), '2025-W53')).toMatch(/not an ISO week key/);
  });

  it('monthly: calendar months wholly inside the range, YYYY-MM', () => {
    expect(partitionKeys(monthly(), '2025-01-15', '2025-04-30')).toEqual(['2025-02', '2025-03', '2025-04']);
    expect(partitionKeys(monthly(), '2025-02', '2025-02')).toEqual(['2025-02']);
    expect(validatePartitionKey(monthly(), '2025-13')).toMatch(/not a month key/);
  });

  it('a range in any cadence selects the windows inside it', () => {
    expect(partitionKeys(daily(), '2025-W45', '2025-W45')).toHaveLength(7);
    expect(partitionKeys(daily(), '2025-02', '2025-02')).toHaveLength(28);
    expect(partitionKeys(hourly(), '2025-11-04T05', '2025-11-04T07')).toEqual([
      '2025-11-04T05',
      '2025-11-04T06',
      '2025-11-04T07',
    ]);
    expect(partitionKeys(daily(), '2025-11-04T05', '2025-11-04T07')).toEqual([]); // no whole day in it
    expect(partitionKeys(undefined, '2025-11-03', '2025-11-04')).toEqual(['all']);
  });

  it('validates keys and time zones', () => {
    expect(isDayKey('2025-02-30')).toBe(false);
    expect(validatePartitionKey(daily(), '2025-11-04')).toBeNull();
    expect(validatePartitionKey(daily(), '2025-11-4')).toMatch(/not a day key/);
    expect(validatePartitionKey(hourly(), '2025-11-04T24')).toMatch(/not an hour key/);
    expect(validatePartitionKey(undefined, 'all')).toBeNull();
    expect(() => daily({ timezone: 'Mars/Olympus' })).toThrow(/unknown time zone "Mars\/Olympus"/);
    expect(() => daily({ timezone: 'Mars/Olympus' })).toThrow(DefinitionError);
  });
});

describe('time partitions: zones and DST', () => {
  it('a non-Paris zone: America/New_York days are New York days (instants map to them)', () => {
    expect(dayInZone(new Date('2025-11-04T03:30:00Z'), 'America/New_York')).toBe('2025-11-03');
    expect(dayInZone(new Date('2025-11-03T23:30:00Z'))).toBe('2025-11-04'); // Paris
    expect(dayInZone(new Date('2025-07-01T21:59:00Z'))).toBe('2025-07-01'); // 23:59 in Paris (UTC+2)
    expect(dayInZone(new Date('2025-11-03T15:30:00Z'), 'Asia/Tokyo')).toBe('2025-11-04');
  });

  it('New York spring-forward day has 23 hours (no 02), fall-back day 25 (the second 01 is T01-05)', () => {
    const ny = hourly('America/New_York');
    const spring = partitionKeys(ny, '2025-03-09', '2025-03-09');
    expect(spring).toHaveLength(23);
    expect(spring.slice(0, 3)).toEqual(['2025-03-09T00', '2025-03-09T01', '2025-03-09T03']);
    expect(validatePartitionKey(ny, '2025-03-09T02')).toMatch(/does not exist in America\/New_York/);
    const fall = partitionKeys(ny, '2025-11-02', '2025-11-02');
    expect(fall).toHaveLength(25);
    expect(fall.slice(0, 4)).toEqual(['2025-11-02T00', '2025-11-02T01', '2025-11-02T01-05', '2025-11-02T02']);
    expect([...fall].sort()).toEqual(fall); // keys sort in time order
    expect(validatePartitionKey(ny, '2025-11-02T01-05')).toBeNull();
    expect(validatePartitionKey(hourly(), '2025-11-02T01-05')).toMatch(/does not exist in Europe\/Paris/);
  });

  it('Paris DST days: 23 and 25 hours; Tokyo (no DST) always 24', () => {
    expect(partitionKeys(hourly(), '2025-03-30', '2025-03-30')).toHaveLength(23);
    const fall = partitionKeys(hourly(), '2025-10-26', '2025-10-26');
    expect(fall).toHaveLength(25);
    expect(fall.slice(2, 5)).toEqual(['2025-10-26T02', '2025-10-26T02+01', '2025-10-26T03']);
    expect(partitionKeys(hourly('Asia/Tokyo'), '2025-03-30', '2025-03-30')).toHaveLength(24);
  });

  it('fan-in follows the zone: a DST day reads its 23 or 25 hours', () => {
    const m = bound(fanIn(), hourly('America/New_York'), daily('America/New_York'));
    expect(m.upstream('2025-03-09')).toHaveLength(23);
    expect(m.upstream('2025-11-02')).toHaveLength(25);
    expect(m.upstream('2025-11-03')).toHaveLength(24);
  });
});

describe('time partitions: start and end', () => {
  it('no partition before the start; the start is the first window beginning at or after it', () => {
    const d = daily({ start: '2025-01-01' });
    expect(partitionKeys(d, '2024-12-30', '2025-01-02')).toEqual(['2025-01-01', '2025-01-02']);
    expect(validatePartitionKey(d, '2024-12-31')).toMatch(/before the first partition 2025-01-01/);
    expect(weekly({ start: '2025-01-01' }).start).toBe('2025-W02'); // 2025-01-01 is a Wednesday
    expect(monthly({ start: '2025-01-15' }).start).toBe('2025-02');
    expect(() => daily({ start: 'yesterday' })).toThrow(/start "yesterday" is not a time key/);
  });

  it('an end offset bounds partitions relative to now (0: the last complete window)', () => {
    const now = Date.parse('2025-11-04T10:00:00Z');
    expect(lastKey(daily({ endOffset: 0 }), now)).toBe('2025-11-03');
    expect(lastKey(daily({ endOffset: 1 }), now)).toBe('2025-11-04');
    expect(lastKey(hourly({ endOffset: 0, timezone: 'Asia/Tokyo' }), now)).toBe('2025-11-04T18');
    expect(partitionKeys(daily({ endOffset: 0 }), '2025-11-01', '2025-11-30', now)).toEqual([
      '2025-11-01',
      '2025-11-02',
      '2025-11-03',
    ]);
    expect(validatePartitionKey(daily({ endOffset: 0 }), '2025-11-04', now)).toMatch(
      /after the last partition/,
    );
  });
});

describe('static partitions', () => {
  const cities = staticPartitions(['paris', 'lyon', 'lille']);
  it('lists its keys; a range of its keys selects them in declared order; a time range every key', () => {
    expect(partitionKeys(cities, 'paris', 'lyon')).toEqual(['paris', 'lyon']);
    expect(partitionKeys(cities, '2025-11-01', '2025-11-02')).toEqual(['paris', 'lyon', 'lille']);
    expect(validatePartitionKey(cities, 'nice')).toMatch(/not one of the keys paris, lyon, lille/);
    expect(() => staticPartitions(['a', 'a'])).toThrow(/listed twice/);
    expect(() => staticPartitions(['a/b'])).toThrow(/static partition key "a\/b"/);
  });
  it('identity between the same static partitions; fan-in of every key into an unpartitioned asset', () => {
    expect(bound(identity(), cities, staticPartitions(['paris', 'lyon', 'lille'])).upstream('lyon')).toEqual([
      'lyon',
    ]);
    expect(bound(fanIn(), cities, undefined).upstream('all')).toEqual(['paris', 'lyon', 'lille']);
    expect(() => bound(identity(), cities, staticPartitions(['paris']))).toThrow(/same partitions/);
  });
});

describe('partition mappings', () => {
  it('fan-in: a day its hours, a week its days, a month its days or hours', () => {
    expect(bound(hourlyToDaily(), hourly(), daily()).upstream('2025-11-04')).toHaveLength(24);
    expect(bound(fanIn(), daily(), weekly()).upstream('2025-W45')).toEqual(
      daysBetween('2025-11-03', '2025-11-09'),
    );
    expect(bound(fanIn(), daily(), monthly()).upstream('2025-02')).toHaveLength(28);
    expect(bound(fanIn(), hourly(), monthly()).upstream('2025-10')).toHaveLength(31 * 24 + 1);
    // A month that begins before the upstream's start reads its days from the start on.
    expect(bound(fanIn(), daily({ start: '2025-02-10' }), monthly()).upstream('2025-02')).toHaveLength(19);
  });

  it('offset: the same window N periods away, per cadence; identity; unpartitioned', () => {
    expect(bound(dayOffset(-7), daily(), daily()).upstream('2025-11-04')).toEqual(['2025-10-28']);
    expect(bound(offset(-1), weekly(), weekly()).upstream('2025-W01')).toEqual(['2024-W52']);
    expect(bound(offset(1), monthly(), monthly()).upstream('2025-12')).toEqual(['2026-01']);
    // Hours are windows: one hour before 03:00 on the Paris spring-forward day is 01:00.
    expect(bound(offset(-1), hourly(), hourly()).upstream('2025-03-30T03')).toEqual(['2025-03-30T01']);
    expect(bound(offset(1), hourly(), hourly()).upstream('2025-10-26T02')).toEqual(['2025-10-26T02+01']);
    expect(bound(identity(), daily(), daily()).upstream('2025-11-04')).toEqual(['2025-11-04']);
    expect(bound(fromUnpartitioned(), undefined, daily()).upstream('2025-11-04')).toEqual(['all']);
    expect(addDays('2025-03-01', -1)).toBe('2025-02-28');
  });

  it.each([
    [fanIn(), daily(), hourly(), /daily windows do not nest in hourly windows/],
    [fanIn(), weekly(), monthly(), /weekly windows do not nest in monthly/],
    [fanIn(), hourly('UTC'), daily(), /upstream is in UTC but downstream in Europe\/Paris/],
    [hourlyToDaily(), daily(), weekly(), /hourlyToDaily\(\) needs hourly upstream and daily downstream/],
    [dayOffset(-7), hourly(), hourly(), /day offset -7 needs daily partitions/],
    [offset(-1), daily(), weekly(), /same cadence/],
    [identity(), daily(), weekly(), /needs the same partitions/],
    [fromUnpartitioned(), daily(), daily(), /needs an unpartitioned upstream/],
    [
      identity(),
      daily({ start: '2025-02-01' }),
      daily({ start: '2025-01-01' }),
      /before the upstream's start 2025-02-01/,
    ],
    [offset(-7), daily({ start: '2025-01-01' }), daily({ start: '2025-01-01' }), /would read 2024-12-25/],
  ] as const)('refuses %o when it does not fit the two definitions', (m, up, down, msg) => {
    expect(() => bound(m, up, down)).toThrow(msg);
  });

  it('is checked when the definitions load, naming both assets and the input', () => {
    const num = z.number();
    const raw = defineSource({ key: 'raw', partitions: daily(), locate: (p) => ({ prefix: p }) });
    const rollup = defineAsset({
      key: 'rollup',
      partitions: weekly('Asia/Tokyo'),
      schema: num,
      deps: { days: dep(raw, fanIn()) },
      compute: (i) => i.days.length,
    });
    expect(() => new AssetGraph([raw, rollup])).toThrow(DefinitionError);
    expect(() => new AssetGraph([raw, rollup])).toThrow(
      /Asset "rollup" input "days" \(raw → rollup, mapping fan-in\): upstream is in Europe\/Paris but downstream in Asia\/Tokyo/,
    );
    // A self offset may read before the start (absent: undefined); the graph accepts it.
    const wow = defineAsset({
      key: 'wow',
      partitions: weekly({ start: '2025-W01' }),
      schema: num,
      deps: { previous: self(offset(-1)) },
      compute: () => 1,
    });
    expect(new AssetGraph([wow]).depsOf('wow')[0]!.mapping.upstream('2025-W01')).toEqual(['2024-W52']);
    // No mapping between different definitions: a clear error asking for one.
    const hourlyDown = defineAsset({
      key: 'h',
      partitions: hourly(),
      schema: num,
      deps: { raw },
      compute: () => 1,
    });
    expect(() => new AssetGraph([raw, hourlyDown])).toThrow(/declare a mapping/);
  });

  it('encodes version parts injectively', () => {
    expect(combineVersions(['a', 'bc'])).not.toBe(combineVersions(['ab', 'c']));
    expect(combineVersions(['a', null])).not.toBe(combineVersions(['a', 'null']));
  });
});
