import { Queue, QueueEvents } from 'bullmq';
import {
  unitError,
  type Definitions,
  type Executor,
  type UnitError,
  type UnitHooks,
  type UnitJob,
  type UnitResult,
} from '../../engine/index.ts';
import { bullConnection, connectRedis, dropBullConnections } from './connection.ts';
import {
  CANCELLED_PREFIX,
  TRANSIENT_PREFIX,
  cancelChannel,
  queueJobId,
  runKeys,
  type QueueJobData,
  type QueueMessage,
} from './protocol.ts';
import type { Redis } from 'ioredis';
import { shownRedisUrl, type QueueSettings } from './settings.ts';

interface Tracked {
  hooks: UnitHooks;
  /** Messages of the job, handled one after the other (a report is recorded before what follows it). */
  chain: Promise<void>;
  /** Partitions already recorded: a stalled job run again by another worker reports them again. */
  seen: Set<string>;
  settle(r: UnitResult): void;
  settled: boolean;
}

/** BullMQ's reason for a job whose workers kept dying (its lock expired more than maxStalledCount times). */
const STALLED = /stalled more than allowable limit/i;

/**
 * The coordinator's side of the queue executor: each job the scheduler hands over becomes a BullMQ job
 * (id: run + asset + partitions + attempt), and what the worker running it sends back — events and
 * per-partition reports as job progress, the UnitResult as the job's return value — comes back through
 * one QueueEvents stream, in order, and goes to the scheduler's hooks (which record it). Redis lost
 * for longer than QUEUE_REDIS_LOST_MS fails every job in flight and every later one: the run ends failed.
 */
export class QueueExecutor implements Executor {
  readonly name = 'queue';
  private readonly tracked = new Map<string, Tracked>();
  private lostReason: string | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private lostTimer: NodeJS.Timeout | undefined;
  private cancelledRun = false;
  private closed = false;

  private constructor(
    private readonly settings: QueueSettings & { redisUrl: string },
    private readonly defs: Definitions,
    private readonly runId: string,
    private readonly queue: Queue,
    private readonly events: QueueEvents,
    private readonly redis: Redis,
  ) {}

