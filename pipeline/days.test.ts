import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  AssetGraph,
  daily,
  defineAsset,
  defineSource,
  dep,
  fanIn,
  hourly,
  staticPartitions,
  weekly,
  type SourceIO,
} from '../engine/index.ts';
import { checkRange, dayBounds, resolveDays, UsageError } from './days.ts';

/** Raw folders `api/<source>/dt=…` for the default range. */
const sources = (days: string[]) =>
  ({
    listFolders: async (prefix: string) => (prefix === 'api' ? ['bikes'] : days.map((d) => `dt=${d}`)),
  }) as unknown as SourceIO;

const zone = 'Asia/Tokyo';
const raw = defineSource({
  key: 'raw',
  partitions: hourly({ timezone: zone, start: '2025-06-01' }),
  locate: (p) => ({ prefix: p }),
});
const day = defineAsset({
  key: 'day',
  partitions: daily({ timezone: zone, start: '2025-06-01', endOffset: 0 }),
  schema: z.number(),
  deps: { raw: dep(raw, fanIn()) },
  compute: (i) => i.raw.length,
});
const week = defineAsset({
  key: 'week',
  partitions: weekly({ timezone: zone, start: '2025-06-01' }),
  schema: z.number(),
  deps: { days: dep(day, fanIn()) },
  compute: (i) => i.days.length,
});
const city = defineAsset({
  key: 'city',
  partitions: staticPartitions(['tokyo', 'osaka']),
  schema: z.string(),
  compute: () => '',
});
const graph = new AssetGraph([raw, day, week, city]);
const explicit = async (o: { partition?: string; from?: string; to?: string }) => resolveDays(o, sources([]));

describe('resolveDays', () => {
  it('takes a window of any cadence, a static key, or the days of the raw data', async () => {
    expect(await explicit({ partition: '2025-W45' })).toMatchObject({
      from: '2025-W45',
      to: '2025-W45',
      explicit: true,
    });
    expect(await explicit({ from: '2025-06', to: '2025-07-03' })).toMatchObject({
      from: '2025-06',
      to: '2025-07-03',
    });
    expect(await explicit({ partition: 'tokyo' })).toMatchObject({ from: 'tokyo' });
    expect(await resolveDays({}, sources(['2025-06-03', '2025-06-01']))).toMatchObject({
      from: '2025-06-01',
      to: '2025-06-03',
      origin: 'days present in the raw data',
    });
  });

  it.each([
    [{ partition: '2021-13-01' }, /--partition 2021-13-01: use a day YYYY-MM-DD/],
    [{ partition: '2021/09/01' }, /--partition 2021\/09\/01: use a day/],
    [{ from: '2025-07', to: '2025-06-30' }, /--from 2025-07 is after --to 2025-06-30/],
  ])('refuses %j with a usage error', async (o, msg) => {
    await expect(explicit(o)).rejects.toThrow(UsageError);
    await expect(explicit(o)).rejects.toThrow(msg);
  });

  it('dayBounds: the calendar days a range covers (for filters by day)', async () => {
    expect(dayBounds(await explicit({ partition: '2025-W01' }))).toMatchObject({
      from: '2024-12-30',
      to: '2025-01-05',
    });
    expect(dayBounds(await explicit({ from: '2025-02', to: '2025-02' }))).toMatchObject({
      from: '2025-02-01',
      to: '2025-02-28',
    });
    expect(dayBounds(await explicit({ partition: '2025-02-03T05' }))).toMatchObject({
      from: '2025-02-03',
      to: '2025-02-03',
    });
  });
});

describe('checkRange', () => {
  const now = new Date();
  const lastWeek = new Date(now.getTime() - 8 * 86_400_000).toISOString().slice(0, 10);

  it('an explicit range before a selected asset’s start names the asset and the start', async () => {
    const r = await explicit({ from: '2025-05-30', to: '2025-06-03' });
    expect(() => checkRange(graph, ['day'], r)).toThrow(
      '--from 2025-05-30 is before the start of day (daily partitions begin at 2025-06-01): nothing to backfill before it; use --from 2025-06-01 or later',
    );
    const w = await explicit({ partition: '2025-W22' }); // 2025-05-26..06-01: begins before the start
    expect(() => checkRange(graph, ['week'], w)).toThrow(
      /--partition 2025-W22 is before the start of week \(weekly partitions begin at 2025-W23\)/,
    );
    // The default range (from the data) is clipped instead.
    const found = await resolveDays({}, sources(['2025-05-30', '2025-06-03']));
    expect(() => checkRange(graph, ['day'], found)).not.toThrow();
  });

  it('after the end offset, no whole partition, an unknown static key: errors', async () => {
    expect(() =>
      checkRange(graph, ['day'], { from: lastWeek, to: '2999-01-01', origin: '--from/--to', explicit: true }),
    ).toThrow(/--to 2999-01-01 is after the last partition of day \(.*, end offset 0\)/);
    const hour = await explicit({ partition: '2025-06-03T05' });
    expect(() => checkRange(graph, ['day', 'week'], hour)).toThrow(
      /holds no whole partition of the selected assets \(day: daily, week: weekly\)/,
    );
    // An hour of the source alone builds nothing: the same error, naming what would be built.
    expect(() => checkRange(graph, ['raw', 'day'], hour)).toThrow(/selected assets \(day: daily\)/);
    expect(() => checkRange(graph, ['raw'], hour)).not.toThrow(); // only sources: observed
    expect(() =>
      checkRange(graph, ['city'], { from: 'kyoto', to: 'kyoto', origin: '--partition', explicit: true }),
    ).toThrow(/--partition kyoto: not a time key .* nor a key of a selected static asset/);
    expect(() =>
      checkRange(graph, ['city'], { from: 'osaka', to: 'osaka', origin: '--partition', explicit: true }),
    ).not.toThrow();
  });
});
