/**
 * The real CLI on a project of its own (a `cityflow.config.ts` outside the repository): New York time
 * partitions with a start (hourly → daily → ISO weekly, a DST day), static partitions, and the dbt
 * selection syntax (space = union, comma = intersection, depth, --exclude).
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline } from './faults/cli-process.ts';

const CONFIG = `
import { z } from 'zod';
import { daily, defineAsset, defineSource, dep, fanIn, hourly, staticPartitions, weekly } from 'cityflow';
import { defineConfig } from 'cityflow/config';

const zone = 'America/New_York';
const rawTrips = defineSource({
  key: 'raw_trips',
  partitions: hourly({ timezone: zone, start: '2025-11-01' }),
  locate: (p) => ({ prefix: 'trips/' + p, match: /\\.txt$/ }),
});
const tripsDaily = defineAsset({
  key: 'trips_daily',
  group: 'trips',
  partitions: daily({ timezone: zone, start: '2025-11-01' }),
  schema: z.object({ hours: z.array(z.string()) }),
  deps: { raw: dep(rawTrips, fanIn()) },
  compute: ({ raw }) => ({ hours: raw.map((r) => r.partitionKey) }),
});
const tripsWeekly = defineAsset({
  key: 'trips_weekly',
  group: 'trips',
  tags: ['weekly'],
  partitions: weekly({ timezone: zone, start: '2025-11-01' }),
  schema: z.number(),
  deps: { days: dep(tripsDaily, fanIn()) },
  compute: ({ days }) => days.reduce((n, d) => n + d.value.hours.length, 0),
});
const cityInfo = defineAsset({
  key: 'city_info',
  group: 'cities',
  partitions: staticPartitions(['nyc', 'boston']),
  schema: z.string(),
  compute: (_, ctx) => ctx.partitionKey.toUpperCase(),
});
export default defineConfig({ assets: [rawTrips, tripsDaily, tripsWeekly, cityInfo] });
`;

let root: string;
let env: NodeJS.ProcessEnv;
const pipeline = (...args: string[]) =>
  startPipeline(env, ['--config', join(root, 'cityflow.config.ts'), ...args]).done;
const planned = async (...args: string[]) => {
  const r = await pipeline('plan', '--json', ...args);
  expect(r.stderr).toBe('');
  const { units } = JSON.parse(r.stdout) as { units: { asset: string; partition: string }[] };
  return units.map((u) => `${u.asset}[${u.partition}]`);
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cityflow-cli-partitions-'));
  await writeFile(join(root, 'cityflow.config.ts'), CONFIG);
  await writeFile(join(root, 'package.json'), '{ "type": "module" }\n');
  await mkdir(join(root, 'node_modules'));
  await symlink(join(import.meta.dirname, '..', 'node_modules', 'zod'), join(root, 'node_modules', 'zod'));
  // One file in every hour of 2025-11-02, the day New York clocks go back (25 hours).
  const hours = [...Array(24).keys()].map((h) => `2025-11-02T${String(h).padStart(2, '0')}`);
  for (const key of [...hours, '2025-11-02T01-05']) {
    await mkdir(join(root, 'data', 'trips', key), { recursive: true });
    await writeFile(join(root, 'data', 'trips', key, 'trips.txt'), '1\n');
  }
  env = {
    PATH: process.env.PATH,
    HOME: root,
    CI: 'true',
    DATA_DIR: join(root, 'data'),
    OUTPUT_DIR: join(root, 'output'),
    STATE_DIR: join(root, 'state'),
  };
}, 60_000);
afterAll(() => rm(root, { recursive: true, force: true }));

describe('time partitions through the CLI', () => {
  it('a DST day in New York: the daily partition reads its 25 hourly partitions', async () => {
    const r = await pipeline(
      'materialize',
      '--select',
      '+trips_daily',
      '--partition',
      '2025-11-02',
      '--json',
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toMatchObject({
      status: 'success',
      materialized: 1,
    });
    const value = JSON.parse(
      await readFile(join(root, 'output', 'trips_daily', '2025-11-02.json'), 'utf8'),
    ) as {
      hours: string[];
    };
    expect(value.hours).toHaveLength(25);
    expect(value.hours.slice(1, 3)).toEqual(['2025-11-02T01', '2025-11-02T01-05']);
  });

  it('a range before the start is an error naming the start (exit 2), not empty work', async () => {
    const r = await pipeline(
      'materialize',
      '--select',
      'trips_daily',
      '--from',
      '2025-10-30',
      '--to',
      '2025-11-02',
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      '--from 2025-10-30 is before the start of trips_daily (daily partitions begin at 2025-11-01)',
    );
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const week = await pipeline('plan', '--select', 'trips_weekly', '--partition', '2025-W44');
    expect([week.code, week.stderr]).toEqual([2, expect.stringContaining('partitions begin at 2025-W45')]);
  });

  it('a week range gives each asset its windows inside it; static keys by name', async () => {
    expect(await planned('--select', '1+trips_weekly', '--partition', '2025-W45')).toEqual([
      ...['03', '04', '05', '06', '07', '08', '09'].map((d) => `trips_daily[2025-11-${d}]`),
      'trips_weekly[2025-W45]',
    ]);
    expect(await planned('--select', 'city_info', '--partition', 'boston')).toEqual(['city_info[boston]']);
  });
});

describe('dbt selection through the CLI', () => {
  it('space = union, comma = intersection, depth and --exclude', async () => {
    const day = ['--partition', '2025-11-03'];
    expect((await planned('--select', 'trips_daily', 'city_info', ...day)).sort()).toEqual([
      'city_info[boston]',
      'city_info[nyc]',
      'trips_daily[2025-11-03]',
    ]);
    expect(await planned('--select', '+trips_weekly,group:trips', '--exclude', 'tag:weekly', ...day)).toEqual(
      ['trips_daily[2025-11-03]'],
    );
    expect(
      await planned('--all', '--exclude', 'raw_trips+1', 'city_info', '--partition', '2025-W45'),
    ).toEqual(['trips_weekly[2025-W45]']);
    // A day holds no whole week: nothing to do is said, not done silently.
    const none = await pipeline('plan', '--select', 'trips_weekly', ...day);
    expect([none.code, none.stderr]).toEqual([2, expect.stringContaining('holds no whole partition')]);
  });

  it('the old comma union gets a clear error with the space form (exit 2)', async () => {
    const r = await pipeline('plan', '--select', 'trips_daily,city_info');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('a comma means intersection');
    expect(r.stderr).toContain('separate them with spaces: "trips_daily city_info"');
  });
});