  /** Connects (a QueueConnectError, exit 2, when Redis cannot be reached) and starts the run's heartbeat. */
  static async connect(settings: QueueSettings, defs: Definitions, runId: string): Promise<QueueExecutor> {
    const redisUrl = settings.redisUrl!;
    const redis = await connectRedis(redisUrl);
    const connection = bullConnection(redisUrl);
    const queue = new Queue<QueueJobData>(settings.queueName, {
      connection,
      streams: { events: { maxLen: 100_000 } },
      defaultJobOptions: {
        attempts: 1, // the scheduler retries (attempt is part of the job id), as for in-process units
        removeOnComplete: { age: 24 * 3600 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    });
    await queue.waitUntilReady();
    // Follow the queue's events from now on (not from whenever QueueEvents' first read happens).
    const last = await redis.xrevrange(queue.keys.events!, '+', '-', 'COUNT', 1);
    const events = new QueueEvents(settings.queueName, { connection, lastEventId: last?.[0]?.[0] ?? '0-0' });
    await events.waitUntilReady();
    const ex = new QueueExecutor({ ...settings, redisUrl }, defs, runId, queue, events, redis);
    ex.listen();
    await ex.beat();
    ex.heartbeat = setInterval(() => void ex.beat(), Math.max(500, ex.aliveMs() / 3));
    ex.watch(redis);
    return ex;
  }

  /** Why the run cannot go on (Redis lost), if so. */
  get lost(): string | undefined {
    return this.lostReason;
  }

  async run(job: UnitJob, hooks: UnitHooks): Promise<UnitResult> {
    if (this.lostReason) return failed(this.lostReason);
    if (hooks.signal.aborted) return { status: 'failed', error: abortError('the run was cancelled') };
    const jobId = queueJobId(job);
    const data: QueueJobData = { job, codeVersion: this.defs.graph.get(job.asset).codeVersion };
    const result = new Promise<UnitResult>((resolve) => {
      const t: Tracked = {
        hooks,
        chain: Promise.resolve(),
        seen: new Set(),
        settled: false,
        settle: (r) => {
          if (t.settled) return;
          t.settled = true;
          this.tracked.delete(jobId);
          hooks.signal.removeEventListener('abort', onAbort);
          resolve(r);
        },
      };
      const onAbort = (): void => void this.cancel(jobId, t);
      this.tracked.set(jobId, t);
      hooks.signal.addEventListener('abort', onAbort);
    });
    try {
      await this.queue.add(job.asset, data, { jobId });
    } catch (err) {
      this.tracked
        .get(jobId)
        ?.settle(failed(this.lostReason ?? `could not enqueue: ${unitError(err).message}`));
    }
    return result;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.lostTimer);
    const work = (async () => {
      if (!this.lostReason) await this.redis.del(runKeys(this.settings.queueName, this.runId).alive);
      await this.events.close();
      await this.queue.close();
    })().catch(() => undefined);
    // Redis gone: do not wait for BullMQ's reconnection attempts.
    await Promise.race([work, new Promise((r) => setTimeout(r, this.lostReason ? 500 : 10_000).unref())]);
    if (this.lostReason) dropBullConnections();
    this.redis.disconnect();
  }

  private listen(): void {
    // Connection errors: BullMQ reconnects by itself; a lasting loss is handled by `watch` (one line).
    this.queue.on('error', () => undefined);
    this.events.on('error', () => undefined);
    this.events.on('progress', ({ jobId, data }) => {
      const t = this.tracked.get(jobId);
      if (!t) return;
      t.chain = t.chain.then(() => this.handle(t, data as unknown as QueueMessage));
    });
    this.events.on('completed', ({ jobId, returnvalue }) => {
      const t = this.tracked.get(jobId);
      if (!t) return;
      t.chain = t.chain.then(() => t.settle(asResult(returnvalue)));
    });
    this.events.on('failed', ({ jobId, failedReason }) => {
      const t = this.tracked.get(jobId);
      if (!t) return;
      t.chain = t.chain.then(() => t.settle({ status: 'failed', error: reasonError(failedReason) }));
    });
  }

  private async handle(t: Tracked, m: QueueMessage): Promise<void> {
    if (t.settled || !m || typeof m !== 'object') return;
    if (m.t === 'event') return t.hooks.event(m.e);
    if (m.t !== 'report' || t.seen.has(m.r.partition)) return; // a stalled job's re-run reports again
    t.seen.add(m.r.partition);
    try {
      await t.hooks.report(m.r);
    } catch (err) {
      // Recording failed: the unit fails here as it would in-process (the worker's result is ignored).
      t.settle({ status: 'failed', error: unitError(err) });
    }
  }

  /** Ctrl-C: a waiting job is removed from the queue; a running one is aborted on its worker. */
  private async cancel(jobId: string, t: Tracked): Promise<void> {
    const keys = runKeys(this.settings.queueName, this.runId);
    try {
      if (!this.cancelledRun) {
        this.cancelledRun = true;
        await this.redis.set(keys.cancelled, '1', 'PX', 24 * 3600_000);
      }
      let removed = 0;
      try {
        removed = await this.queue.remove(jobId);
      } catch {
        removed = 0; // locked by a worker: running
      }
      if (removed) return t.settle({ status: 'failed', error: abortError('removed from the queue') });
      await this.redis.publish(cancelChannel(this.settings.queueName), jobId);
    } catch {
      // Redis gone: the loss handling fails the job.
    }
    // A worker that does not answer (dead, or Redis lost) does not hold the run forever.
    setTimeout(
      () => t.settle({ status: 'failed', error: abortError('no answer from its worker') }),
      this.settings.lockMs * 2 + 2_000,
    ).unref();
  }

  private aliveMs(): number {
    return Math.max(15_000, this.settings.lockMs * 3);
  }

  private async beat(): Promise<void> {
    if (this.lostReason || this.redis.status !== 'ready') return;
    const { alive } = runKeys(this.settings.queueName, this.runId);
    await this.redis.set(alive, '1', 'PX', this.aliveMs()).catch(() => undefined);
  }

  /**
   * Our own connection tells when Redis goes away (ioredis reconnects it every 250 ms): not back
   * within QUEUE_REDIS_LOST_MS → the run fails.
   */
  private watch(client: Redis): void {
    let why = 'connection closed';
    client.on('error', (err: Error) => (why = err.message));
    client.on('close', () => {
      if (this.closed || this.lostReason || this.lostTimer) return;
      this.lostTimer = setTimeout(() => this.lose(why), this.settings.lostAfterMs);
    });
    client.on('ready', () => {
      clearTimeout(this.lostTimer);
      this.lostTimer = undefined;
      void this.beat();
    });
  }

  private lose(why: string): void {
    if (this.lostReason) return;
    this.lostReason =
      `Redis at ${shownRedisUrl(this.settings.redisUrl)} lost mid-run (${why}; not back within ` +
      `${this.settings.lostAfterMs} ms): the run stops; run materialize again once Redis is back (only what is missing runs)`;
    for (const t of [...this.tracked.values()]) t.settle(failed(this.lostReason));
  }
}

const failed = (message: string): UnitResult => ({
  status: 'failed',
  error: { message, transient: false, abort: false },
});

const abortError = (why: string): UnitError => ({
  message: `cancelled (${why})`,
  transient: false,
  abort: true,
});

/** A job's return value: the worker's UnitResult (BullMQ deserializes it; older versions gave JSON text). */
function asResult(v: unknown): UnitResult {
  const r = typeof v === 'string' ? (JSON.parse(v) as unknown) : v;
  if (r && typeof r === 'object' && 'status' in r) return r as UnitResult;
  return failed(`the worker returned no result (${JSON.stringify(r)})`);
}

/** A job BullMQ failed (not the unit: the unit's own errors come back as its result). */
function reasonError(reason: string): UnitError {
  if (reason.startsWith(CANCELLED_PREFIX)) return { message: reason, transient: false, abort: true };
  if (reason.startsWith(TRANSIENT_PREFIX))
    return { message: reason.slice(TRANSIENT_PREFIX.length), transient: true, abort: false };
  if (STALLED.test(reason))
    return {
      message: `its workers stopped answering (killed or frozen) more times than QUEUE_MAX_STALLED allows: ${reason}`,
      transient: true,
      abort: false,
    };
  return { message: reason, transient: false, abort: false };
}
