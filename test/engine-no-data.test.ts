/**
 * "No data is not zero" in the engine: a source partition without any file has no data; a unit whose
 * required input has none (or whose compute returns `ctx.noData(…)`) is recorded as having no data,
 * stores nothing, is up to date until an input changes, and its dependents see the input as missing.
 * Real files, a real state dir and the local IO managers.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  daily,
  defineAsset,
  defineBatchAsset,
  defineDefinitions,
  defineSource,
  dep,
  execute,
  fromUnpartitioned,
  hourly,
  hourlyToDaily,
  identity,
  NO_DATA,
  plan,
  StateStore,
  type AnyAsset,
  type RunEvent,
} from '../engine/index.ts';
import { LocalFsIOManager } from '../io-managers/local-fs.ts';
import { LocalSourceIO } from '../io-managers/local-source.ts';

const D1 = '2025-11-03';
const D2 = '2025-11-04';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityflow-nodata-'));
  // Files for D2 only (two hours of it); D1 has none.
  await putHour(D2, '00', 1);
  await putHour(D2, '05', 2);
  await mkdir(join(dir, 'data/batch'), { recursive: true });
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function putHour(day: string, hour: string, n: number): Promise<void> {
  await mkdir(join(dir, `data/api/n/dt=${day}/hour=${hour}`), { recursive: true });
  await writeFile(join(dir, `data/api/n/dt=${day}/hour=${hour}/n.json`), JSON.stringify({ n }));
}

const rawN = defineSource({
  key: 'raw_n',
  partitions: hourly(),
  locate: (p) => ({ prefix: `api/n/dt=${p.slice(0, 10)}/hour=${p.slice(11)}`, match: /\.json$/ }),
});
const rawBatch = defineSource({ key: 'raw_batch', locate: () => ({ prefix: 'batch', match: /\.csv$/ }) });

/** Σ n over the day's files; records which hours compute was given. */
const hoursSeen: string[][] = [];
const total = defineAsset({
  key: 'total',
  partitions: daily(),
  schema: z.number(),
  deps: { n: dep(rawN, hourlyToDaily()) },
  compute: async ({ n }) => {
    hoursSeen.push(n.map((h) => h.partitionKey));
    let s = 0;
    for (const h of n)
      for (const f of h.value.files) s += (JSON.parse(await readFile(f.path, 'utf8')) as { n: number }).n;
    return s;
  },
});
/** Required dependency: no data when `total` has none. */
const doubled = defineAsset({
  key: 'doubled',
  partitions: daily(),
  schema: z.number(),
  deps: { total },
  compute: ({ total }) => total * 2,
});
/** Optional dependency: computed either way, says what it saw. */
const summary = defineAsset({
  key: 'summary',
  partitions: daily(),
  schema: z.object({ total: z.number().nullable() }),
  deps: { total: dep(total, identity(), { optional: true }) },
  compute: ({ total }) => ({ total: total ?? null }),
});

function setup(assets: AnyAsset[]) {
  const defs = defineDefinitions({
    assets,
    io: { default: new LocalFsIOManager({ rootDir: join(dir, 'out') }) },
    sources: new LocalSourceIO({ dataDir: join(dir, 'data') }),
  });
  const state = new StateStore(join(dir, 'state'));
  const planOf = (select: string[], force = false) =>
    plan(defs, state, { selected: new Set(select), days: { from: D1, to: D2 }, force });
  const run = async (select: string[], force = false) => {
    const events: RunEvent[] = [];
    const p = await planOf(select, force);
    const result = await execute(defs, state, p, {
      onEvent: (e) => events.push(e),
      quarantineDir: join(dir, 'quarantine'),
      retry: { maxAttempts: 1, baseDelayMs: 1 },
    });
    const outcome = (asset: string, day: string) => {
      const e = events.findLast(
        (x) =>
          (x.type === 'materialized' || x.type === 'skipped' || x.type === 'failed') &&
          x.asset === asset &&
          x.partition === day,
      );
      if (!e) return undefined;
      return e.type === 'skipped' ? `${e.reason}: ${e.detail ?? ''}` : e.type;
    };
    return { p, result, events, outcome };
  };
  return { state, planOf, run };
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );
const out = (asset: string, day: string) => join(dir, 'out', asset, `${day}.json`);

