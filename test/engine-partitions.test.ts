/**
 * The planner and the executor on time partitions other than Paris days: Asia/Tokyo days read into ISO
 * weeks (fan-in), a week-over-week self offset that reads nothing before the start, a month range.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  daily,
  daysBetween,
  defineAsset,
  defineDefinitions,
  defineSource,
  dep,
  execute,
  fanIn,
  identity,
  offset,
  plan,
  self,
  StateStore,
  weekly,
} from '../engine/index.ts';
import { LocalFsIOManager } from '../io-managers/local-fs.ts';
import { LocalSourceIO } from '../io-managers/local-source.ts';

const zone = 'Asia/Tokyo';
const raw = defineSource({
  key: 'raw',
  partitions: daily({ timezone: zone, start: '2025-06-01' }),
  locate: (p) => ({ prefix: `d/${p}`, match: /\.json$/ }),
});
const weekTotal = defineAsset({
  key: 'week_total',
  partitions: weekly({ timezone: zone, start: '2025-06-01' }),
  schema: z.object({ days: z.number(), total: z.number() }),
  deps: { days: dep(raw, fanIn()) },
  compute: async ({ days }) => {
    let total = 0;
    for (const d of days)
      for (const f of d.value.files) total += (JSON.parse(await readFile(f.path, 'utf8')) as { n: number }).n;
    return { days: days.length, total };
  },
});
const weekOverWeek = defineAsset({
  key: 'week_over_week',
  partitions: weekly({ timezone: zone, start: '2025-06-01' }),
  schema: z.number().nullable(),
  deps: { now: dep(weekTotal, identity()), previous: self(offset(-1)) },
  compute: ({ now, previous }) => (previous === undefined ? null : now.total),
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityflow-partitions-'));
  // n = day of month, every day of May and June 2025 (May is before the start: never read).
  for (const day of daysBetween('2025-05-01', '2025-06-30')) {
    await mkdir(join(dir, 'data/d', day), { recursive: true });
    await writeFile(join(dir, 'data/d', day, 'n.json'), JSON.stringify({ n: Number(day.slice(8)) }));
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('weekly partitions in Asia/Tokyo from daily ones', () => {
  const defs = () =>
    defineDefinitions({
      assets: [raw, weekTotal, weekOverWeek],
      io: { default: new LocalFsIOManager({ rootDir: join(dir, 'out') }) },
      sources: new LocalSourceIO({ dataDir: join(dir, 'data') }),
    });

  it('a month range plans the weeks wholly inside it; each reads its 7 days; nothing before the start', async () => {
    const d = defs();
    const state = new StateStore(join(dir, 'state'));
    const selected = new Set(['week_total', 'week_over_week']);
    const p = await plan(d, state, { selected, days: { from: '2025-06', to: '2025-06' } });
    const weeks = ['2025-W23', '2025-W24', '2025-W25', '2025-W26']; // Jun 2–8 … Jun 23–29
    expect(p.units.filter((u) => u.asset === 'week_total').map((u) => u.partition)).toEqual(weeks);
    // Only June days are observed (W22 would read May 26 – Jun 1, before the start: not a partition).
    const observed = p.units.filter((u) => u.asset === 'raw').map((u) => u.partition);
    expect(observed[0]).toBe('2025-06-02');
    expect(observed).toHaveLength(28);
    const result = await execute(d, state, p, { quarantineDir: join(dir, 'q') });
    expect(result).toMatchObject({ status: 'success', materialized: 8, failed: 0 });
    const out = async (asset: string, week: string) =>
      JSON.parse(await readFile(join(dir, 'out', asset, `${week}.json`), 'utf8')) as unknown;
    expect(await out('week_total', '2025-W23')).toEqual({ days: 7, total: 2 + 3 + 4 + 5 + 6 + 7 + 8 });
    expect(await out('week_over_week', '2025-W23')).toBeNull(); // W22 is before the start: absent
    expect(await out('week_over_week', '2025-W24')).toBe(9 + 10 + 11 + 12 + 13 + 14 + 15);

    const again = await plan(d, state, { selected, days: { from: '2025-06', to: '2025-06' } });
    expect(again.units.filter((u) => u.decision === 'run')).toEqual([]);
  });

  it('a changed day re-runs its week, and the week-over-week units from it on (self offset)', async () => {
    const d = defs();
    const state = new StateStore(join(dir, 'state'));
    await writeFile(join(dir, 'data/d/2025-06-10/n.json'), JSON.stringify({ n: 100 }));
    const p = await plan(d, state, {
      selected: new Set(['week_total', 'week_over_week']),
      days: { from: '2025-06', to: '2025-06' },
    });
    const toRun = p.units.filter((u) => u.decision === 'run').map((u) => u.id);
    // The later week-over-week units read the one before them: planned to run after it (early cutoff
    // may skip them when the value comes out the same).
    expect(toRun).toEqual([
      'week_total[2025-W24]',
      'week_over_week[2025-W24]',
      'week_over_week[2025-W25]',
      'week_over_week[2025-W26]',
    ]);
  });
});
