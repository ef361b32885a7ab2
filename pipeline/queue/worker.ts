import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { runUnit, validatePartitionKey, type UnitResult } from '../../engine/index.ts';
import { maskSecrets } from '../../engine/redact.ts';
import { exitCodeFor } from '../interrupt.ts';
import type { Log } from '../log.ts';
import type { Runtime } from '../runtime.ts';
import { bullConnection, connectRedis } from './connection.ts';
import {
  CANCELLED_PREFIX,
  TRANSIENT_PREFIX,
  cancelChannel,
  parseJobData,
  runKeys,
  type QueueJobData,
  type QueueMessage,
} from './protocol.ts';
import { shownRedisUrl, type QueueSettings } from './settings.ts';

/**
 * `pipeline worker`: takes jobs from the queue and runs each with the same unit runner as in-process,
 * on the definitions of the project config it loaded itself (like any other command). Events and
 * reports go back as job progress, the result as the job's return value. Refused without running: a
 * job whose asset has another code version here than in the coordinator (a different build), a job of
 * a cancelled run, a job whose coordinator is gone. SIGINT/SIGTERM: no new job, the running ones finish,
 * exit 0; a second signal quits at once (the jobs then stall and go to another worker).
 */
export async function runWorker(
  rt: Runtime,
  settings: QueueSettings,
  concurrency: number,
  log: Log,
): Promise<void> {
  const redisUrl = settings.redisUrl!;
  const redis = await connectRedis(redisUrl);
  const subscriber = await connectRedis(redisUrl);
  const connection = bullConnection(redisUrl);
  const tag = `worker ${process.pid}`;

  const processor = async (job: Job, _token?: string, signal?: AbortSignal): Promise<UnitResult> => {
    const data = parseJobData(job.data);
    if (typeof data === 'string') throw new UnrecoverableError(`job ${job.id}: ${data}`);
    const { job: unit, codeVersion } = data;
    const asset = rt.defs.graph.order.includes(unit.asset) ? rt.defs.graph.get(unit.asset) : undefined;
    const where = `${unit.asset}[${unit.partitions.length === 1 ? unit.partitions[0] : `${unit.partitions.length} partitions`}]`;
    if (!asset || asset.kind === 'source')
      throw new UnrecoverableError(`${where}: this worker's project (${rt.project.file}) has no such asset`);
    // Partition keys end up in storage keys and file names: only the asset's own partitions are run
    // (with two days of slack for the last one: the coordinator's clock may be ahead of this one).
    for (const p of unit.partitions) {
      const bad = validatePartitionKey(asset.partitions, p, Date.now() + 2 * 86_400_000);
      if (bad) throw new UnrecoverableError(`${where}: not a partition of ${unit.asset}: ${bad}`);
    }
    if (asset.codeVersion !== codeVersion)
      throw new UnrecoverableError(
        `${where}: code version differs between the coordinator (${codeVersion}) and worker ${process.pid} ` +
          `(${asset.codeVersion}): run every worker on the same project build as the coordinator`,
      );
    const keys = runKeys(settings.queueName, unit.runId);
    const [cancelled, alive] = (await Promise.all([
      redis.exists(keys.cancelled),
      redis.exists(keys.alive),
    ]).catch((err: unknown) => {
      throw new Error(
        `${TRANSIENT_PREFIX}worker ${process.pid} could not reach Redis (${(err as Error).message})`,
      );
    })) as [number, number];
    if (cancelled) throw new UnrecoverableError(`${CANCELLED_PREFIX}run ${unit.runId} was cancelled`);
    if (!alive)
      throw new UnrecoverableError(
        `${where}: the coordinator of run ${unit.runId} is gone (no heartbeat): job dropped; materialize again to build what is missing`,
      );

    log.info(`${tag}: start ${where} attempt ${unit.attempt} (run ${unit.runId})`);
    const t0 = Date.now();
    let chain: Promise<unknown> = Promise.resolve();
    let sendError: unknown;
    const send = (m: QueueMessage): Promise<unknown> =>
      (chain = chain
        .then(() => job.updateProgress(m as unknown as object))
        .catch((err: unknown) => {
          sendError ??= err;
        }));
    // Quarantine files go under this worker's own OUTPUT_DIR: a path from Redis is not trusted.
    const { quarantineDir: _theirs, ...rest } = unit;
    const result = await runUnit(
      rt.defs,
      { ...rest, ...(unit.quarantineDir !== undefined && { quarantineDir: rt.quarantineDir }) },
      {
        signal: signal ?? new AbortController().signal,
        event: (e) => void send({ t: 'event', e }),
        report: async (r) => {
          await send({ t: 'report', r });
          if (sendError) throw sendError;
        },
      },
    );
    await chain;
    if (sendError) throw sendError;
    log.info(
      `${tag}: ${result.status === 'done' ? 'done' : `failed (${maskSecrets(result.error.message)})`} ${where} in ${Date.now() - t0} ms`,
    );
    return result;
  };

  const worker = new Worker<QueueJobData, UnitResult>(settings.queueName, processor, {
    connection,
    concurrency,
    lockDuration: settings.lockMs,
    stalledInterval: settings.stalledIntervalMs,
    maxStalledCount: settings.maxStalled,
    autorun: false,
  });
  let lastError = '';
  worker.on('error', (err) => {
    const msg = maskSecrets(err.message);
    if (msg !== lastError) log.warn(`${tag}: ${msg}`);
    lastError = msg;
  });
  worker.on('failed', (job, err) => {
    if (job) log.warn(`${tag}: job ${job.id} refused: ${maskSecrets(err.message)}`);
  });

  // The coordinator names jobs to abort (Ctrl-C on it) on a channel.
  subscriber.on('message', (_channel: string, jobId: string) =>
    worker.cancelJob(jobId, 'the run was cancelled'),
  );
  await subscriber.subscribe(cancelChannel(settings.queueName));

  const stopped = new Promise<void>((resolve) => {
    let received: NodeJS.Signals | undefined;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (received) process.exit(exitCodeFor(sig));
      received = sig;
      log.info(`${tag}: ${sig}: taking no new job, finishing the running ones (again to quit now)`);
      void worker.close().then(resolve, resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  void worker.run();
  await worker.waitUntilReady();
  log.info(
    `Worker ${process.pid} ready: queue ${settings.queueName} at ${shownRedisUrl(redisUrl)}, concurrency ${concurrency}, ` +
      `lock ${settings.lockMs} ms, stalled check every ${settings.stalledIntervalMs} ms`,
  );
  await stopped;
  subscriber.disconnect();
  redis.disconnect();
  log.info(`${tag}: stopped`);
}