describe('no data', () => {
  it('a day without files has no data: nothing stored, dependents missing it, then up to date', async () => {
    hoursSeen.length = 0;
    const { state, run, planOf } = setup([rawN, total, doubled, summary]);
    const first = await run(['total', 'doubled', 'summary']);

    // D2: computed from the two hours that have files, not from 24 empty file sets.
    expect(first.outcome('total', D2)).toBe('materialized');
    expect(hoursSeen).toEqual([[`${D2}T00`, `${D2}T05`]]);
    expect(JSON.parse(await readFile(out('total', D2), 'utf8'))).toBe(3);

    // D1: no data, said once per unit with the reason; nothing written.
    expect(first.outcome('total', D1)).toBe(`no_data: no file in raw_n [${D1}T00 … ${D1}T23, 24 partitions]`);
    expect(first.outcome('doubled', D1)).toBe(
      `no_data: no data in total [${D1}] (no file in raw_n [${D1}T00 … ${D1}T23, 24 partitions])`,
    );
    expect(await exists(out('total', D1))).toBe(false);
    expect(await exists(out('doubled', D1))).toBe(false);
    expect(state.get('total', D1)).toMatchObject({
      dataVersion: NO_DATA,
      metadata: { noData: expect.any(String) },
    });
    // An optional input with no data is undefined, not a zero.
    expect(first.outcome('summary', D1)).toBe('materialized');
    expect(JSON.parse(await readFile(out('summary', D1), 'utf8'))).toEqual({ total: null });
    expect(JSON.parse(await readFile(out('summary', D2), 'utf8'))).toEqual({ total: 3 });
    // No event says a unit with no data started: one line per unit.
    expect(
      first.events.some((e) => e.type === 'unit_started' && e.asset === 'doubled' && e.partition === D1),
    ).toBe(false);
    expect(first.result).toMatchObject({ status: 'success', materialized: 4, skipped: 2, noData: 2 });
    expect(first.events.at(-1)).toMatchObject({ type: 'run_finished', noData: 2 });

    // Up to date means up to date: the next plan runs nothing, and says nothing is stale.
    const again = await planOf(['total', 'doubled', 'summary']);
    expect(
      again.units.filter((u) => u.decision !== 'observe' && (u.decision !== 'skip' || u.reasons.length)),
    ).toEqual([]);
    const second = await run(['total', 'doubled', 'summary']);
    expect(second.result).toMatchObject({ materialized: 0, skipped: 6, noData: 0 });

    // The day's files arrive: the source's data version changes, the day is computed and dependents follow.
    await putHour(D1, '08', 10);
    const p = await planOf(['total', 'doubled', 'summary']);
    expect(p.unit('total', D1)).toMatchObject({
      decision: 'run',
      reasons: [{ kind: 'input_changed', input: 'n', partition: `${D1}T08`, from: NO_DATA }],
    });
    expect(p.unit('total', D2)?.decision).toBe('skip');
    const third = await run(['total', 'doubled', 'summary']);
    expect(third.outcome('total', D1)).toBe('materialized');
    expect(third.outcome('doubled', D1)).toBe('materialized');
    expect(third.outcome('summary', D1)).toBe('materialized');
    expect(JSON.parse(await readFile(out('doubled', D1), 'utf8'))).toBe(20);
    expect(JSON.parse(await readFile(out('summary', D1), 'utf8'))).toEqual({ total: 10 });
  });

  it('an optional input recorded with data but no longer stored is missing, not "no data"', async () => {
    // Found by test/staleness-property.test.ts: the dependent used to compute without the lost value,
    // record the lost value's version as what it read, and be called up to date once it was restored.
    const { run, planOf } = setup([rawN, total, summary]);
    await run(['total']);
    await rm(out('total', D2)); // deleted behind the engine's back
    const alone = await run(['summary']);
    expect(alone.outcome('summary', D2)).toBe('failed');
    const failed = alone.events.find((e) => e.type === 'failed' && e.partition === D2);
    expect(failed && 'error' in failed ? failed.error : '').toMatch(
      new RegExp(`Input "total" \\(total \\[${D2}\\]\\) is missing: materialize it first`),
    );
    expect(await exists(out('summary', D2))).toBe(false);
    // With its upstream selected, the lost value is rebuilt first and read.
    await run(['total', 'summary']);
    expect(JSON.parse(await readFile(out('summary', D2), 'utf8'))).toEqual({ total: 3 });
    const again = await planOf(['total', 'summary']);
    expect(
      again.units.filter((u) => u.decision !== 'observe' && (u.decision !== 'skip' || u.reasons.length)),
    ).toEqual([]);
  });

  it('files removed later: the unit has no data again, and dependents never read the old value', async () => {
    const { state, run } = setup([rawN, total, doubled, summary]);
    await run(['total', 'doubled', 'summary']);
    expect(JSON.parse(await readFile(out('summary', D2), 'utf8'))).toEqual({ total: 3 });

    await rm(join(dir, 'data/api/n', `dt=${D2}`), { recursive: true });
    const r = await run(['total', 'doubled', 'summary']);
    expect(r.outcome('total', D2)).toMatch(/^no_data: no file in raw_n/);
    expect(r.outcome('doubled', D2)).toMatch(/^no_data: no data in total/);
    expect(state.get('total', D2)?.dataVersion).toBe(NO_DATA);
    // The old value is not read through the optional input, and the store removed it (value and its
    // .version): nobody reading the output dir sees a value that is no longer current.
    expect(JSON.parse(await readFile(out('summary', D2), 'utf8'))).toEqual({ total: null });
    await expect(readFile(out('total', D2), 'utf8')).rejects.toThrow(/ENOENT/);
    await expect(readFile(`${out('total', D2)}.version`, 'utf8')).rejects.toThrow(/ENOENT/);
    const warn = r.events.find((e) => e.type === 'log' && e.asset === 'total' && e.partition === D2);
    expect(warn).toBeUndefined();
  });

  it('compute may say "no data" (ctx.noData): recorded with its reason, its rejects kept', async () => {
    const picky = defineAsset({
      key: 'picky',
      partitions: daily(),
      schema: z.number(),
      deps: { total },
      compute: ({ total }, ctx) => {
        ctx.reject({ reason: 'too_small', file: 'n.json', line: 1 });
        return total < 100 ? ctx.noData(`only ${total} counted: not a measurement`) : total;
      },
    });
    const after = defineAsset({
      key: 'after',
      partitions: daily(),
      schema: z.number(),
      deps: { picky },
      compute: ({ picky }) => picky,
    });
    const { state, run, planOf } = setup([rawN, total, picky, after]);
    const r = await run(['total', 'picky', 'after']);
    expect(r.outcome('picky', D2)).toBe('no_data: only 3 counted: not a measurement');
    expect(r.outcome('after', D2)).toBe(
      `no_data: no data in picky [${D2}] (only 3 counted: not a measurement)`,
    );
    expect(state.get('picky', D2)?.metadata).toMatchObject({ quarantined: { too_small: 1 } });
    expect(await readFile(join(dir, 'quarantine/picky', `${D2}.ndjson`), 'utf8')).toMatch(/too_small/);
    expect(await exists(out('picky', D2))).toBe(false);
    const p = await planOf(['total', 'picky', 'after']);
    expect(p.units.filter((u) => u.decision === 'run')).toEqual([]);
  });

  it('batch assets: a missing unpartitioned file means no data on every day; emit(ctx.noData) for one', async () => {
    const perDay = defineBatchAsset({
      key: 'per_day',
      partitions: daily(),
      schema: z.number(),
      deps: { raw: dep(rawBatch, fromUnpartitioned()) },
      compute: async ({ raw }, ctx) => {
        const lines = (await readFile(raw.files[0]!.path, 'utf8')).trim().split('\n');
        for (const day of ctx.partitionKeys) {
          const n = lines.filter((l) => l.startsWith(day)).length;
          await ctx.emit(day, n ? n : ctx.noData(`no row for ${day}`));
        }
      },
    });
    const { state, run } = setup([rawBatch, perDay]);
    const none = await run(['per_day']);
    expect(none.outcome('per_day', D1)).toBe('no_data: no file in raw_batch');
    expect(none.outcome('per_day', D2)).toBe('no_data: no file in raw_batch');

    await writeFile(join(dir, 'data/batch/rows.csv'), `${D2},1\n${D2},2\n`);
    const some = await run(['per_day']);
    expect(some.outcome('per_day', D1)).toBe(`no_data: no row for ${D1}`);
    expect(some.outcome('per_day', D2)).toBe('materialized');
    expect(state.get('per_day', D1)?.dataVersion).toBe(NO_DATA);
    expect(JSON.parse(await readFile(out('per_day', D2), 'utf8'))).toBe(2);
  });

  it('a rebuild that still has no data lets dependents skip (early cutoff on the NO_DATA version)', async () => {
    const versioned = (v: string) => {
      const t = defineAsset({
        key: 'total',
        partitions: daily(),
        codeVersion: v,
        schema: z.number(),
        deps: { n: dep(rawN, hourlyToDaily()) },
        compute: ({ n }) => n.length,
      });
      const d = defineAsset({
        key: 'doubled',
        partitions: daily(),
        codeVersion: 'd1',
        schema: z.number(),
        deps: { total: t },
        compute: ({ total }) => total * 2,
      });
      return setup([rawN, t, d]);
    };
    await versioned('v1').run(['total', 'doubled']);
    const r = await versioned('v2').run(['total', 'doubled']);
    expect(r.p.unit('total', D1)?.reasons).toEqual([expect.objectContaining({ kind: 'code_changed' })]);
    expect(r.outcome('total', D1)).toMatch(/^no_data/);
    expect(r.outcome('doubled', D1)).toMatch(/^early_cutoff/);
    expect(r.outcome('total', D2)).toBe('materialized');
    expect(r.outcome('doubled', D2)).toMatch(/^early_cutoff/);
    expect(r.result).toMatchObject({ materialized: 1, noData: 1 });
  });
});
