/**
 * `pipeline daemon`: one long-running process that runs the automation evaluator (engine/automation) on
 * a timer and starts the runs it requests the way `pipeline materialize` does — through the UI's
 * `Launcher` (pipeline/ui/launch.ts: preflight checks, `planAndLock` — plan, lock the units it builds
 * through `rt.lockForRun`, plan again if needed — and `execute` with the run log), up to AUTOMATION_MAX_RUNS
 * runs at once (default 1).
 * Locks are per unit (engine/unit-locks.ts): its runs go on beside CLI or UI runs on other units, and
 * wait (they do not fail) for runs holding some of theirs. One daemon per state dir (`<STATE_DIR>/automation/daemon.lock`).
 *
 * Each evaluation's decisions are printed (one line each) and appended to
 * `<STATE_DIR>/automation/decisions.jsonl`; the cursor is stored after the runs it led to ended (not
 * when they were cancelled: a restart requests them again, and the planner skips what was done).
 * SIGTERM/SIGINT: the run in progress is cancelled (units in flight finish their writes), exit 0.
 */
import { setMaxListeners } from 'node:events';
import { join } from 'node:path';
import {
  acquireDirLock,
  appendLog,
  evaluateAutomation,
  newRunId,
  readCursor,
  StateStore,
  writeCursor,
  type AutomationLogRecord,
  type DecisionRecord,
  type RunRequest,
  type RunRecord,
} from '../../engine/index.ts';
import { maskSecrets } from '../../engine/redact.ts';
import { UsageError } from '../days.ts';
import { exitCodeFor } from '../interrupt.ts';
import type { Log } from '../log.ts';
import type { Runtime } from '../runtime.ts';
import { Launcher } from '../ui/launch.ts';
import type { DaemonSettings } from './settings.ts';

export const DAEMON_LOCK = 'daemon.lock';

export interface DaemonOptions extends DaemonSettings {
  log: Log;
  /** Evaluate once, run what it requests, and exit. */
  once?: boolean;
  /** Evaluate and log, start no run, store no cursor. */
  dryRun?: boolean;
  /** The clock (tests may inject one); default Date.now. */
  clock?: () => number;
}

const describeRequest = (r: RunRequest): string =>
  `--select ${r.select}${r.partition ? ` --partition ${r.partition}` : ''}${r.from ? ` --from ${r.from} --to ${r.to}` : ''}`;

export function formatDecision(d: DecisionRecord): string {
  return `automation: tick ${d.tick} ${d.condition}${d.asset ? ` ${d.asset}` : ''} ${d.outcome}: ${d.reason}`;
}

