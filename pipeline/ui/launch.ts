/**
 * Runs started from the UI: the same path as `pipeline materialize` — preflight checks, `planAndLock`
 * (plan, lock the units it builds through `rt.lockForRun`, plan again if needed), `execute` with the run
 * log (units computed in this process, or by BullMQ workers with EXECUTOR=queue) — with an
 * AbortController for the cancel button (units in flight finish their writes; the run is recorded as
 * cancelled, as on Ctrl-C).
 */
import { execute, newRunId } from '../../engine/index.ts';
import { planAndLock } from '../run-locks.ts';
import { checkDatabaseReady, checkRawInput } from '../preflight.ts';
import { runExecutor } from '../queue/run-executor.ts';
import type { Runtime } from '../runtime.ts';
import type { LaunchRequest } from './params.ts';

export interface ActiveRun {
  runId: string;
  /** `waiting`: planning and waiting for the unit locks (another run holds some), `running`, then `done` or `error` (before any unit). */
  phase: 'waiting' | 'planning' | 'running' | 'done' | 'error';
  error?: string;
  controller: AbortController;
  done: Promise<void>;
}

export class Launcher {
  private readonly active = new Map<string, ActiveRun>();

  constructor(
    private readonly rt: Runtime,
    private readonly log: (msg: string) => void,
    /** Who launches, first word of the runs' recorded command (`ui materialize …`, `daemon materialize …`). */
    private readonly origin = 'ui',
  ) {}

  get(runId: string): ActiveRun | undefined {
    return this.active.get(runId);
  }

  list(): ActiveRun[] {
    return [...this.active.values()];
  }

  launch(req: LaunchRequest): ActiveRun {
    const runId = newRunId();
    const controller = new AbortController();
    const run: ActiveRun = { runId, phase: 'waiting', controller, done: Promise.resolve() };
    run.done = this.run(run, req).catch((err: unknown) => {
      run.phase = 'error';
      run.error = controller.signal.aborted ? 'cancelled before any unit ran' : (err as Error).message;
      this.log(`${this.origin} run ${runId}: ${run.error}`);
    });
    this.active.set(runId, run);
    return run;
  }

  /** Aborts a run started here; false when this process has no such run in progress. */
  cancel(runId: string): boolean {
    const run = this.active.get(runId);
    if (!run || run.phase === 'done' || run.phase === 'error') return false;
    run.controller.abort();
    return true;
  }

  async close(): Promise<void> {
    for (const r of this.active.values()) r.controller.abort();
    await Promise.all([...this.active.values()].map((r) => r.done));
  }

  private async run(run: ActiveRun, req: LaunchRequest): Promise<void> {
    const { rt } = this;
    const signal = run.controller.signal;
    await checkRawInput(rt.config, signal);
    await checkDatabaseReady(rt.config, process.env, signal);
    // EXECUTOR=queue: BullMQ workers compute, as for `pipeline materialize` (Redis unreachable: an error now).
    const where = await runExecutor(rt, run.runId, req.concurrency);
    let release: (() => Promise<void>) | undefined;
    try {
      run.phase = 'planning';
      // Plans, locks the units it builds (waiting for runs holding some), plans again if needed — with
      // the index as written by the other runs (of any process).
      const locked = await planAndLock(
        rt,
        { all: !req.select, select: req.select, exclude: req.exclude, ...range(req), force: req.force },
        run.runId,
        (m) => this.log(m),
        signal,
      );
      release = locked.release;
      const { p, state } = locked;
      if (signal.aborted) throw new Error('cancelled');
      run.phase = 'running';
      const command = [this.origin, 'materialize', req.select ? `--select ${req.select}` : '--all']
        .concat(req.exclude ? [`--exclude ${req.exclude}`] : [])
        .concat(req.partition ? [`--partition ${req.partition}`] : [])
        .concat(req.from ? [`--from ${req.from}`] : [], req.to ? [`--to ${req.to}`] : [])
        .concat(req.force ? ['--force'] : [])
        .join(' ');
      await execute(rt.defs, state, p, {
        runId: run.runId,
        command,
        concurrency: where.concurrency.value,
        signal,
        quarantineDir: rt.quarantineDir,
        ...(where.executor && { executor: where.executor }),
      });
      if (where.executor?.lost) this.log(`${this.origin} run ${run.runId}: ${where.executor.lost}`);
      run.phase = 'done';
    } finally {
      await where.executor?.close();
      await release?.();
    }
  }
}

const range = (r: { partition?: string; from?: string; to?: string }) => ({
  ...(r.partition && { partition: r.partition }),
  ...(r.from && { from: r.from }),
  ...(r.to && { to: r.to }),
});
