import pLimit from 'p-limit';
import { isNoData, isTransient, type AnyAsset, type AssetContext, type BatchContext } from '../asset.ts';
import type { Definitions } from '../definitions.ts';
import type { UnitError, UnitHooks, UnitJob, UnitResult } from '../executor.ts';
import { QuarantineCollector } from '../quarantine.ts';
import { unitId } from '../plan.ts';
import { baseContext } from './context.ts';
import { errorMessage, errorStack, isAbort } from './errors.ts';
import { finish } from './finish.ts';
import { loadInputs, type InputEnv } from './inputs.ts';
import { writeQuarantine } from './storage.ts';

/**
 * Runs one job: loads the inputs, computes, validates, stores, checks, and reports each partition
 * through `hooks` (the scheduler's side records it). Everything it needs is passed in, so it runs the
 * same in this thread, a worker or another machine. `inputLimit` may be shared by the jobs of a run.
 */
export async function runUnit(
  defs: Definitions,
  job: UnitJob,
  hooks: UnitHooks,
  inputLimit = pLimit(8),
): Promise<UnitResult> {
  const env: InputEnv = {
    defs,
    inputLimit,
    signal: hooks.signal,
    reasonOf: (asset, partition) => job.upstreamNoData[unitId(asset, partition)],
  };
  try {
    const asset = defs.graph.get(job.asset);
    await (asset.computeBatch ? runBatch(env, job, hooks, asset) : runSingle(env, job, hooks, asset));
    return { status: 'done' };
  } catch (err) {
    return { status: 'failed', error: unitError(err) };
  }
}

export function unitError(err: unknown): UnitError {
  const stack = errorStack(err);
  return {
    message: errorMessage(err),
    ...(stack ? { stack } : {}),
    transient: isTransient(err),
    abort: isAbort(err),
  };
}

async function runSingle(env: InputEnv, job: UnitJob, hooks: UnitHooks, asset: AnyAsset): Promise<void> {
  const partition = job.partitions[0]!;
  const t0 = Date.now();
  const meta: Record<string, unknown> = {};
  const quarantine = new QuarantineCollector();
  const sources = new Set<string>();
  const inputs = await loadInputs(env, asset, partition, sources, job.inputVersions);
  if (isNoData(inputs)) return reportNoData(job, hooks, asset, partition, inputs.reason, t0);
  const ctx: AssetContext = {
    ...baseContext(job, hooks, asset, partition, meta),
    partitionKey: partition,
    reject: quarantine.add,
  };
  const value = await asset.compute!(inputs, ctx);
  if (isNoData(value)) return reportNoData(job, hooks, asset, partition, value.reason, t0, quarantine);
  await hooks.report(
    await finish(env.defs, job, hooks, asset, partition, value, { meta, quarantine, sources, t0 }),
  );
}

/** One compute call for every partition of the job; each is reported as soon as it is emitted. */
async function runBatch(env: InputEnv, job: UnitJob, hooks: UnitHooks, asset: AnyAsset): Promise<void> {
  // Batch assets only have one-to-one inputs that are the same for every partition.
  const first = job.partitions[0]!;
  const t0 = Date.now();
  const sources = new Set<string>();
  const inputs = await loadInputs(env, asset, first, sources, job.inputVersions);
  if (isNoData(inputs)) {
    for (const p of job.partitions) await reportNoData(job, hooks, asset, p, inputs.reason, t0);
    return;
  }
  const done = new Set<string>();
  const quarantines = new Map(job.partitions.map((p) => [p, new QuarantineCollector()]));
  const shared = new QuarantineCollector();
  const ctx: BatchContext<unknown> = {
    ...baseContext(job, hooks, asset, first, {}),
    partitionKeys: job.partitions,
    reject: shared.add,
    rejectFor: (p) => (quarantines.get(p) ?? shared).add,
    emit: async (p, value, m) => {
      const quarantine = quarantines.get(p);
      if (!quarantine)
        throw new Error(`Batch asset ${asset.key} emitted partition ${p} that was not requested`);
      if (done.has(p)) throw new Error(`Batch asset ${asset.key} emitted partition ${p} twice`);
      done.add(p); // before any await: emits may overlap
      if (isNoData(value)) await reportNoData(job, hooks, asset, p, value.reason, t0, quarantine);
      else {
        const extra = { meta: { ...m }, quarantine, shared, sources, t0 };
        await hooks.report(await finish(env.defs, job, hooks, asset, p, value, extra));
      }
    },
  };
  await asset.computeBatch!(inputs, ctx);
  if (shared.total) {
    // Records that belong to no partition (e.g. an unparsable date) are kept in a batch-level file.
    const where = await writeQuarantine(job.quarantineDir, asset.key, 'batch', shared);
    const counts = Object.entries(shared.counts)
      .map(([r, n]) => `${r}=${n}`)
      .join(' ');
    hooks.event({
      type: 'log',
      runId: job.runId,
      at: new Date().toISOString(),
      asset: asset.key,
      partition: first,
      level: 'warn',
      message: `${shared.total} bad records not attributable to a day (${counts}) quarantined in ${where}`,
    });
  }
  for (const p of job.partitions)
    if (!done.has(p)) throw new Error(`Batch asset ${asset.key} did not emit partition ${p}`);
}

async function reportNoData(
  job: UnitJob,
  hooks: UnitHooks,
  asset: AnyAsset,
  partition: string,
  reason: string,
  t0: number,
  quarantine = new QuarantineCollector(),
): Promise<void> {
  const location = await writeQuarantine(job.quarantineDir, asset.key, partition, quarantine);
  await hooks.report({
    kind: 'no_data',
    partition,
    reason,
    durationMs: Date.now() - t0,
    ...(quarantine.total ? { quarantine: { counts: { ...quarantine.counts }, location } } : {}),
  });
}
