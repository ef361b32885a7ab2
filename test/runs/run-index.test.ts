/**
 * The run index (engine/run-index.ts): kept up to date by the run's own process, a cache of the logs
 * (missing or corrupt: rebuilt; a killed run: interrupted), safe with several writing processes, and
 * what `listRuns` reads instead of the logs.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAsset, defineDefinitions, execute, plan, StateStore } from '../../engine/index.ts';
import { parseDuration, readRunIndex, runIndexPath, runIndexStats } from '../../engine/run-index.ts';
import { selfIdentity } from '../../engine/pid.ts';
import { LocalFsIOManager } from '../../io-managers/local-fs.ts';
import { LocalSourceIO } from '../../io-managers/local-source.ts';

const WRITER = join(import.meta.dirname, 'index-writer.ts');
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityflow-runindex-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Runs the writer child (real StateStore appenders in another process). */
function writer(args: string[]): { started: Promise<void>; done: Promise<number>; pid: () => number } {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, ...args], {
    cwd: join(import.meta.dirname, '..', '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const started = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('started') && resolve());
    child.once('exit', (c) => reject(new Error(`writer exited ${c}: ${err}`)));
  });
  started.catch(() => {}); // only the hanging writer is awaited for it
  const done = new Promise<number>((resolve) =>
    child.once('exit', (c, sig) => resolve(c ?? (sig ? 128 : 1))),
  );
  return { started, done, pid: () => child.pid! };
}

/** The index as a listing reads it (its file, then its journal). */
/** The index as a reader sees it (file + journal), in the file's shape. */
const index = () => ({ version: 1, runs: readRunIndex(dir) });

