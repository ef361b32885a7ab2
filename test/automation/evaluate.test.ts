/**
 * The evaluator on real files (temp DATA_DIR, OUTPUT_DIR, STATE_DIR) with an injected clock: the sensor
 * sees a new hourly folder and exactly the units that read it run; an incomplete day waits; a cron tick
 * at 06:00 Paris on the day clocks go forward; a restart between ticks requests nothing twice; missed
 * ticks make one request.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  daily,
  defineAsset,
  defineDefinitions,
  defineSource,
  dep,
  eager,
  evaluateAutomation,
  execute,
  freshness,
  hourly,
  hourlyToDaily,
  onCron,
  parseSelection,
  plan,
  readCursor,
  resolveSelection,
  StateStore,
  writeCursor,
  type AutomationCursor,
  type Definitions,
  type RunRequest,
  type SourceIO,
} from '../../engine/index.ts';
import { LocalFsIOManager } from '../../io-managers/local-fs.ts';
import { LocalSourceIO } from '../../io-managers/local-source.ts';

const raw = defineSource({
  key: 'raw_counts',
  partitions: hourly(),
  locate: (p) => ({ prefix: `api/counts/dt=${p.slice(0, 10)}/hour=${p.slice(11, 13)}`, match: /\.json$/ }),
});
const dayTotal = defineAsset({
  key: 'day_total',
  partitions: daily(),
  schema: z.number(),
  deps: { hours: dep(raw, hourlyToDaily()) },
  automation: eager({ require: 'any-input' }),
  compute: ({ hours }) => hours.length,
});
const report = defineAsset({
  key: 'report',
  partitions: daily(),
  schema: z.string(),
  deps: { total: dayTotal },
  automation: [
    eager({ require: 'all-sources' }),
    onCron('0 6 * * *', { partitions: 'yesterday' }),
    freshness({ maxLag: '26h' }),
  ],
  compute: ({ total }, ctx) => `${ctx.partitionKey}: ${total}`,
});

let dir: string;
let defs: Definitions;
const stateDir = () => join(dir, 'state');

async function addHour(day: string, hour: number): Promise<void> {
  const folder = join(dir, 'data/api/counts', `dt=${day}`, `hour=${String(hour).padStart(2, '0')}`);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'x.json'), JSON.stringify({ day, hour }));
}

/** What a daemon does with a request: the selection and range, through the planner, then execute. */
async function run(req: RunRequest): Promise<string[]> {
  const state = new StateStore(stateDir());
  const selected = resolveSelection(parseSelection(req.select), defs.graph);
  const from = req.partition ?? req.from!;
  const to = req.partition ?? req.to!;
  const p = await plan(defs, state, { selected, days: { from, to } });
  const ran: string[] = [];
  await execute(defs, state, p, {
    onEvent: (e) => void (e.type === 'materialized' && ran.push(`${e.asset}[${e.partition}]`)),
  });
  return ran;
}

