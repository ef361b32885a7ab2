import { Worker } from 'node:worker_threads';
import {
  unitError,
  type Executor,
  type UnitHooks,
  type UnitJob,
  type UnitResult,
} from '../../engine/index.ts';
import type { FromWorker, ToWorker, WorkerData } from './protocol.ts';

/**
 * A second executor, to prove the seam: units compute in a pool of `worker_threads`, each loading the
 * definitions from a module URL. Only plain data crosses: the job out; events, per-partition reports
 * (acknowledged once recorded here) and the result back. A queue executor would do the same over a queue.
 */
export class WorkerExecutor implements Executor {
  readonly name = 'worker-threads';
  private readonly idle: Worker[] = [];
  private readonly waiting: ((w: Worker) => void)[] = [];
  private readonly workers = new Set<Worker>();

  constructor(
    private readonly opts: WorkerData & {
      /** Threads at most (the scheduler's concurrency bounds the jobs in flight anyway). */
      size: number;
    },
  ) {}

  async run(job: UnitJob, hooks: UnitHooks): Promise<UnitResult> {
    const worker = await this.acquire();
    try {
      return await runOn(worker, job, hooks);
    } finally {
      this.release(worker);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.workers].map((w) => w.terminate()));
    this.workers.clear();
    this.idle.length = 0;
  }

  private async acquire(): Promise<Worker> {
    const free = this.idle.pop();
    if (free) return free;
    if (this.workers.size < this.opts.size) {
      const data: WorkerData = { definitions: this.opts.definitions, config: this.opts.config };
      const w = new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: data });
      w.on('exit', () => this.workers.delete(w));
      this.workers.add(w);
      return w;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(w: Worker): void {
    if (!this.workers.has(w)) return; // it died: the next job starts another
    const next = this.waiting.shift();
    if (next) next(w);
    else this.idle.push(w);
  }
}

/** Sends one job to a worker and relays what comes back until it is done (or the worker dies). */
function runOn(worker: Worker, job: UnitJob, hooks: UnitHooks): Promise<UnitResult> {
  const send = (m: ToWorker): void => worker.postMessage(m);
  return new Promise((resolve) => {
    const onMessage = (m: FromWorker): void => {
      if (m.type === 'event') hooks.event(m.event);
      else if (m.type === 'report')
        hooks.report(m.report).then(
          () => send({ type: 'ack', seq: m.seq }),
          (err: unknown) => send({ type: 'ack', seq: m.seq, error: unitError(err) }),
        );
      else end(m.result);
    };
    const onError = (err: unknown): void => end({ status: 'failed', error: unitError(err) });
    const onExit = (code: number): void => onError(new Error(`worker exited (code ${code})`));
    const onAbort = (): void => send({ type: 'abort' });
    const end = (result: UnitResult): void => {
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      hooks.signal.removeEventListener('abort', onAbort);
      resolve(result);
    };
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    send({ type: 'job', job });
    if (hooks.signal.aborted) onAbort();
    else hooks.signal.addEventListener('abort', onAbort);
  });
}
