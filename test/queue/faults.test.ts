/**
 * Faults through the queue, with real processes on a real redis-server and a project whose six
 * `per_city` units take SLOW_MS each: a worker killed with SIGKILL mid-unit, the coordinator killed,
 * Redis stopped mid-run, a worker of another build, Ctrl-C on the coordinator.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, QueueEvents } from 'bullmq';
import { bullConnection } from '../../pipeline/queue/connection.ts';
import { startRedis, type RunningRedis } from '../servers/redis.ts';
import {
  FAST_STALL,
  files,
  runEvents,
  slowProject,
  start,
  startWorker,
  stop,
  summary,
  type Proc,
} from './helpers.ts';

const UNITS = 8; // total_bikes, 6 × per_city, country
let redis: RunningRedis;
let dir: string;
let reference: Map<string, string>;
const procs: Proc[] = [];

/** The environment of one test: its own queue, output and state. */
const envOf = (name: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  HOME: dir,
  OUTPUT_DIR: join(dir, `out-${name}`),
  STATE_DIR: join(dir, `state-${name}`),
  REDIS_URL: redis.url,
  CITYFLOW_QUEUE: name,
  LOG_LEVEL: 'info',
  ...FAST_STALL,
  ...extra,
});
const worker = async (env: NodeJS.ProcessEnv, cwd = dir): Promise<Proc> => {
  const w = await startWorker(env, cwd);
  procs.push(w);
  return w;
};
const coordinator = (env: NodeJS.ProcessEnv, args: string[] = []): Proc => {
  const p = start(
    ['materialize', '--all', '--no-tui', '--json', ...args],
    { ...env, EXECUTOR: 'queue' },
    dir,
  );
  procs.push(p);
  return p;
};
/** The first worker to start a per_city unit, and which partition. */
const firstToStart = (ws: Proc[]): Promise<{ w: Proc; city: string }> =>
  Promise.race(ws.map((w) => w.waitFor(/start per_city\[(\w+)\]/).then((m) => ({ w, city: m[1]! }))));
const materializedUnits = async (stateDir: string, runId: string): Promise<string[]> =>
  (await runEvents(stateDir, runId))
    .filter((e) => e.type === 'materialized')
    .map((e) => `${(e as { asset: string }).asset}[${(e as { partition: string }).partition}]`)
    .sort();

