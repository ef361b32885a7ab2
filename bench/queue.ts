/**
 * The queue executor (BullMQ on a local redis-server, test/servers/redis.ts): units per second for 1, 2
 * and 4 `pipeline worker` processes (concurrency 1 each) on a graph of CPU-bound units, and the queue's
 * overhead per unit against the in-process executor (no-op units, one at a time on both sides).
 * Run: npm run bench:queue   (BENCH_UNITS, BENCH_BURN_MS, BENCH_NOOP_UNITS to change the sizes)
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { bullConnection } from '../pipeline/queue/connection.ts';
import { startRedis } from '../test/servers/redis.ts';
import { start, startWorker, stop, summary, type Proc } from '../test/queue/helpers.ts';

const UNITS = Number(process.env.BENCH_UNITS ?? 32);
const BURN_MS = Number(process.env.BENCH_BURN_MS ?? 100);
const NOOP_UNITS = Number(process.env.BENCH_NOOP_UNITS ?? 200);

/** Loop iterations that take BURN_MS of CPU here (measured once, in this process, before anything runs). */
const ITERS = (() => {
  const n = 2e7;
  const t0 = process.hrtime.bigint();
  let x = 1;
  for (let i = 0; i < n; i++) x = (x * 31 + i) | 0;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 + (x === 0.5 ? 1 : 0);
  return Math.round((n / ms) * BURN_MS);
})();

/** A project: `burn` (UNITS static partitions, each a fixed CPU loop of ~BURN_MS) and `noop` (NOOP_UNITS). */
async function project(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cityflow-bench-queue-'));
  await mkdir(join(dir, 'data', 'x'), { recursive: true });
  await writeFile(join(dir, 'data', 'x', 'x.csv'), 'x\n');
  await mkdir(join(dir, 'node_modules'));
  await symlink(join(import.meta.dirname, '..', 'node_modules', 'zod'), join(dir, 'node_modules', 'zod'));
  const keys = (n: number, p: string) => JSON.stringify(Array.from({ length: n }, (_, i) => `${p}${i}`));
  await writeFile(
    join(dir, 'cityflow.config.ts'),
    `import { z } from 'zod';
import { defineAsset, staticPartitions } from 'cityflow';
import { defineConfig } from 'cityflow/config';
const burn = defineAsset({
  key: 'burn',
  partitions: staticPartitions(${keys(UNITS, 'b')}),
  schema: z.number(),
  compute: (_, ctx) => {
    let x = ctx.partitionKey.length;
    for (let i = 0; i < ${ITERS}; i++) x = (x * 31 + i) | 0;
    return x;
  },
});
const noop = defineAsset({
  key: 'noop',
  partitions: staticPartitions(${keys(NOOP_UNITS, 'n')}),
  schema: z.number(),
  compute: (_, ctx) => ctx.partitionKey.length,
});
export default defineConfig({ assets: [burn, noop] });
`,
  );
  return dir;
}

/** BullMQ alone, in this process: add a job, a worker runs it (one progress update), wait for 'completed'. */
async function bullRoundTrip(url: string, n: number): Promise<number> {
  const connection = bullConnection(url);
  const queue = new Queue('bench-rtt', { connection });
  const events = new QueueEvents('bench-rtt', { connection });
  await events.waitUntilReady();
  const worker = new Worker(
    'bench-rtt',
    async (job) => {
      await job.updateProgress({ t: 'report' });
      return 1;
    },
    { connection },
  );
  await worker.waitUntilReady();
  const waiting = new Map<string, () => void>();
  events.on('completed', ({ jobId }) => waiting.get(jobId)?.());
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const done = new Promise<void>((resolve) => waiting.set(`j${i}`, resolve));
    await queue.add('x', {}, { jobId: `j${i}` });
    await done;
  }
  const ms = (performance.now() - t0) / n;
  await worker.close();
  await events.close();
  await queue.close();
  return ms;
}

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

async function main(): Promise<void> {
  const redis = await startRedis();
  const dir = await project();
  const base = { HOME: dir, OUTPUT_DIR: join(dir, 'out'), STATE_DIR: join(dir, 'state'), LOG_LEVEL: 'warn' };
  const queued = { ...base, REDIS_URL: redis.url, EXECUTOR: 'queue' };
  const run = async (env: NodeJS.ProcessEnv, select: string, extra: string[] = []): Promise<number> => {
    const r = await start(
      ['materialize', '--select', select, '--force', '--no-tui', '--json', ...extra],
      env,
      dir,
    ).done;
    if (r.code !== 0) throw new Error(`materialize failed (${r.code}): ${r.stderr}`);
    return (summary(r) as unknown as { durationMs: number }).durationMs;
  };
  const lines: string[] = [];
  const say = (l: string): void => {
    lines.push(l);
    console.log(l);
  };
  try {
    say(
      `node ${process.version}, ${availableParallelism()} cores, load average ${load()} (start); ` +
        `${UNITS} CPU-bound units of ~${BURN_MS} ms CPU (${ITERS} loop iterations), ${NOOP_UNITS} no-op units`,
    );
    await run(base, 'noop'); // warm the config build cache
    const local1 = await run(base, 'burn', ['--concurrency', '1']);
    const localN = await run(base, 'burn', ['--concurrency', String(availableParallelism())]);
    say(
      `in-process: ${((UNITS / local1) * 1000).toFixed(2)} units/s at concurrency 1, ` +
        `${((UNITS / localN) * 1000).toFixed(2)} units/s at concurrency ${availableParallelism()}`,
    );
    for (const n of [1, 2, 4]) {
      const workers: Proc[] = await Promise.all(
        Array.from({ length: n }, () => startWorker({ ...queued, LOG_LEVEL: 'info' }, dir, 1)),
      );
      const ms = await run(queued, 'burn');
      await Promise.all(workers.map(stop));
      say(`queue, ${n} worker${n > 1 ? 's' : ''}: ${((UNITS / ms) * 1000).toFixed(2)} units/s (${ms} ms)`);
    }
    // Overhead: no-op units one at a time, in-process vs through the queue with one worker.
    const localNoop = await run(base, 'noop', ['--concurrency', '1']);
    const w = await startWorker({ ...queued, LOG_LEVEL: 'info' }, dir, 1);
    const queueNoop = await run(queued, 'noop', ['--concurrency', '1']);
    const queueNoopParallel = await run(queued, 'noop');
    await stop(w);
    say(
      `overhead: in-process ${(localNoop / NOOP_UNITS).toFixed(2)} ms/unit, queue ${(queueNoop / NOOP_UNITS).toFixed(2)} ms/unit ` +
        `one at a time → queue overhead ${((queueNoop - localNoop) / NOOP_UNITS).toFixed(2)} ms/unit ` +
        `(target < 10); ${(queueNoopParallel / NOOP_UNITS).toFixed(2)} ms/unit with 64 jobs in flight`,
    );
    const rtt = await bullRoundTrip(redis.url, NOOP_UNITS);
    say(`BullMQ alone (one process, add → run → completed, one job at a time): ${rtt.toFixed(2)} ms/job`);
    say(`load average ${load()} (end)`);
  } finally {
    await redis.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