/** One daemon tick: evaluate at `now`, run the requests, store the cursor. */
async function tick(now: string, n: number, opts: { full?: boolean } = {}) {
  const cursor = await readCursor(stateDir());
  const ev = await evaluateAutomation({
    defs,
    state: new StateStore(stateDir()),
    cursor,
    now: Date.parse(now),
    tick: n,
    full: opts.full,
  });
  const ran: string[] = [];
  for (const r of ev.requests) ran.push(...(await run(r)));
  await writeCursor(stateDir(), ev.cursor);
  return { ev, ran };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityflow-automation-'));
  await mkdir(join(dir, 'data/api/counts'), { recursive: true });
  defs = defineDefinitions({
    assets: [raw, dayTotal, report],
    io: { default: new LocalFsIOManager({ rootDir: join(dir, 'out') }) },
    sources: new LocalSourceIO({ dataDir: join(dir, 'data') }),
  });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sensor + eager', () => {
  it('a new hourly folder runs exactly the units that read it; the report waits for the whole day', async () => {
    for (let h = 0; h < 24; h++) await addHour('2025-11-03', h);
    await addHour('2025-11-04', 0);
    const first = await tick('2025-11-04T01:30:00Z', 1, { full: true });
    // Both days' totals; the complete day's report; the 4th waits (1 of 24 hours).
    expect(first.ran.sort()).toEqual([
      'day_total[2025-11-03]',
      'day_total[2025-11-04]',
      'report[2025-11-03]',
    ]);
    const wait = first.ev.decisions.find((d) => d.asset === 'report' && d.outcome === 'wait');
    expect(wait?.reason).toMatch(
      /report\[2025-11-04\] \(1 of 24 raw partitions have data; missing raw_counts\[2025-11-04T01\]/,
    );

    // Nothing new: nothing requested, and the decision says why.
    const idle = await tick('2025-11-04T01:31:00Z', 2);
    expect(idle.ev.requests).toEqual([]);
    expect(idle.ev.decisions[0]).toMatchObject({ condition: 'sensor', outcome: 'skip' });
    expect(idle.ev.decisions[0]!.reason).toMatch(/^no new or changed raw partition \(25 with data/);

    // A new hour folder of the 4th: only that day's total runs (the 3rd is not even planned to run).
    await addHour('2025-11-04', 1);
    const next = await tick('2025-11-04T02:00:10Z', 3);
    expect(next.ev.changes).toEqual([{ source: 'raw_counts', partition: '2025-11-04T01', change: 'new' }]);
    expect(next.ev.requests.map((r) => [r.select, r.partition])).toEqual([['day_total', '2025-11-04']]);
    expect(next.ran).toEqual(['day_total[2025-11-04]']);

    // The rest of the day: the report is built with the last hour, once.
    for (let h = 2; h < 23; h++) await addHour('2025-11-04', h);
    expect((await tick('2025-11-04T23:00:00Z', 4)).ran).toEqual(['day_total[2025-11-04]']);
    await addHour('2025-11-04', 23);
    expect((await tick('2025-11-05T00:00:10Z', 5)).ran).toEqual([
      'day_total[2025-11-04]',
      'report[2025-11-04]',
    ]);

    // A late file changing an hour of the 3rd reruns that day only (its report included: it was built).
    await writeFile(join(dir, 'data/api/counts/dt=2025-11-03/hour=07/late.json'), '{}');
    const late = await tick('2025-11-05T00:10:00Z', 6);
    expect(late.ev.changes).toEqual([
      { source: 'raw_counts', partition: '2025-11-03T07', change: 'changed' },
    ]);
    expect(late.ran).toEqual(['day_total[2025-11-03]']); // same count of hours: the report is cut off early
  });

  it('a restart (a new process: full evaluation from the stored cursor) requests nothing already done', async () => {
    for (let h = 0; h < 24; h++) await addHour('2025-11-03', h);
    expect((await tick('2025-11-04T08:00:00Z', 1, { full: true })).ran).toHaveLength(2);
    const again = await tick('2025-11-04T08:00:30Z', 1, { full: true });
    expect(again.ev.requests).toEqual([]);
    expect(again.ran).toEqual([]);
    expect(again.ev.decisions.filter((d) => d.condition === 'eager').map((d) => d.reason)).toEqual([
      'nothing to do: 1 affected unit(s) up to date',
      'nothing to do: 1 affected unit(s) up to date',
    ]);
  });
});

describe('cron', () => {
  it('ticks at 06:00 Paris on the day clocks go forward (04:00Z) for yesterday, once, across a restart', async () => {
    for (let h = 0; h < 20; h++) await addHour('2025-03-29', h); // an incomplete day: eager waits
    const start = await tick('2025-03-30T03:00:00Z', 1, { full: true }); // 05:00 CEST
    expect(start.ran).toEqual(['day_total[2025-03-29]']);
    expect(start.ev.decisions.find((d) => d.condition === 'cron')?.reason).toMatch(
      /schedule '0 6 \* \* \*' \(Europe\/Paris\) starts now; next tick 2025-03-30T04:00:00.000Z/,
    );
    expect((await tick('2025-03-30T03:59:59Z', 2)).ev.requests).toEqual([]);
    const at6 = await tick('2025-03-30T04:00:05Z', 3);
    expect(at6.ev.requests).toMatchObject([
      { condition: 'cron', select: '+report', partition: '2025-03-29' },
    ]);
    expect(at6.ran).toEqual(['report[2025-03-29]']);
    // A restart a minute later: the stored cursor has the tick; nothing is requested again.
    const cursor: AutomationCursor = await readCursor(stateDir());
    expect(cursor.cron['report 0 6 * * * yesterday Europe/Paris']).toBe('2025-03-30T04:00:00.000Z');
    const restarted = await tick('2025-03-30T04:01:00Z', 1, { full: true });
    expect(restarted.ev.requests).toEqual([]);
    expect(restarted.ran).toEqual([]);
  });

  it('ticks missed while stopped make one request covering their days; up-to-date work is not requested', async () => {
    for (const day of ['2025-11-01', '2025-11-02', '2025-11-03']) await addHour(day, 5);
    await tick('2025-11-01T12:00:00Z', 1, { full: true });
    // Down from the 1st 12:00 to the 4th 09:00: three ticks (2nd, 3rd, 4th at 05:00Z) → one request.
    const back = await tick('2025-11-04T09:00:00Z', 1, { full: true });
    const cron = back.ev.requests.filter((r) => r.condition === 'cron');
    expect(cron).toMatchObject([{ select: '+report', from: '2025-11-01', to: '2025-11-03' }]);
    expect(back.ev.decisions.find((d) => d.condition === 'cron')?.reason).toMatch(
      /3 ticks since .*one request/,
    );
    expect(back.ran.filter((u) => u.startsWith('report')).sort()).toEqual([
      'report[2025-11-01]',
      'report[2025-11-02]',
      'report[2025-11-03]',
    ]);
    // The next tick: the 4th has no raw file; its units run once and are recorded as having no data.
    const next = await tick('2025-11-05T05:00:01Z', 2);
    expect(next.ev.requests).toMatchObject([
      { partition: '2025-11-04', units: ['day_total[2025-11-04]', 'report[2025-11-04]'] },
    ]);
    expect(next.ran).toEqual([]);
    // Handled again (a cursor rewound by hand): the planner finds it up to date, nothing is requested.
    const cursor = await readCursor(stateDir());
    await writeCursor(stateDir(), {
      ...cursor,
      cron: { 'report 0 6 * * * yesterday Europe/Paris': '2025-11-05T04:00:00.000Z' },
    });
    const again = await tick('2025-11-05T05:00:30Z', 3);
    expect(again.ev.requests).toEqual([]);
    expect(again.ev.decisions.find((d) => d.condition === 'cron')?.reason).toMatch(
      /for 2025-11-04: nothing to do, 2 unit\(s\) up to date/,
    );
  });
});

describe('freshness', () => {
  it('warns when the latest partition ended more than maxLag ago', async () => {
    for (let h = 0; h < 24; h++) await addHour('2025-11-03', h);
    const built = await tick('2025-11-04T08:00:00Z', 1, { full: true });
    // Evaluated before the tick's runs: not built yet.
    expect(built.ev.freshness).toMatchObject([
      { ok: false, message: 'report: never materialized (max lag 26h)' },
    ]);
    const fresh = await tick('2025-11-05T01:00:00Z', 2); // the 3rd ended 25 h ago (23:00Z on the 3rd)
    expect(fresh.ev.freshness[0]).toMatchObject({ asset: 'report', latest: '2025-11-03', ok: true });
    const stale = await tick('2025-11-05T02:00:00Z', 3);
    expect(stale.ev.freshness[0]).toMatchObject({ ok: false });
    expect(stale.ev.decisions.find((d) => d.condition === 'freshness')?.reason).toBe(
      'report: stale, latest partition 2025-11-03 is 27h00m old (max lag 26h)',
    );
  });
});

describe('sensor discovery on another layout', () => {
  it('finds the days of a Tokyo daily source laid out as d/<day> (no dt= folders), through locate', async () => {
    const tokyo = defineSource({
      key: 'tokyo_raw',
      partitions: daily('Asia/Tokyo'),
      locate: (p) => ({ prefix: `d/${p}`, match: /\.json$/ }),
    });
    const perDay = defineAsset({
      key: 'tokyo_day',
      partitions: daily('Asia/Tokyo'),
      schema: z.number(),
      deps: { raw: tokyo },
      automation: eager(),
      compute: ({ raw }) => raw.files.length,
    });
    defs = defineDefinitions({
      assets: [tokyo, perDay],
      io: { default: new LocalFsIOManager({ rootDir: join(dir, 'out') }) },
      sources: new LocalSourceIO({ dataDir: join(dir, 'data') }),
    });
    for (const day of ['2025-06-01', '2025-06-03']) {
      await mkdir(join(dir, 'data/d', day), { recursive: true });
      await writeFile(join(dir, 'data/d', day, 'n.json'), '{}');
    }
    await mkdir(join(dir, 'data/d/notes'), { recursive: true }); // a folder naming no day: ignored
    const first = await tick('2025-06-10T00:00:00Z', 1, { full: true });
    expect(Object.keys(first.ev.cursor.sources.tokyo_raw!).sort()).toEqual(['2025-06-01', '2025-06-03']);
    expect(first.ran.sort()).toEqual(['tokyo_day[2025-06-01]', 'tokyo_day[2025-06-03]']);
    // The 2nd has no folder: never requested by eager (`all-inputs`), and no error.
    expect(first.ev.decisions.filter((d) => d.outcome === 'wait')).toEqual([]);
  });
});

describe('sensor cost', () => {
  it('an idle evaluation observes each time source once, as a whole tree, and walks nothing', async () => {
    const real = new LocalSourceIO({ dataDir: join(dir, 'data') });
    const calls = { observe: 0, listFolders: 0 };
    const counting: SourceIO = {
      name: 'counting',
      observe: (l, s) => (calls.observe++, real.observe(l, s)),
      resolve: (l) => real.resolve(l),
      listFolders: (p) => (calls.listFolders++, real.listFolders(p)),
    };
    defs = defineDefinitions({
      assets: [raw, dayTotal, report],
      io: { default: new LocalFsIOManager({ rootDir: join(dir, 'out') }) },
      sources: counting,
    });
    for (let h = 0; h < 24; h++) await addHour('2025-11-03', h);
    await tick('2025-11-04T08:00:00Z', 1, { full: true });
    expect(calls.listFolders).toBeGreaterThan(1);
    Object.assign(calls, { observe: 0, listFolders: 0 });
    const idle = await tick('2025-11-04T08:00:30Z', 2);
    expect(idle.ev.requests).toEqual([]);
    expect(calls).toEqual({ observe: 1, listFolders: 0 });
    // A new hour changes the tree: walked and found.
    await addHour('2025-11-04', 3);
    Object.assign(calls, { observe: 0, listFolders: 0 });
    const next = await tick('2025-11-04T08:01:00Z', 3);
    expect(calls.listFolders).toBeGreaterThan(0);
    expect(next.ev.changes).toEqual([{ source: 'raw_counts', partition: '2025-11-04T03', change: 'new' }]);
    expect(next.ran).toEqual(['day_total[2025-11-04]']);
  });
});