/** Runs until a signal (or after one evaluation with `once`); resolves with the exit code. */
export async function runDaemon(rt: Runtime, o: DaemonOptions): Promise<number> {
  const { log } = o;
  const stateDir = rt.config.stateDir;
  const clock = o.clock ?? Date.now;
  const daemonId = `daemon-${newRunId()}`;

  // One daemon per state dir: a second one says who runs and stops (exit 2), it does not wait.
  const probe = new AbortController();
  let holder = '';
  let releaseDaemon: () => Promise<void>;
  try {
    releaseDaemon = await acquireDirLock(join(stateDir, 'automation'), DAEMON_LOCK, daemonId, {
      what: 'daemon lock',
      signal: probe.signal,
      onWait: (m) => {
        holder = m;
        probe.abort();
      },
    });
  } catch (err) {
    if (probe.signal.aborted)
      throw new UsageError(
        `another pipeline daemon uses this STATE_DIR (${stateDir}): ${holder.replace(/^waiting for /, '')}`,
      );
    throw err;
  }

  const stop = new AbortController();
  // Every observation and stat of an evaluation listens to it.
  setMaxListeners(0, stop.signal);
  let received: NodeJS.Signals | undefined;
  const launcher = new Launcher(rt, (m) => log.warn(`automation: ${m}`), 'daemon');
  const onSignal = (sig: NodeJS.Signals): void => {
    if (received) process.exit(exitCodeFor(sig));
    received = sig;
    log.warn(
      `automation: ${sig}: stopping (a run in progress is cancelled: units in flight finish their writes)…`,
    );
    stop.abort();
    for (const r of launcher.list()) launcher.cancel(r.runId);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  log.info(
    `automation: daemon ${process.pid} on ${stateDir}, every ${o.intervalFrom}${o.maxRuns > 1 ? `, up to ${o.maxRuns} runs at once` : ''}${o.dryRun ? ', dry run (no run is started)' : ''}; ${rt.modeLine}`,
  );
  const freshnessShown = new Map<string, string>();
  let tick = 0;
  try {
    while (!stop.signal.aborted) {
      tick++;
      // An S3 source lists each folder once per run: forget those listings, the sensor must see new objects.
      (rt.defs.sources as { newRun?: () => void }).newRun?.();
      const cursor = await readCursor(stateDir);
      let ev;
      try {
        ev = await evaluateAutomation({
          defs: rt.defs,
          // The index as written by the last run (of any process): read afresh each time.
          state: new StateStore(stateDir, rt.indexBackend),
          cursor,
          now: clock(),
          tick,
          full: tick === 1,
          signal: stop.signal,
        });
      } catch (err) {
        if (stop.signal.aborted) break;
        // A source that cannot be read now (network, S3 down): said, and tried again next time.
        log.error(`automation: tick ${tick}: evaluation failed: ${maskSecrets((err as Error).message)}`);
        await appendLog(stateDir, [
          {
            type: 'decision',
            at: new Date(clock()).toISOString(),
            tick,
            condition: 'sensor',
            outcome: 'wait',
            reason: `evaluation failed: ${maskSecrets((err as Error).message)}`,
          },
        ]);
        if (o.once) return 1;
        await sleep(o.intervalMs, stop.signal);
        continue;
      }
      for (const d of ev.decisions) {
        if (d.condition === 'freshness') {
          // Printed when it changes, not at every evaluation (the JSONL log keeps each).
          if (freshnessShown.get(d.asset!) === d.reason) continue;
          freshnessShown.set(d.asset!, d.reason);
          log.warn(formatDecision(d));
        } else if (d.outcome === 'skip' && d.condition === 'sensor') log.debug(formatDecision(d));
        else log.info(formatDecision(d));
      }
      for (const f of ev.freshness) if (f.ok) freshnessShown.delete(f.asset);
      await appendLog(stateDir, ev.decisions);
      if (o.dryRun) {
        for (const r of ev.requests) log.info(`automation: would run ${describeRequest(r)} (${r.why})`);
      } else {
        let interrupted = false;
        // Up to maxRuns runs at once (default 1: one after the other); their unit locks keep
        // overlapping ones apart.
        const queue = [...ev.requests];
        const next = async (): Promise<void> => {
          for (let r = queue.shift(); r; r = queue.shift()) {
            if (stop.signal.aborted) {
              interrupted = true;
              return;
            }
            const rec = await startRun(rt, launcher, r, tick, clock, log);
            await appendLog(stateDir, [rec]);
            if (rec.status === 'cancelled' || (rec.status === 'error' && stop.signal.aborted))
              interrupted = true;
          }
        };
        await Promise.all(Array.from({ length: Math.min(o.maxRuns, queue.length) }, next));
        // Stored once the runs ended; a cancelled run's request is made again after a restart.
        if (!interrupted) await writeCursor(stateDir, ev.cursor);
      }
      if (o.once) break;
      await sleep(o.intervalMs, stop.signal);
    }
  } finally {
    await launcher.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await releaseDaemon();
  }
  if (received) log.warn(`automation: daemon stopped (${received}) after ${tick} evaluation(s)`);
  return 0;
}

/** Starts one run through the Launcher and waits for its end; its summary from the run log. */
async function startRun(
  rt: Runtime,
  launcher: Launcher,
  r: RunRequest,
  tick: number,
  clock: () => number,
  log: Log,
): Promise<RunRecord> {
  const run = launcher.launch({
    select: r.select,
    ...(r.partition && { partition: r.partition }),
    ...(r.from && { from: r.from, to: r.to }),
  });
  const command = `daemon materialize ${describeRequest(r)}`;
  log.info(`automation: run ${run.runId} started (${r.condition}): ${command}`);
  await run.done;
  const base = { type: 'run' as const, at: new Date(clock()).toISOString(), tick, runId: run.runId, command };
  if (run.phase === 'error') {
    log.error(`automation: run ${run.runId} did not start: ${maskSecrets(run.error ?? '')}`);
    return {
      ...base,
      status: run.controller.signal.aborted ? 'cancelled' : 'error',
      error: maskSecrets(run.error ?? ''),
    };
  }
  const events = await new StateStore(rt.config.stateDir).readRun(run.runId).catch(() => []);
  const end = events.find((e) => e.type === 'run_finished');
  if (end?.type !== 'run_finished') return { ...base, status: 'error', error: 'the run log has no end' };
  log.info(
    `automation: run ${run.runId} ${end.status}: materialized=${end.materialized} skipped=${end.skipped} failed=${end.failed} in ${(end.durationMs / 1000).toFixed(1)} s`,
  );
  return {
    ...base,
    status: end.status,
    materialized: end.materialized,
    skipped: end.skipped,
    failed: end.failed,
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export type { AutomationLogRecord };
