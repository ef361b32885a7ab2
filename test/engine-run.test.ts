import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  defineAsset,
  defineBatchAsset,
  defineDefinitions,
  defineSource,
  dep,
  errorMessage,
  execute,
  fromUnpartitioned,
  daily,
  hourly,
  hourlyToDaily,
  plan,
  StateStore,
  TransientError,
  type AnyAsset,
  type RunEvent,
} from '../engine/index.ts';
import { LocalFsIOManager } from '../io-managers/local-fs.ts';
import { LocalSourceIO } from '../io-managers/local-source.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityflow-engine-'));
  for (const h of ['00', '01']) {
    await mkdir(join(dir, 'data/api/n/dt=2025-11-04', `hour=${h}`), { recursive: true });
    await writeFile(
      join(dir, 'data/api/n/dt=2025-11-04', `hour=${h}`, 'n.json'),
      JSON.stringify({ n: Number(h) + 1 }),
    );
  }
  await mkdir(join(dir, 'data/batch'), { recursive: true });
  await writeFile(join(dir, 'data/batch/lines.csv'), '2025-11-03,1\n2025-11-04,2\n2025-11-04,3\n');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const rawN = defineSource({
  key: 'raw_n',
  partitions: hourly(),
  locate: (p) => ({ prefix: `api/n/dt=${p.slice(0, 10)}/hour=${p.slice(11)}`, match: /\.json$/ }),
});
const rawLines = defineSource({ key: 'raw_lines', locate: () => ({ prefix: 'batch', match: /\.csv$/ }) });

function setup(assets: AnyAsset[]) {
  const defs = defineDefinitions({
    assets,
    io: { default: new LocalFsIOManager({ rootDir: join(dir, 'out') }) },
    sources: new LocalSourceIO({ dataDir: join(dir, 'data') }),
  });
  const state = new StateStore(join(dir, 'state'));
  const run = async (select: string[], extra: { force?: boolean } = {}) => {
    const events: RunEvent[] = [];
    const p = await plan(defs, state, {
      selected: new Set(select),
      days: { from: '2025-11-04', to: '2025-11-04' },
      ...extra,
    });
    const result = await execute(defs, state, p, {
      onEvent: (e) => events.push(e),
      quarantineDir: join(dir, 'quarantine'),
      retry: { maxAttempts: 3, baseDelayMs: 1 },
    });
    return { p, result, events };
  };
  return { defs, state, run };
}

const readN = async (files: { path: string }[]) => {
  let s = 0;
  for (const f of files) s += (JSON.parse(await readFile(f.path, 'utf8')) as { n: number }).n;
  return s;
};

/** `parity` (odd/even sum of the day's n) and `label` built from it; `calls.label` counts label's computes. */
function parityAndLabel() {
  const calls = { label: 0 };
  const parity = defineAsset({
    key: 'parity',
    partitions: daily(),
    schema: z.string(),
    deps: { n: dep(rawN, hourlyToDaily()) },
    compute: async (i) => {
      let s = 0;
      for (const h of i.n) s += await readN(h.value.files);
      return s % 2 ? 'odd' : 'even';
    },
  });
  const label = defineAsset({
    key: 'label',
    partitions: daily(),
    schema: z.string(),
    deps: { parity },
    compute: (i) => (calls.label++, `n is ${i.parity}`),
  });
  return { parity, label, calls };
}

