import type { Executor } from '../../engine/index.ts';
import { runConcurrency, type Config } from '../config.ts';
import type { Runtime } from '../runtime.ts';
import { loadQueueSettings, shownRedisUrl } from './settings.ts';

export interface RunExecutor {
  /** The queue executor with EXECUTOR=queue (close it after the run), else undefined: in-process. */
  executor?: Executor & { readonly lost?: string; close(): Promise<void> };
  /** Units (jobs) at once, and where that number comes from. */
  concurrency: { value: number; from: string };
  /** One line saying where units compute, with EXECUTOR=queue. */
  describe?: string;
}

/**
 * Where a run's units compute, for `pipeline materialize` and runs started from `pipeline ui`: in this
 * process, or (EXECUTOR=queue) by `pipeline worker` processes through BullMQ — connected here, so an
 * unreachable Redis is a configuration error before any lock is taken or anything runs.
 */
export async function runExecutor(
  rt: Pick<Runtime, 'defs'> & { config: Config },
  runId: string,
  flag?: number,
): Promise<RunExecutor> {
  const queue = loadQueueSettings();
  if (queue.executor !== 'queue') return { concurrency: runConcurrency(rt.config, flag) };
  const { QueueExecutor } = await import('./executor.ts');
  const executor = await QueueExecutor.connect(queue, rt.defs, runId);
  // Jobs in the queue at once: the workers bound what computes, not this machine's CPU count.
  const concurrency =
    flag === undefined && rt.config.pipelineConcurrencyFrom === 'CPU count'
      ? { value: queue.inFlight, from: 'QUEUE_IN_FLIGHT' }
      : runConcurrency(rt.config, flag);
  return {
    executor,
    concurrency,
    describe: `Units run by BullMQ workers (pipeline worker): queue ${queue.queueName} at ${shownRedisUrl(queue.redisUrl)}`,
  };
}
