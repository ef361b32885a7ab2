import type { AnyAsset } from './asset.ts';
import type { RunReason } from './events.ts';
import type { ResolvedDep } from './graph.ts';
import { isIdentity } from './partition-mappings.ts';
import type { MaterializationRecord, StoredCheckResult } from './state.ts';

/**
 * The one definition of "stale" used by `plan`, `why`, `status:` selection and the executor.
 *
 * A unit (asset × partition) is up to date when it has a stored value made by the current code from the
 * current versions of its inputs, its last attempt did not fail, no blocking check failed on that
 * value, and every upstream unit it reads is itself up to date. Each way of not being up to date is a
 * reason; the decision follows from the reasons and from whether the unit is selected.
 */
export type Decision = 'run' | 'skip' | 'blocked' | 'observe';

/** How a unit sees one upstream unit it reads. */
export type UpstreamView =
  /** Up to date (or a source, or outside the evaluated plan): its current data version (null = none). */
  | { state: 'fresh'; version: string | null }
  /** Not up to date and not rebuilt by this run: dependents keep reading `version`. */
  | { state: 'stale'; version: string | null }
  /** Rebuilt by this run first (`failedCheck`: its last value failed that blocking check). */
  | { state: 'will_run'; failedCheck?: { asset: string; check: string } }
  /** May not be read: a blocking check failed on it (or on its own upstream). */
  | { state: 'blocked'; asset: string; partition: string; check: string };

/** Reasons that come from the unit itself, not from its inputs. */
const OWN: ReadonlySet<RunReason['kind']> = new Set([
  'forced',
  'missing',
  'code_changed',
  'last_failed',
  'check_failed',
]);
export const isOwnReason = (r: RunReason): boolean => OWN.has(r.kind);

export const inputKey = (dep: string, partition: string): string => `${dep}@${partition}`;

// The same keys again and again across a plan's units (dep names × partitions): a string built anew is
// hashed again at every lookup in `inputVersions`; a kept one has its hash. Bounded: cleared when big.
const inputKeys = new Map<string, Map<string, string>>();
let inputKeyCount = 0;
function cachedInputKey(dep: string, partition: string): string {
  let byPartition = inputKeys.get(dep);
  if (!byPartition) inputKeys.set(dep, (byPartition = new Map()));
  let key = byPartition.get(partition);
  if (key === undefined) {
    if (++inputKeyCount > 1_000_000) {
      inputKeys.clear();
      inputKeyCount = 0;
    }
    byPartition.set(partition, (key = inputKey(dep, partition)));
  }
  return key;
}

/** The blocking check that failed on the recorded value, if any. */
export function failedBlockingCheck(rec: MaterializationRecord | undefined): StoredCheckResult | undefined {
  if (!rec?.dataVersion) return undefined;
  return rec.checks?.find((c) => c.status === 'fail' && c.blocking && c.dataVersion === rec.dataVersion);
}

// Shared, frozen reason lists for the two commonest cases (nothing; never materialized): a plan of
// 730,000 units would otherwise allocate an array and an object per unit. Reason lists are never mutated.
const NO_REASONS: readonly RunReason[] = Object.freeze([]);
const MISSING_ONLY: readonly RunReason[] = Object.freeze([Object.freeze({ kind: 'missing' as const })]);

/**
 * Reasons a unit has of its own. `stored` is false when the storage no longer holds the recorded
 * value (deleted or replaced behind the engine's back).
 */
export function ownReasons(
  asset: AnyAsset,
  rec: MaterializationRecord | undefined,
  opts: {
    force?: boolean;
    stored: boolean;
    /** The files and packages that differ from a recorded code version, when known. */
    codeChanges?: (asset: AnyAsset, from: string) => string[] | undefined;
  },
): readonly RunReason[] {
  const missing = !rec?.dataVersion || !opts.stored;
  const check = failedBlockingCheck(rec);
  if (!opts.force && !rec?.lastFailure && !check) {
    if (missing) return MISSING_ONLY;
    if (rec?.codeVersion === asset.codeVersion) return NO_REASONS;
  }
  const reasons: RunReason[] = [];
  if (opts.force) reasons.push({ kind: 'forced' });
  if (missing) reasons.push({ kind: 'missing' });
  else if (rec?.codeVersion !== asset.codeVersion) {
    const from = rec?.codeVersion ?? '';
    const changed = from ? opts.codeChanges?.(asset, from) : undefined;
    reasons.push({ kind: 'code_changed', from, to: asset.codeVersion, ...(changed && { changed }) });
  }
  if (rec?.lastFailure) reasons.push({ kind: 'last_failed', runId: rec.lastFailure.runId });
  if (check) reasons.push({ kind: 'check_failed', check: check.name, message: check.message });
  return reasons;
}

