/**
 * The queue executor on the executor seam, in this process, against a real redis-server: the plan of
 * test/executor/fixture-defs.ts (hourly units with quarantine, a batch asset, a transient failure
 * retried, a failing day) run through BullMQ gives the result and state of an in-process run — even
 * when every report is delivered twice (fault injection: what a stalled job run again by a second
 * worker does), each partition is recorded once. Plus job ids: no ':' and a re-enqueue is a no-op.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  execute,
  newRunId,
  plan,
  runUnit,
  StateStore,
  type Executor,
  type RunEvent,
  type UnitResult,
} from '../../engine/index.ts';
import { bullConnection } from '../../pipeline/queue/connection.ts';
import { QueueExecutor } from '../../pipeline/queue/executor.ts';
import { queueJobId, type QueueJobData, type QueueMessage } from '../../pipeline/queue/protocol.ts';
import { loadQueueSettings } from '../../pipeline/queue/settings.ts';
import definitions, { writeFixtureData } from '../executor/fixture-defs.ts';
import { startRedis, type RunningRedis } from '../servers/redis.ts';

const DAYS = { from: '2025-11-03', to: '2025-11-04' };
const ASSETS = ['hourly_counts', 'daily_total', 'per_day', 'summary'];
let redis: RunningRedis;
let root: string;

beforeAll(async () => {
  redis = await startRedis();
  root = await mkdtemp(join(tmpdir(), 'cityflow-queue-seam-'));
});
afterAll(async () => {
  await redis?.close();
  await rm(root, { recursive: true, force: true });
});

async function project(name: string) {
  const dir = join(root, name);
  const data = join(dir, 'data');
  await writeFixtureData(data);
  const defs = definitions({ dataDir: data, outDir: join(dir, 'out'), failDay: '2025-11-03' });
  const state = new StateStore(join(dir, 'state'));
  const run = async (runId: string, executor?: Executor) => {
    const events: RunEvent[] = [];
    const p = await plan(defs, state, { selected: new Set(ASSETS), days: DAYS });
    const result = await execute(defs, state, p, {
      runId,
      concurrency: 3,
      ...(executor && { executor }),
      retry: { maxAttempts: 3, baseDelayMs: 1 },
      quarantineDir: join(dir, 'quarantine'),
      onEvent: (e) => void events.push(e),
    });
    return { result, events };
  };
  return { dir, defs, state, run };
}

const outcome = (events: RunEvent[]) =>
  events
    .filter((e) => e.type === 'materialized' || e.type === 'failed' || e.type === 'skipped')
    .map((e) => `${e.type} ${(e as { asset: string }).asset}[${(e as { partition: string }).partition}]`)
    .sort();

describe('QueueExecutor', () => {
  it('same result and state as in-process, each partition recorded once although every report arrives twice', async () => {
    const local = await project('local');
    const ref = await local.run(newRunId());

    const queued = await project('queued');
    const settings = loadQueueSettings({ REDIS_URL: redis.url, CITYFLOW_QUEUE: 'seam', EXECUTOR: 'queue' });
    const runId = newRunId();
    const executor = await QueueExecutor.connect(settings, queued.defs, runId);
    // A worker in this process that sends each report twice, as a stalled job run again would.
    let reports = 0;
    const worker = new Worker<QueueJobData, UnitResult>(
      'seam',
      async (job, _token, signal) => {
        const { job: unit } = job.data;
        return runUnit(queued.defs, unit, {
          signal: signal ?? new AbortController().signal,
          event: (e) => void job.updateProgress({ t: 'event', e } satisfies QueueMessage),
          report: async (r) => {
            reports++;
            await job.updateProgress({ t: 'report', r } satisfies QueueMessage);
            await job.updateProgress({ t: 'report', r } satisfies QueueMessage);
          },
        });
      },
      { connection: bullConnection(redis.url), concurrency: 3 },
    );
    try {
      const got = await queued.run(runId, executor);
      expect(got.result).toMatchObject({
        status: ref.result.status,
        materialized: ref.result.materialized,
        skipped: ref.result.skipped,
        noData: ref.result.noData,
        failed: ref.result.failed,
      });
      expect(ref.result.failed).toBeGreaterThan(0); // the failing day fails in both
      expect(outcome(got.events)).toEqual(outcome(ref.events));
      expect(got.events.filter((e) => e.type === 'retry').length).toBe(
        ref.events.filter((e) => e.type === 'retry').length,
      );
      const materialized = got.events.filter((e) => e.type === 'materialized').length;
      expect(reports).toBeGreaterThanOrEqual(materialized);
      expect(materialized).toBe(ref.result.materialized);
      // The stored state matches: same data versions per unit.
      for (const asset of ASSETS)
        for (const day of ['2025-11-03', '2025-11-04'])
          expect(queued.state.get(asset, day)?.dataVersion, `${asset}[${day}]`).toBe(
            local.state.get(asset, day)?.dataVersion,
          );
    } finally {
      await executor.close();
      await worker.close();
    }
  }, 60_000);

  it('job ids: no ":" (BullMQ forbids it), derived from run, asset, partitions and attempt; adding one twice is a no-op', async () => {
    const base = { runId: '20261204T230000000Z-abcdef', asset: 'per_city', attempt: 1 };
    expect(queueJobId({ ...base, partitions: ['2025-11-04T05'] })).toBe(
      '20261204T230000000Z-abcdef.per_city.2025-11-04T05.a1',
    );
    const odd = queueJobId({ ...base, partitions: ['a:b/c'] });
    expect(odd).not.toContain(':');
    expect(odd).not.toBe(queueJobId({ ...base, partitions: ['a:b/d'] }));
    expect(queueJobId({ ...base, partitions: ['x'], attempt: 2 })).not.toBe(
      queueJobId({ ...base, partitions: ['x'] }),
    );
    const queue = new Queue('ids', { connection: bullConnection(redis.url) });
    try {
      await queue.add('per_city', { n: 1 }, { jobId: odd });
      await queue.add('per_city', { n: 2 }, { jobId: odd });
      const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1);
      expect((await queue.getJob(odd))?.data).toEqual({ n: 1 });
    } finally {
      await queue.close();
    }
  }, 30_000);
});