describe('executor', () => {
  it('materializes, then skips everything; a changed raw file re-runs exactly its dependents', async () => {
    const total = defineAsset({
      key: 'total',
      partitions: daily(),
      schema: z.number(),
      deps: { n: dep(rawN, hourlyToDaily()) },
      compute: async (i) => {
        let s = 0;
        for (const h of i.n) s += await readN(h.value.files);
        return s;
      },
    });
    const doubled = defineAsset({
      key: 'doubled',
      partitions: daily(),
      schema: z.number(),
      deps: { total },
      compute: (i) => i.total * 2,
    });
    const other = defineAsset({ key: 'other', schema: z.number(), compute: () => 42 });
    const { run } = setup([rawN, total, doubled, other]);
    const all = ['raw_n', 'total', 'doubled', 'other'];

    const first = await run(all);
    expect(first.result).toMatchObject({ status: 'success', materialized: 3, skipped: 0, failed: 0 });
    expect(JSON.parse(await readFile(join(dir, 'out/doubled/2025-11-04.json'), 'utf8'))).toBe(6); // (1 + 2) × 2

    const second = await run(all);
    expect(second.result).toMatchObject({ materialized: 0, skipped: 3 });
    expect(second.p.units.filter((u) => u.decision === 'run')).toHaveLength(0);

    await writeFile(join(dir, 'data/api/n/dt=2025-11-04/hour=01/n.json'), JSON.stringify({ n: 10 }));
    const third = await run(all);
    const ran = third.events
      .filter((e) => e.type === 'materialized')
      .map((e) => (e as { asset: string }).asset);
    expect(ran.sort()).toEqual(['doubled', 'total']);
    const why = third.p.byId.get('total[2025-11-04]')!.reasons;
    expect(why).toEqual([
      expect.objectContaining({ kind: 'input_changed', input: 'n', partition: '2025-11-04T01' }),
    ]);
    expect(JSON.parse(await readFile(join(dir, 'out/doubled/2025-11-04.json'), 'utf8'))).toBe(22);
  });

  it('early cutoff: an upstream rebuilt with the same data version lets dependents skip', async () => {
    const { parity, label, calls } = parityAndLabel();
    const { run } = setup([rawN, parity, label]);
    await run(['parity', 'label']);
    await writeFile(join(dir, 'data/api/n/dt=2025-11-04/hour=01/n.json'), JSON.stringify({ n: 4 })); // 1+4 is odd, as 1+2 was
    const r = await run(['parity', 'label']);
    expect(r.events.find((e) => e.type === 'skipped' && e.asset === 'label')).toMatchObject({
      reason: 'early_cutoff',
    });
    expect(r.result).toMatchObject({ materialized: 1, skipped: 1 });
    expect(calls.label).toBe(1);
  });

  it('early cutoff checks what is stored: a value gone or replaced since the plan is rebuilt, not skipped', async () => {
    const { parity, label, calls } = parityAndLabel();
    const { defs, state, run } = setup([rawN, parity, label]);
    await run(['parity', 'label']);
    await writeFile(join(dir, 'data/api/n/dt=2025-11-04/hour=01/n.json'), JSON.stringify({ n: 4 })); // still odd
    const p = await plan(defs, state, {
      selected: new Set(['parity', 'label']),
      days: { from: '2025-11-04', to: '2025-11-04' },
    });
    // After the plan, while parity rebuilds: label's value is replaced behind the engine's back (a
    // configuration writing the same store, a killed store of another run…). The index still says
    // it holds what the inputs would give.
    const io = defs.io.default!;
    const labelCtx = { assetKey: 'label', partitionKey: '2025-11-04' };
    await io.store(labelCtx, 'n is stale', 'other-version');
    const events: RunEvent[] = [];
    const result = await execute(defs, state, p, { onEvent: (e) => events.push(e) });
    expect(events.find((e) => e.type === 'skipped' && e.asset === 'label')).toBeUndefined();
    expect(events.find((e) => e.type === 'unit_started' && e.asset === 'label')).toMatchObject({
      reasons: expect.arrayContaining([{ kind: 'missing' }]),
    });
    expect(result).toMatchObject({ status: 'success', materialized: 2, skipped: 0 });
    expect(await io.load(labelCtx)).toBe('n is odd');
    expect((await io.stat(labelCtx))?.dataVersion).toBe(state.get('label', '2025-11-04')?.dataVersion);
    expect(calls.label).toBe(2);
    // Deleted instead: the same.
    await writeFile(join(dir, 'data/api/n/dt=2025-11-04/hour=01/n.json'), JSON.stringify({ n: 6 })); // still odd
    const p2 = await plan(defs, state, {
      selected: new Set(['parity', 'label']),
      days: { from: '2025-11-04', to: '2025-11-04' },
    });
    await rm(join(dir, 'out/label/2025-11-04.json'));
    expect(await execute(defs, state, p2)).toMatchObject({ materialized: 2, skipped: 0 });
    expect(await io.load(labelCtx)).toBe('n is odd');
    // Nothing replaced: the early cutoff still skips.
    await writeFile(join(dir, 'data/api/n/dt=2025-11-04/hour=01/n.json'), JSON.stringify({ n: 8 }));
    expect((await run(['parity', 'label'])).result).toMatchObject({ materialized: 1, skipped: 1 });
    expect(calls.label).toBe(3);
  });

  it('retries transient errors with backoff, and a failure stops only its dependents', async () => {
    let attempts = 0;
    const flaky = defineAsset({
      key: 'flaky',
      schema: z.number(),
      compute: () => {
        attempts++;
        if (attempts < 3) throw new TransientError('S3 SlowDown');
        return 1;
      },
    });
    const broken = defineAsset({
      key: 'broken',
      schema: z.number(),
      compute: () => {
        throw new Error('bad input\nstack…');
      },
    });
    const child = defineAsset({
      key: 'child',
      schema: z.number(),
      deps: { broken },
      compute: (i) => i.broken,
    });
    const unrelated = defineAsset({
      key: 'unrelated',
      schema: z.number(),
      deps: { flaky },
      compute: (i) => i.flaky + 1,
    });
    const { run, state } = setup([flaky, broken, child, unrelated]);
    const r = await run(['flaky', 'broken', 'child', 'unrelated']);
    expect(attempts).toBe(3);
    expect(r.events.filter((e) => e.type === 'retry')).toHaveLength(2);
    expect(r.result).toMatchObject({ status: 'failed', materialized: 2, failed: 1, skipped: 1 });
    expect(r.events.find((e) => e.type === 'failed')).toMatchObject({
      asset: 'broken',
      error: 'bad input stack…',
    });
    expect(r.events.find((e) => e.type === 'skipped')).toMatchObject({
      asset: 'child',
      reason: 'upstream_failed',
    });
    expect(state.get('broken', 'all')?.lastFailure?.error).toBe('bad input stack…');
    const again = await plan(
      setup([flaky, broken, child, unrelated]).defs,
      new StateStore(join(dir, 'state')),
      {
        selected: new Set(['broken', 'flaky']),
        days: { from: '2025-11-04', to: '2025-11-04' },
      },
    );
    expect(again.byId.get('broken[all]')!.reasons.map((x) => x.kind)).toEqual(['missing', 'last_failed']);
    expect(again.byId.get('flaky[all]')!.decision).toBe('skip');
  });

  it('a failing blocking check stops dependents; schema violations fail the unit', async () => {
    const neg = defineAsset({
      key: 'neg',
      schema: z.number(),
      checks: [
        { name: 'non_negative', fn: (v) => ({ status: v >= 0 ? 'pass' : 'fail', message: `value ${v}` }) },
      ],
      compute: () => -1,
    });
    const after = defineAsset({ key: 'after', schema: z.number(), deps: { neg }, compute: (i) => i.neg });
    const wrong = defineAsset({ key: 'wrong', schema: z.number(), compute: () => 'x' as unknown as number });
    const { run } = setup([neg, after, wrong]);
    const r = await run(['neg', 'after', 'wrong']);
    expect(r.events.find((e) => e.type === 'check')).toMatchObject({
      check: 'non_negative',
      status: 'fail',
      blocking: true,
    });
    expect(r.events.find((e) => e.type === 'skipped')).toMatchObject({
      asset: 'after',
      reason: 'blocked_by_check',
    });
    const failures = r.events.filter((e) => e.type === 'failed');
    expect(failures.map((e) => e.asset).sort()).toEqual(['neg', 'wrong']);
    expect(failures.find((e) => e.asset === 'neg')).toMatchObject({ check: 'non_negative' });
    expect(failures.find((e) => e.asset === 'wrong')!.error).toMatch(/does not match its schema/);
    expect(r.result.status).toBe('failed');
  });

  it('a failed blocking check holds across runs until a materialization passes it; warnings never block', async () => {
    let value = -1;
    const mk = () => {
      const neg = defineAsset({
        key: 'neg',
        schema: z.number(),
        codeVersion: `v${value}`,
        checks: [
          {
            name: 'non_negative',
            fn: (v) => ({ status: v >= 0 ? 'pass' : 'fail', message: `value ${v}`, metadata: { value: v } }),
          },
          { name: 'small', blocking: true, fn: (v) => ({ status: v < 100 ? 'pass' : 'warn' }) },
        ],
        compute: () => value,
      });
      const after = defineAsset({ key: 'after', schema: z.number(), deps: { neg }, compute: (i) => i.neg });
      return setup([neg, after]);
    };
    const first = await mk().run(['neg', 'after']);
    expect(first.result).toMatchObject({ status: 'failed', failed: 1, materialized: 0 });
    const { state } = mk();
    expect(state.get('neg', 'all')?.checks?.[0]).toMatchObject({
      name: 'non_negative',
      status: 'fail',
      blocking: true,
      metadata: { value: -1 },
      dataVersion: state.get('neg', 'all')?.dataVersion,
    });

    // Next run of the dependent alone, even forced: still refused, and the run fails.
    const alone = await mk().run(['after'], { force: true });
    expect(alone.p.unit('after', 'all')).toMatchObject({
      decision: 'blocked',
      reasons: expect.arrayContaining([
        { kind: 'blocked_by_check', input: 'neg', asset: 'neg', partition: 'all', check: 'non_negative' },
      ]),
    });
    expect(alone.events.find((e) => e.type === 'skipped')).toMatchObject({
      asset: 'after',
      reason: 'blocked_by_check',
    });
    expect(alone.result.status).toBe('failed');
    expect(mk().state.get('after', 'all')).toBeUndefined();

    // The failed unit is retried by a plain run (check_failed), and keeps failing while the data is bad.
    const retry = await mk().run(['neg', 'after']);
    expect(retry.p.unit('neg', 'all')!.reasons).toContainEqual({
      kind: 'check_failed',
      check: 'non_negative',
      message: 'value -1',
    });
    expect(retry.result).toMatchObject({ status: 'failed', failed: 1 });

    // Fixed (a warning only): the value passes, the dependent is built, the run succeeds.
    value = 150;
    const fixed = await mk().run(['neg', 'after']);
    expect(fixed.result).toMatchObject({ status: 'success', materialized: 2 });
    expect(fixed.events.filter((e) => e.type === 'check').map((e) => e.status)).toEqual(['pass', 'warn']);
    const again = await mk().run(['neg', 'after']);
    expect(again.result).toMatchObject({ status: 'success', materialized: 0, skipped: 2 });
  });

  it('batch assets compute every requested day in one call and quarantine per partition', async () => {
    let calls = 0;
    const perDay = defineBatchAsset({
      key: 'per_day',
      partitions: daily(),
      schema: z.number(),
      deps: { lines: dep(rawLines, fromUnpartitioned()) },
      compute: async (i, ctx) => {
        calls++;
        const text = await readFile(i.lines.files[0]!.path, 'utf8');
        const sums = new Map<string, number>();
        text
          .trim()
          .split('\n')
          .forEach((l, idx) => {
            const [d, v] = l.split(',');
            if (d === '2025-11-03')
              ctx.rejectFor('2025-11-04')({ reason: 'outside_partition', file: 'lines.csv', line: idx + 1 });
            sums.set(d!, (sums.get(d!) ?? 0) + Number(v));
          });
        ctx.progress(text.length, text.length, 'bytes');
        for (const [n, p] of ctx.partitionKeys.entries()) {
          await ctx.emit(p, sums.get(p) ?? 0);
          ctx.progress(n + 1, ctx.partitionKeys.length, 'days written');
        }
      },
    });
    const { run } = setup([rawLines, perDay]);
    const r = await run(['per_day']);
    expect(calls).toBe(1);
    // Progress events carry the unit the asset gave, which may change between its phases.
    const units = r.events.flatMap((e) => (e.type === 'progress' ? [e.unit] : []));
    expect(new Set(units)).toEqual(new Set(['bytes', 'days written']));
    expect(JSON.parse(await readFile(join(dir, 'out/per_day/2025-11-04.json'), 'utf8'))).toBe(5);
    const m = r.events.find((e) => e.type === 'materialized');
    expect(m).toMatchObject({ metadata: { quarantined: { outside_partition: 1 } } });
    const q = await readFile(join(dir, 'quarantine/per_day/2025-11-04.ndjson'), 'utf8');
    expect(JSON.parse(q.trim())).toMatchObject({ reason: 'outside_partition', file: 'lines.csv', line: 1 });
  });

  it('records every event in the run log and leaves no temp files', async () => {
    const one = defineAsset({ key: 'one', schema: z.number(), compute: () => 1 });
    const { run, state } = setup([one]);
    const r = await run(['one']);
    const logged = await state.readRun(r.result.runId);
    expect(logged.map((e) => e.type)).toEqual(r.events.map((e) => e.type));
    expect((await state.listRuns())[0]).toMatchObject({
      runId: r.result.runId,
      status: 'success',
      materialized: 1,
    });
    expect((await readdir(join(dir, 'out/one'))).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('lists runs newest first by start time, also for several runs within one second', async () => {
    const { state } = setup([]);
    // Second-resolution ids (older versions) whose random suffixes sort against start order.
    const started = [
      ['20251104T100000Z-ffffff', '2025-11-04T10:00:00.100Z'],
      ['20251104T100000Z-000000', '2025-11-04T10:00:00.600Z'],
      ['20251104T100000900Z-888888', '2025-11-04T10:00:00.900Z'],
    ] as const;
    for (const [runId, at] of started) {
      state.openRunLog(runId)({
        type: 'run_started',
        runId,
        at,
        command: 'test',
        assets: [],
        units: 0,
        toRun: 0,
        concurrency: 1,
      });
    }
    expect((await state.listRuns()).map((r) => r.runId)).toEqual(started.map(([id]) => id).reverse());
    const one = defineAsset({ key: 'one', schema: z.number(), compute: () => 1 });
    const { run } = setup([one]);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await run(['one'])).result.runId);
    expect(ids.every((id) => /^\d{8}T\d{9}Z-[0-9a-f]{6}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(3);
    expect((await state.listRuns()).map((r) => r.runId)).toEqual(expect.arrayContaining(ids));
  });

  it('cancellation skips what has not started and records the run as cancelled', async () => {
    const ac = new AbortController();
    const slow = defineAsset({ key: 'slow', schema: z.number(), compute: async () => (ac.abort(), 1) });
    const next = defineAsset({ key: 'next', schema: z.number(), deps: { slow }, compute: (i) => i.slow });
    const { defs, state } = setup([slow, next]);
    const p = await plan(defs, state, {
      selected: new Set(['slow', 'next']),
      days: { from: '2025-11-04', to: '2025-11-04' },
    });
    const r = await execute(defs, state, p, { signal: ac.signal });
    expect(r.status).toBe('cancelled');
    expect(r.materialized).toBe(1); // the in-flight unit finished its write
    const ev = await state.readRun(r.runId);
    expect(ev.at(-1)).toMatchObject({ type: 'run_finished', status: 'cancelled' });
    expect(ev.find((e) => e.type === 'skipped')).toMatchObject({ asset: 'next', reason: 'cancelled' });
  });

  it('retry waits remove their abort listener (no MaxListenersExceededWarning after many retries)', async () => {
    let attempts = 0;
    const flaky = defineAsset({
      key: 'flaky',
      schema: z.number(),
      retry: { maxAttempts: 13, baseDelayMs: 0 },
      compute: () => {
        if (++attempts < 13) throw new TransientError('503 Slow Down');
        return 1;
      },
    });
    const { defs, state } = setup([flaky]);
    const p = await plan(defs, state, {
      selected: new Set(['flaky']),
      days: { from: '2025-11-04', to: '2025-11-04' },
    });
    const ac = new AbortController();
    const r = await execute(defs, state, p, { signal: ac.signal });
    expect(r.status).toBe('success');
    expect(attempts).toBe(13);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('an error message keeps its causes on one line; the run log keeps the stacks', async () => {
    const root = new Error('ENOSPC: no space left on device, write');
    const broken = defineAsset({
      key: 'broken',
      schema: z.number(),
      compute: () => {
        throw new Error('Could not store bikes_metrics [2025-11-04]\n(see the path)', { cause: root });
      },
    });
    const { run } = setup([broken]);
    const r = await run(['broken']);
    const failed = r.events.find((e) => e.type === 'failed')!;
    expect(failed).toMatchObject({
      error:
        'Could not store bikes_metrics [2025-11-04] (see the path): ENOSPC: no space left on device, write',
    });
    expect(failed.type === 'failed' && failed.stack).toMatch(/Caused by: Error: ENOSPC/);
    expect(errorMessage(new Error('wrapped: inner', { cause: new Error('inner') }))).toBe('wrapped: inner');
  });
});
