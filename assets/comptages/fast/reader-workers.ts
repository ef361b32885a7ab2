/**
 * The fast reader's worker threads: started on demand, kept for the whole read (the scan, then the
 * aggregation and any probe run on the same threads, modules already loaded and compiled), one job at
 * a time each, terminated by `close`.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WorkerTask } from './range-worker.ts';

/**
 * The worker file matches this module's own extension: compiled (pipeline/compile.mjs, …/reader.js)
 * spawns the plain JS worker directly; from the TypeScript sources (tsx, vitest) the worker first
 * registers tsx's loader, then imports range-worker.ts.
 */
const COMPILED = import.meta.url.endsWith('.js');
// Each URL written out in full (`new URL('./x', import.meta.url)`), so the asset's code version finds
// the worker module (engine/code-version.ts).
const WORKER_URL = COMPILED
  ? new URL('./range-worker.js', import.meta.url)
  : new URL('./range-worker.ts', import.meta.url);
/** Loader flags (`--import tsx`, `--loader …`) are not inherited by compiled workers: plain JS needs none. */
const LOADER_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);
const compiledExecArgv = (): string[] => {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.split('=')[0]!;
    if (LOADER_FLAGS.has(name)) {
      if (!a.includes('=')) i++; // skip the flag's value too
      continue;
    }
    out.push(a);
  }
  return out;
};

/**
 * A small young generation: the workers make little garbage (memo misses, rejects), and V8's default
 * lets it pile up between scavenges — ≈ 10–20 MB more peak RSS on a 6 GB read, same speed.
 */
const resourceLimits = { maxYoungGenerationSizeMb: 4 };

function spawn(): Worker {
  if (COMPILED) {
    try {
      return new Worker(WORKER_URL, { execArgv: compiledExecArgv(), resourceLimits });
    } catch (e) {
      // Process-wide flags (V8 heap sizes…) are refused per worker; they already apply to it anyway.
      if ((e as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
      return new Worker(WORKER_URL, { execArgv: [], resourceLimits });
    }
  }
  const tsxPackage = createRequire(import.meta.url).resolve('tsx/package.json');
  const api = new URL('./dist/esm/api/index.mjs', pathToFileURL(tsxPackage)).href;
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(boot, { eval: true, resourceLimits });
}

type Message<T> = { type: 'progress'; done: number } | { type: 'done'; result: T };

export class ReaderWorkers {
  private readonly workers: (Worker | undefined)[] = [];

  /** Runs a job on worker `i` (started if needed); `onProgress` receives scan progress. */
  run<T>(i: number, job: WorkerTask, onProgress: (done: number) => void = () => {}): Promise<T> {
    const worker = (this.workers[i] ??= this.start(i));
    return new Promise<T>((resolve, reject) => {
      const onMessage = (m: Message<T>): void => {
        if (m.type === 'progress') return onProgress(m.done);
        cleanup();
        resolve(m.result);
      };
      const onError = (e: Error): void => {
        cleanup();
        reject(e);
      };
      const onExit = (code: number): void => {
        cleanup();
        reject(new Error(`road-count worker exited with code ${code} before finishing`));
      };
      const cleanup = (): void => {
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      };
      worker.on('message', onMessage).once('error', onError).once('exit', onExit);
      worker.postMessage(job);
    });
  }

  /**
   * A new worker in slot `i`. A worker that fails or exits leaves its slot at once (its 'exit' can come
   * after the failed job's caller has moved on: the next job starts a new worker instead of being
   * posted to a dying one), and an error between jobs is not thrown at the process.
   */
  private start(i: number): Worker {
    const worker = spawn();
    const leave = (): void => {
      if (this.workers[i] === worker) this.workers[i] = undefined;
    };
    worker.on('error', leave).once('exit', leave);
    return worker;
  }

  /**
   * Stops the workers and waits until they are gone: their heaps are freed before the caller goes on
   * (the days are written next: without the wait, both were held at once — the read's peak RSS).
   */
  async close(): Promise<void> {
    const stopping = this.workers.map((w) => w?.terminate());
    this.workers.length = 0;
    await Promise.all(stopping);
  }
}
