import { setTimeout as delay } from 'node:timers/promises';
import pLimit from 'p-limit';
import type { AnyAsset } from '../asset.ts';
import type { Definitions } from '../definitions.ts';
import type { UnitError, UnitJob } from '../executor.ts';
import type { Plan, PlannedUnit } from '../plan.ts';
import { QuarantineCollector } from '../quarantine.ts';
import type { StateStore } from '../state.ts';
import { Gate } from './gate.ts';
import { InProcessExecutor } from './in-process.ts';
import { absentInputs } from './inputs.ts';
import { RunRecorder } from './recorder.ts';
import { newRunId } from './run-id.ts';
import { writeQuarantine } from './storage.ts';
import type { Outcome, RunOptions, RunResult } from './types.ts';
import { unitError } from './unit-runner.ts';

/**
 * Executes a plan: units start when their planned upstream units are done, at most `concurrency` computing
 * at once (p-limit); transient errors are retried with exponential backoff + jitter; a failure stops only
 * its dependents; a rebuilt unit whose data version did not change lets its dependents skip (early cutoff).
 * Units compute in `opts.executor` (default: this thread); what they produce is recorded here.
 */
export async function execute(
  defs: Definitions,
  state: StateStore,
  plan: Plan,
  opts: RunOptions = {},
): Promise<RunResult> {
  const { graph } = defs;
  const runId = opts.runId ?? newRunId();
  const started = Date.now();
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  const limit = pLimit(concurrency);
  const retry = opts.retry ?? { maxAttempts: 3, baseDelayMs: 200 };
  const executor = opts.executor ?? new InProcessExecutor(defs);
  const signal = opts.signal ?? new AbortController().signal;
  const rec = new RunRecorder(defs, state, runId, opts.onEvent);
  let cancelled = false;
  const onAbort = (): void => {
    cancelled = true;
  };
  opts.signal?.addEventListener('abort', onAbort);
  const gate = new Gate(defs, state, plan, rec, () => cancelled);

  const runUnits = plan.units.filter((u) => u.decision !== 'observe');
  const unitsByAsset = new Map<string, PlannedUnit[]>();
  for (const u of runUnits) {
    const list = unitsByAsset.get(u.asset);
    if (list) list.push(u);
    else unitsByAsset.set(u.asset, [u]);
  }
  rec.emit({
    type: 'run_started',
    runId,
    at: rec.now(),
    command: opts.command ?? 'materialize',
    assets: plan.assets.filter((k) => graph.get(k).kind !== 'source'),
    units: runUnits.length,
    toRun: runUnits.filter((u) => u.decision === 'run').length,
    concurrency,
  });
  for (const key of plan.assets) {
    if (graph.get(key).kind === 'source') continue;
    const partitions = unitsByAsset.get(key)?.length ?? 0;
    rec.emit({ type: 'asset_started', runId, at: rec.now(), asset: key, partitions });
  }

  const failOrCancel = (u: PlannedUnit, err: UnitError, attempt: number): Outcome =>
    cancelled && err.abort ? rec.cancelled(u, 'interrupted') : rec.failed(u, err, attempt);

  /** Runs ready units (one, or a batch asset's) in the executor, retrying transient errors. */
  const dispatch = async (asset: AnyAsset, units: PlannedUnit[]): Promise<Map<string, Outcome>> => {
    const results = new Map<string, Outcome>();
    const first = units[0]!;
    const policy = asset.retry ?? retry;
    let attempt = 1;
    try {
      // A required input without data: nothing to compute (decided before the unit starts).
      const versions = gate.inputVersions(first);
      const absent = absentInputs(graph, asset, first.partition, versions, gate.noDataReason);
      if (absent) {
        for (const u of units) {
          const t0 = Date.now();
          await writeQuarantine(opts.quarantineDir, asset.key, u.partition, new QuarantineCollector());
          results.set(u.id, await rec.noData(asset, u.partition, absent, Date.now() - t0, versions));
        }
        return results;
      }
      const upstreamNoData = gate.upstreamNoData(first, versions);
      for (; ; attempt++) {
        const pending = units.filter((u) => !results.has(u.id));
        if (cancelled) {
          for (const u of pending) results.set(u.id, rec.cancelled(u, 'interrupted'));
          return results;
        }
        for (const u of pending) rec.unitStarted(u, attempt);
        const job: UnitJob = {
          runId,
          asset: asset.key,
          partitions: pending.map((u) => u.partition),
          attempt,
          inputVersions: versions,
          upstreamNoData,
          ...(opts.quarantineDir ? { quarantineDir: opts.quarantineDir } : {}),
        };
        const result = await executor.run(job, {
          signal,
          event: (e) => rec.emit(e),
          report: async (r) => {
            const u = pending.find((x) => x.partition === r.partition);
            if (!u)
              throw new Error(
                `${executor.name} executor reported ${asset.key}[${r.partition}], not in the job`,
              );
            results.set(u.id, await rec.report(asset, r, versions));
          },
        });
        const left = pending.filter((u) => !results.has(u.id));
        if (!left.length) return results;
        const error: UnitError =
          result.status === 'failed'
            ? result.error
            : {
                message: `${executor.name} executor ended the job without reporting every partition`,
                transient: false,
                abort: false,
              };
        if (attempt >= policy.maxAttempts || !error.transient || cancelled) {
          for (const u of left) results.set(u.id, failOrCancel(u, error, attempt));
          return results;
        }
        const delayMs = Math.round(policy.baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random()));
        rec.retry(left[0]!, attempt, delayMs, error.message);
        await sleep(delayMs, opts.signal);
      }
    } catch (err) {
      // Recording failed, or the executor broke down.
      for (const u of units)
        if (!results.has(u.id)) results.set(u.id, failOrCancel(u, unitError(err), attempt));
      return results;
    }
  };

  const runSingle = async (asset: AnyAsset, u: PlannedUnit): Promise<Outcome> => {
    const g = await gate.gate(u);
    if (g !== 'run') return g;
    return limit(async () => (cancelled ? rec.cancelled(u) : (await dispatch(asset, [u])).get(u.id)!));
  };

  /** One compute call for all partitions of a batch asset that need to run. */
  const runBatch = async (asset: AnyAsset, group: PlannedUnit[]): Promise<Map<string, Outcome>> => {
    const gated = await Promise.all(group.map(async (u) => [u, await gate.gate(u)] as const));
    const results = new Map<string, Outcome>();
    for (const [u, g] of gated) if (g !== 'run') results.set(u.id, g);
    const toRun = gated.filter(([, g]) => g === 'run').map(([u]) => u);
    if (toRun.length) for (const [id, o] of await limit(() => dispatch(asset, toRun))) results.set(id, o);
    return results;
  };

  // Wire every unit to a promise; dependencies are awaited inside, so creation order does not matter
  // as long as upstream promises exist first (topological order of plan.units guarantees it).
  const batchGroups = new Map<string, Promise<Map<string, Outcome>>>();
  for (const u of runUnits) {
    const asset = graph.get(u.asset);
    if (asset.computeBatch) {
      let g = batchGroups.get(asset.key);
      if (!g) {
        const group = unitsByAsset.get(asset.key)!;
        g = Promise.resolve().then(() => runBatch(asset, group));
        batchGroups.set(asset.key, g);
      }
      gate.outcomes.set(
        u.id,
        g.then((m) => gate.settle(u, m.get(u.id)!)),
      );
    } else {
      gate.outcomes.set(
        u.id,
        Promise.resolve().then(async () => gate.settle(u, await runSingle(asset, u))),
      );
    }
  }
  await Promise.all(gate.outcomes.values());
  opts.signal?.removeEventListener('abort', onAbort);
  return rec.finish(started, cancelled);
}

/** Resolves after ms, or at once on abort (Node removes its abort listener either way). */
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  delay(ms, undefined, signal && { signal }).catch(() => undefined);