beforeAll(async () => {
  redis = await startRedis();
  dir = await slowProject();
  const ref = await start(['materialize', '--all', '--no-tui', '--json'], envOf('reference'), dir).done;
  expect(ref.code, ref.stderr).toBe(0);
  reference = await files(join(dir, 'out-reference'));
  expect(reference.size).toBeGreaterThanOrEqual(UNITS);
}, 60_000);
afterAll(async () => {
  for (const p of procs)
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await redis?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('queue faults', () => {
  it('workers killed with SIGKILL mid-unit, at two points: their jobs go to another worker, the run completes, each unit recorded once', async () => {
    const env = envOf('kill9', { SLOW_MS: '1500' });
    const ws = await Promise.all([1, 2, 3].map(() => worker(env)));
    const run = coordinator(env);
    const { w: victim, city } = await firstToStart(ws);
    victim.child.kill('SIGKILL');
    // A second kill at another point: the next unit a surviving worker starts after the first kill.
    const others = ws.filter((w) => w !== victim);
    const seen = others.map((w) => w.err().length);
    let second: Proc | undefined;
    while (!second) {
      await new Promise((res) => setTimeout(res, 50));
      second = others.find((w, i) => /start per_city\[/.test(w.err().slice(seen[i])));
    }
    second.child.kill('SIGKILL');
    const survivor = others.find((w) => w !== second)!;
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    const s = summary(r);
    expect(s).toMatchObject({ status: 'success', materialized: UNITS, failed: 0 });
    // Another worker ran the killed one's unit again (BullMQ's stalled-job check).
    expect(others.some((w) => w.err().includes(`start per_city[${city}]`))).toBe(true);
    expect(survivor.err()).toMatch(/done per_city\[/);
    const units = await materializedUnits(env.STATE_DIR!, s.runId);
    expect(units.length).toBe(UNITS);
    expect(new Set(units).size).toBe(UNITS);
    expect(await files(env.OUTPUT_DIR!)).toEqual(reference);
    await stop(survivor);
  }, 90_000);

  it('SIGTERM on a worker mid-unit: it finishes that unit, takes no other, exits 0; the run completes', async () => {
    const env = envOf('sigterm', { SLOW_MS: '1500' });
    const ws = await Promise.all([1, 2].map(() => worker(env)));
    const run = coordinator(env);
    const { w, city } = await firstToStart(ws);
    w.child.kill('SIGTERM');
    const gone = await w.done;
    expect(gone.code, gone.stderr).toBe(0);
    const afterSignal = gone.stderr.slice(gone.stderr.indexOf('SIGTERM: taking no new job'));
    expect(afterSignal).toMatch(new RegExp(`done per_city\\[${city}\\]`));
    expect(afterSignal).not.toMatch(/: start /);
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(summary(r)).toMatchObject({ status: 'success', materialized: UNITS, failed: 0 });
    // The unit it finished was not run again by the other worker.
    expect(ws.find((x) => x !== w)!.err()).not.toContain(`start per_city[${city}]`);
    expect(await files(env.OUTPUT_DIR!)).toEqual(reference);
    await stop(ws.find((x) => x !== w)!);
  }, 60_000);

  it('the coordinator killed: a second materialize builds only what is missing', async () => {
    const env = envOf('coordinator', { SLOW_MS: '1200' });
    const ws = await Promise.all([1, 2].map(() => worker(env)));
    const first = coordinator(env);
    await first.waitFor(/materialized per_city\[/);
    await new Promise((r) => setTimeout(r, 300)); // the index is flushed within 200 ms
    first.child.kill('SIGKILL');
    await first.done;
    // What the resume sees as done: the index on disk.
    const { readFile } = await import('node:fs/promises');
    const indexed = async (asset: string): Promise<number> =>
      Object.keys(
        JSON.parse(await readFile(join(env.STATE_DIR!, 'index', `${asset}.json`), 'utf8').catch(() => '{}')),
      ).length;
    const done = (await indexed('total_bikes')) + (await indexed('per_city')) + (await indexed('country'));
    expect(done).toBeGreaterThanOrEqual(2);
    expect(done).toBeLessThan(UNITS);
    const second = await coordinator(env).done;
    expect(second.code, second.stderr).toBe(0);
    expect(summary(second)).toMatchObject({ status: 'success', materialized: UNITS - done, failed: 0 });
    expect(await files(env.OUTPUT_DIR!)).toEqual(reference);
    await Promise.all(ws.map(stop));
  }, 90_000);

  it('a worker of another build: a clear error in the run, not retried, nothing computed', async () => {
    const other = await slowProject(true);
    try {
      const env = envOf('version');
      const w = await worker(env, other);
      const r = await coordinator(env).done;
      expect(r.code).toBe(1);
      const s = summary(r);
      expect(s.status).toBe('failed');
      expect(r.stderr).toMatch(
        /total_bikes\[all\].*code version differs between the coordinator \(\S+\) and worker \d+ \(\S+\): run every worker on the same project build/,
      );
      const events = await runEvents(env.STATE_DIR!, s.runId);
      expect(events.filter((e) => e.type === 'retry')).toEqual([]);
      expect(events.some((e) => e.type === 'failed' && /code version differs/.test(JSON.stringify(e)))).toBe(
        true,
      );
      expect(w.err()).not.toMatch(/: start /);
      const why = await start(['why', 'total_bikes'], env, dir).done;
      expect(why.stdout).toMatch(/last failure .*code version differs/);
      await stop(w);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  }, 60_000);

  it('forged jobs (a path as partition, malformed data) are refused by the worker, nothing written', async () => {
    const env = envOf('forged');
    const w = await worker(env);
    const connection = bullConnection(redis.url);
    const queue = new Queue('forged', { connection });
    const events = new QueueEvents('forged', { connection });
    await events.waitUntilReady();
    const job = (partitions: string[], asset = 'per_city') => ({
      job: { runId: 'r1', asset, partitions, attempt: 1, inputVersions: {}, upstreamNoData: {} },
      codeVersion: 'x',
    });
    const failure = (id: string) =>
      new Promise<string>((resolve) =>
        events.on('failed', ({ jobId, failedReason }) => jobId === id && resolve(failedReason)),
      );
    try {
      const a = failure('a');
      await queue.add('per_city', job(['../../../tmp/x']), { jobId: 'a' });
      expect(await a).toMatch(/not a partition of per_city: "..\/..\/..\/tmp\/x" is not one of the keys/);
      const b = failure('b');
      await queue.add('x', job(['all'], 'Bad-Key'), { jobId: 'b' });
      expect(await b).toMatch(/malformed job data \(job\.asset: /);
      const c = failure('c');
      await queue.add('x', { job: 'nonsense' }, { jobId: 'c' });
      expect(await c).toMatch(/malformed job data/);
      expect(w.err()).not.toMatch(/: start /);
      expect((await files(env.OUTPUT_DIR!)).size).toBe(0);
    } finally {
      await events.close();
      await queue.close();
      await stop(w);
    }
  }, 60_000);

  it('Ctrl-C on the coordinator: the waiting jobs leave the queue, the running one is aborted on its worker, exit 130', async () => {
    const env = envOf('ctrlc', { SLOW_MS: '20000' });
    const w = await worker(env);
    const run = coordinator(env);
    await w.waitFor(/start per_city\[/);
    await new Promise((r) => setTimeout(r, 300)); // the other per_city jobs are in the queue by now
    const t0 = Date.now();
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    // The running unit (20 s) was aborted on the worker, not waited for.
    expect(Date.now() - t0).toBeLessThan(10_000);
    await w.waitFor(/failed \(per_city \w+ aborted\) per_city\[/, 5_000);
    expect(summary(r).status).toBe('cancelled');
    const waiting = await promisify(execFile)('redis-cli', [
      '-p',
      String(redis.port),
      'LLEN',
      'bull:ctrlc:wait',
    ]);
    expect(waiting.stdout.trim()).toBe('0');
    await new Promise((res) => setTimeout(res, 1500));
    expect((w.err().match(/start per_city\[/g) ?? []).length).toBe(1);
    expect((await stop(w)).code).toBe(0);
  }, 60_000);

  it('Redis stopped mid-run: the coordinator says so and fails (no stack); after a restart a resume completes', async () => {
    const env = envOf('redis-lost', { SLOW_MS: '1500', QUEUE_REDIS_LOST_MS: '1000' });
    const ws = await Promise.all([1, 2].map(() => worker(env)));
    const run = coordinator(env);
    await firstToStart(ws);
    await redis.stop();
    const r = await run.done;
    await redis.restart();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /pipeline: Redis at redis:\/\/127\.0\.0\.1:\d+ lost mid-run .*run materialize again once Redis is back/,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(summary(r).status).toBe('failed');
    // The workers reconnect by themselves; the resume builds the rest.
    const again = await coordinator(env).done;
    expect(again.code, again.stderr).toBe(0);
    expect(summary(again).status).toBe('success');
    expect(await files(env.OUTPUT_DIR!)).toEqual(reference);
    await Promise.all(ws.map(stop));
  }, 120_000);
});