/** Writes a finished run's log directly (no index update), as an older version would have. */
async function oldLog(runId: string, at: string, status = 'success'): Promise<void> {
  await mkdir(join(dir, 'runs'), { recursive: true });
  const lines = [
    {
      type: 'run_started',
      runId,
      at,
      command: 'materialize --all',
      assets: ['a'],
      units: 2,
      toRun: 2,
      concurrency: 1,
    },
    { type: 'skipped', runId, at, asset: 'a', partition: 'x', reason: 'no_data' },
    {
      type: 'run_finished',
      runId,
      at,
      status,
      materialized: 1,
      skipped: 1,
      noData: 1,
      failed: 0,
      durationMs: 5,
    },
  ];
  await writeFile(join(dir, 'runs', `${runId}.jsonl`), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
}

describe('run index', () => {
  it('is written by a real run (running at start, its summary at the end) and listed without reading the log', async () => {
    const one = defineAsset({ key: 'one', schema: z.number(), compute: () => 1 });
    const defs = defineDefinitions({
      assets: [one],
      io: { default: new LocalFsIOManager({ rootDir: join(dir, 'out') }) },
      sources: new LocalSourceIO({ dataDir: join(dir, 'data') }),
    });
    const state = new StateStore(join(dir, 'state'));
    const p = await plan(defs, state, {
      selected: new Set(['one']),
      days: { from: '2025-11-04', to: '2025-11-04' },
    });
    const seen: string[] = [];
    const r = await execute(defs, state, p, {
      command: 'materialize --select one',
      onEvent: (e) => {
        if (e.type === 'unit_started') {
          // During the run: the index says running, with this process as its writer.
          const entry = readRunIndex(state.dir)[e.runId]!;
          seen.push(entry.status);
          expect(entry.process).toMatchObject({ pid: process.pid });
        }
      },
    });
    expect(seen).toEqual(['running']);
    const before = runIndexStats.logsParsed;
    const [listed] = await state.listRuns();
    expect(runIndexStats.logsParsed).toBe(before);
    expect(listed).toEqual({
      runId: r.runId,
      startedAt: expect.any(String) as string,
      endedAt: expect.any(String) as string,
      command: 'materialize --select one',
      status: 'success',
      materialized: 1,
      skipped: 0,
      noData: 0,
      failed: 0,
      units: 1,
      toRun: 1,
      durationMs: r.durationMs,
      assets: ['one'],
      assetCount: 1,
    });
  });

  it('is rebuilt from the logs when missing, then when corrupt; entries of removed logs are dropped', async () => {
    await oldLog('r1', '2025-11-04T10:00:00.000Z');
    await oldLog('r2', '2025-11-04T11:00:00.000Z', 'failed');
    const state = new StateStore(dir);
    const before = runIndexStats.logsParsed;
    const list = await state.listRuns();
    expect(list.map((r) => [r.runId, r.status, r.noData])).toEqual([
      ['r2', 'failed', 1],
      ['r1', 'success', 1],
    ]);
    expect(runIndexStats.logsParsed - before).toBe(2);
    expect(Object.keys(index().runs).sort()).toEqual(['r1', 'r2']);
    // Corrupt (a torn write after a power loss, or edited by hand).
    await writeFile(runIndexPath(dir), '{"version":1,"runs":{"r1":{"runId":"r1","sta');
    expect(await state.listRuns()).toEqual(list);
    expect(Object.keys(index().runs).sort()).toEqual(['r1', 'r2']);
    // An entry of the wrong shape is dropped and re-read from its log; one whose log is gone is dropped.
    const idx = index();
    (idx.runs.r1 as unknown as Record<string, unknown>).status = 'weird';
    await writeFile(runIndexPath(dir), JSON.stringify(idx));
    await rm(join(dir, 'runs', 'r2.jsonl'));
    expect((await state.listRuns()).map((r) => [r.runId, r.status])).toEqual([['r1', 'success']]);
    expect(Object.keys(index().runs)).toEqual(['r1']);
  });

  it('shows a run without an end as running while its process lives, interrupted once it is killed', async () => {
    const w = writer([dir, 'killed', '1', 'hang']);
    await w.started;
    const state = new StateStore(dir);
    expect((await state.listRuns()).map((r) => [r.runId, r.status])).toEqual([['killed-0', 'running']]);
    process.kill(w.pid(), 'SIGKILL');
    await w.done;
    const [r] = await state.listRuns();
    // Its counts come from what its log holds; the index keeps the verdict.
    expect(r).toMatchObject({
      runId: 'killed-0',
      status: 'interrupted',
      materialized: 1,
      command: 'test killed',
    });
    expect(index().runs['killed-0']).toMatchObject({ status: 'interrupted' });
    expect(index().runs['killed-0']!.process).toBeUndefined();
  });

  it('a log with no end and no index entry (an older version killed) is interrupted, never running', async () => {
    await mkdir(join(dir, 'runs'), { recursive: true });
    await writeFile(
      join(dir, 'runs', 'old.jsonl'),
      JSON.stringify({
        type: 'run_started',
        runId: 'old',
        at: '2025-01-01T00:00:00.000Z',
        command: 'c',
        assets: [],
        units: 3,
        toRun: 3,
        concurrency: 1,
      }) +
        '\n{"type":"failed","runId":"old","at":"2025-01-01T00:00:01.000Z","asset":"a","partition":"p","error":"x","attempt":1}\n{"type":"mater',
    );
    const [r] = await new StateStore(dir).listRuns();
    expect(r).toMatchObject({ status: 'interrupted', failed: 1, endedAt: '2025-01-01T00:00:01.000Z' });
  });

  it('a lock left by a killed writer is taken over at once; an empty one once it is 2 s old', async () => {
    await oldLog('r1', '2025-11-04T10:00:00.000Z');
    const state = new StateStore(dir);
    await state.listRuns(); // the index exists
    const w = writer([dir, 'gone', '1', 'hang']);
    await w.started;
    const gonePid = w.pid();
    process.kill(gonePid, 'SIGKILL');
    await w.done;
    const lock = join(dir, 'runs-index.lock');
    await writeFile(lock, JSON.stringify({ ...selfIdentity(), pid: gonePid, startTime: '1' }));
    let t = Date.now();
    state.openRunLog('after-kill')({
      type: 'run_started',
      runId: 'after-kill',
      at: new Date().toISOString(),
      command: 'c',
      assets: [],
      units: 0,
      toRun: 0,
      concurrency: 1,
    });
    expect(Date.now() - t).toBeLessThan(1000);
    expect(index().runs['after-kill']).toMatchObject({ status: 'running' });
    await expect(stat(lock)).rejects.toThrow(); // released
    // Empty (its writer killed between creating and writing it): waited for, then taken over.
    await writeFile(lock, '');
    const old = new Date(Date.now() - 3000);
    await utimes(lock, old, old);
    t = Date.now();
    expect(state.pruneRuns({ keep: 1 }).removed.length).toBe(2);
    expect(Date.now() - t).toBeLessThan(1000);
  });

  it('two processes writing runs at once lose no update (the journal folded into the file meanwhile)', async () => {
    const a = writer([dir, 'a', '250']);
    const b = writer([dir, 'b', '250']);
    expect(await Promise.all([a.done, b.done])).toEqual([0, 0]);
    const runs = index().runs;
    expect(Object.keys(runs).length).toBe(500);
    // 1,000 journal lines of ≈ 400 bytes: folded at least once, while the other process appended.
    expect(Object.keys(JSON.parse(readFileSync(runIndexPath(dir), 'utf8')).runs).length).toBeGreaterThan(0);
    expect(Object.values(runs).every((r) => r.status === 'success' && r.materialized === 1)).toBe(true);
    expect((await readdir(dir)).filter((f) => f.includes('.tmp-') || f.endsWith('.lock'))).toEqual([]);
  }, 60_000);

  it("records a run's start and end without rewriting the index file; a torn journal line loses nothing after it", async () => {
    await oldLog('r1', '2025-11-04T10:00:00.000Z');
    const state = new StateStore(dir);
    await state.listRuns(); // the index file now holds r1
    const file = await stat(runIndexPath(dir));
    const log = state.openRunLog('r2');
    const at = '2025-11-04T11:00:00.000Z';
    log({
      type: 'run_started',
      runId: 'r2',
      at,
      command: 'c',
      assets: ['a'],
      units: 1,
      toRun: 1,
      concurrency: 1,
    });
    // A line torn by a kill (no end), then the end of r2 appended after it.
    await writeFile(join(dir, 'runs-index.journal'), '\n{"runId":"r9","sta', { flag: 'a' });
    log({
      type: 'run_finished',
      runId: 'r2',
      at,
      status: 'success',
      materialized: 1,
      skipped: 0,
      failed: 0,
      durationMs: 3,
    });
    const after = await stat(runIndexPath(dir));
    expect([after.ino, after.mtimeMs, after.size]).toEqual([file.ino, file.mtimeMs, file.size]);
    const before = runIndexStats.logsParsed;
    const listed = await state.listRuns();
    expect(runIndexStats.logsParsed).toBe(before); // both runs known from the file and the journal
    expect(listed.map((r) => [r.runId, r.status, r.materialized])).toEqual([
      ['r2', 'success', 1],
      ['r1', 'success', 1],
    ]);
    // Any rewrite folds the journal in: the file then holds both, and the journal is gone.
    expect(state.pruneRuns({ keep: 1 }).removed.map((r) => r.runId)).toEqual(['r1']);
    expect(Object.keys(JSON.parse(await readFile(runIndexPath(dir), 'utf8')).runs)).toEqual(['r2']);
    await expect(stat(join(dir, 'runs-index.journal'))).rejects.toThrow();
  });

  it('lists 5,000 runs from the index alone: logs overwritten with garbage do not change the list', async () => {
    await mkdir(join(dir, 'runs'), { recursive: true });
    const N = 5000;
    const t = Date.parse('2025-01-01T00:00:00.000Z');
    for (let i = 0; i < N; i++)
      await oldLog(`run-${String(i).padStart(5, '0')}`, new Date(t + i * 60_000).toISOString());
    const state = new StateStore(dir);
    let before = runIndexStats.logsParsed;
    const first = await state.listRuns();
    expect(runIndexStats.logsParsed - before).toBe(N); // built once
    expect(first.length).toBe(N);
    expect(first[0]!.runId).toBe('run-04999');
    for (let i = 0; i < N; i++)
      await writeFile(join(dir, 'runs', `run-${String(i).padStart(5, '0')}.jsonl`), 'garbage\n');
    before = runIndexStats.logsParsed;
    const again = await state.listRuns();
    expect(runIndexStats.logsParsed - before).toBe(0);
    expect(again).toEqual(first);
    expect(again.every((r) => r.status === 'success' && r.materialized === 1)).toBe(true);
  }, 120_000);
});

describe('runs prune', () => {
  it('keeps the N newest or removes those older than D, never a running run; dry run removes nothing', async () => {
    const now = Date.parse('2025-11-10T00:00:00.000Z');
    for (let d = 1; d <= 5; d++) await oldLog(`d${d}`, new Date(now - d * 86_400_000).toISOString());
    const w = writer([dir, 'live', '1', 'hang']);
    await w.started; // started now: the newest; with --keep 0 it matches but is running
    const state = new StateStore(dir);
    const dry = state.pruneRuns({ keep: 2, dryRun: true, now });
    expect(dry.removed.map((r) => r.runId)).toEqual(['d2', 'd3', 'd4', 'd5']);
    expect((await readdir(join(dir, 'runs'))).length).toBe(6);
    const older = state.pruneRuns({ olderThanMs: parseDuration('3d') + 1, now });
    expect(older.removed.map((r) => r.runId)).toEqual(['d4', 'd5']);
    expect((await readdir(join(dir, 'runs'))).sort()).toEqual([
      'd1.jsonl',
      'd2.jsonl',
      'd3.jsonl',
      'live-0.jsonl',
    ]);
    const all = state.pruneRuns({ keep: 0, now });
    expect(all.removed.map((r) => r.runId)).toEqual(['d1', 'd2', 'd3']);
    expect(all.skippedRunning.map((r) => r.runId)).toEqual(['live-0']);
    expect(await readdir(join(dir, 'runs'))).toEqual(['live-0.jsonl']);
    expect(Object.keys(index().runs)).toEqual(['live-0']);
    process.kill(w.pid(), 'SIGKILL');
    await w.done;
    expect(state.pruneRuns({ keep: 0, now }).removed.map((r) => [r.runId, r.status])).toEqual([
      ['live-0', 'interrupted'],
    ]);
  });

  it('parses durations and refuses anything else', () => {
    expect(parseDuration('30d')).toBe(30 * 86_400_000);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('45m')).toBe(45 * 60_000);
    expect(parseDuration('2w')).toBe(14 * 86_400_000);
    for (const bad of ['', '30', 'd', '0d', '-1d', '1.5h', '30 days', '1y', '9999999d'])
      expect(() => parseDuration(bad), bad).toThrow(/not a duration/);
  });
});