/**
 * `own` followed by the reasons that come from the inputs: versions changed since the last
 * materialization, upstream states. A unit never materialized only needs to know whether it is blocked
 * ("missing" already says why it runs; there is nothing recorded to compare with). Returns `own` itself
 * when the inputs add nothing (never mutates it).
 */
export function inputReasons(
  deps: readonly ResolvedDep[],
  partition: string,
  rec: MaterializationRecord | undefined,
  view: (asset: string, partition: string) => UpstreamView,
  own: readonly RunReason[] = NO_REASONS,
): readonly RunReason[] {
  let out: RunReason[] | undefined;
  for (const d of deps) {
    // The identity mapping (most deps) without its one-key array.
    if (isIdentity(d.mapping)) out = assessInput(d, partition, partition, rec, view, own, out);
    else
      for (const q of d.mapping.upstream(partition)) out = assessInput(d, q, partition, rec, view, own, out);
  }
  return out ?? own;
}

/** One input partition's reasons, added to `out` (a copy of `own` made on the first one). No closure: hot. */
function assessInput(
  d: ResolvedDep,
  q: string,
  partition: string,
  rec: MaterializationRecord | undefined,
  view: (asset: string, partition: string) => UpstreamView,
  own: readonly RunReason[],
  out: RunReason[] | undefined,
): RunReason[] | undefined {
  if (d.self && q === partition) return out;
  const up = view(d.assetKey, q);
  if (!rec?.dataVersion && up.state !== 'blocked') return out;
  if (up.state === 'will_run') {
    const { failedCheck } = up;
    (out ??= own.slice()).push({
      kind: 'upstream_will_run',
      input: d.name,
      partition: q,
      ...(failedCheck && { failedCheck }),
    });
  } else if (up.state === 'blocked') {
    const { asset, partition: p, check } = up;
    (out ??= own.slice()).push({ kind: 'blocked_by_check', input: d.name, asset, partition: p, check });
  } else {
    const before = rec?.inputVersions ? (rec.inputVersions[cachedInputKey(d.name, q)] ?? null) : up.version;
    if (before !== up.version)
      (out ??= own.slice()).push({
        kind: 'input_changed',
        input: d.name,
        partition: q,
        from: before,
        to: up.version,
      });
    if (up.state === 'stale')
      (out ??= own.slice()).push({ kind: 'upstream_stale', input: d.name, asset: d.assetKey, partition: q });
  }
  return out;
}

/**
 * The decision for a unit from all its reasons: blocked when an input may not be read (even with
 * --force); else, when selected, run if it has a reason of its own or an input changed or is rebuilt
 * first; else skip. A skipped unit with reasons is stale (e.g. its upstream is stale but not selected).
 */
export function decide(reasons: readonly RunReason[], selected: boolean): 'run' | 'skip' | 'blocked' {
  // Loops, not `some` with arrow functions: called once per unit of a plan (hundreds of thousands).
  let runs = false;
  for (const r of reasons) {
    if (r.kind === 'blocked_by_check') return 'blocked';
    if (r.kind !== 'upstream_stale') runs = true;
  }
  return selected && runs ? 'run' : 'skip';
}

const WILL_RUN: UpstreamView = { state: 'will_run' };

/** How dependents see a unit once its reasons and decision are known. */
export function viewOf(
  asset: string,
  partition: string,
  decision: Decision,
  reasons: readonly RunReason[],
  version: string | null,
): UpstreamView {
  if (decision === 'observe') return { state: 'fresh', version };
  if (decision === 'run') {
    const own = reasonOf(reasons, 'check_failed');
    return own ? { state: 'will_run', failedCheck: { asset, check: own.check } } : WILL_RUN;
  }
  const blocked = reasonOf(reasons, 'blocked_by_check');
  if (blocked)
    return { state: 'blocked', asset: blocked.asset, partition: blocked.partition, check: blocked.check };
  const own = reasonOf(reasons, 'check_failed');
  if (own) return { state: 'blocked', asset, partition, check: own.check };
  return { state: reasons.length ? 'stale' : 'fresh', version };
}

/** The first reason of a kind (a loop: no closure per call on the plan's hot path). */
function reasonOf<K extends RunReason['kind']>(
  reasons: readonly RunReason[],
  kind: K,
): Extract<RunReason, { kind: K }> | undefined {
  for (const r of reasons) if (r.kind === kind) return r as Extract<RunReason, { kind: K }>;
  return undefined;
}
