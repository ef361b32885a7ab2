import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import pLimit from 'p-limit';
import {
  isNoData,
  isTransient,
  NO_DATA,
  NoData,
  type AnyAsset,
  type AssetContext,
  type BatchContext,
  type CheckResult,
  type Partitioned,
} from './asset.ts';
import { writeFileAtomic } from './atomic.ts';
import { recordCodeManifest } from './code-manifest.ts';
import { ioFor, type Definitions } from './definitions.ts';
import type { MaterializedMetadata, RunEvent, RunReason, SkipReason } from './events.ts';
import { dataVersionOf } from './hash.ts';
import type { FileSet } from './io.ts';
import { MissingValueError } from './io.ts';
import { unitId, type Plan, type PlannedUnit } from './plan.ts';
import { QuarantineCollector } from './quarantine.ts';
import { maskSecrets } from './redact.ts';
import { decide, inputKey, inputReasons, isOwnReason, viewOf, type UpstreamView } from './staleness.ts';
import type { StateStore, StoredCheckResult } from './state.ts';

export interface RunOptions {
  runId?: string;
  command?: string;
  concurrency?: number;
  signal?: AbortSignal;
  onEvent?: (e: RunEvent) => void;
  /** Where quarantined records go: `<dir>/<asset>/<partition>.ndjson`. */
  quarantineDir?: string;
  /** Default retry policy for transient errors. */
  retry?: { maxAttempts: number; baseDelayMs: number };
}

export interface RunResult {
  runId: string;
  status: 'success' | 'failed' | 'cancelled';
  materialized: number;
  /** Units not built, including the `noData` ones. */
  skipped: number;
  /** Units recorded as having no data (nothing stored): a required input had none, or compute said so. */
  noData: number;
  failed: number;
  durationMs: number;
}

interface CheckRef {
  asset: string;
  partition: string;
  check: string;
}

type Outcome =
  | { status: 'materialized' | 'skipped'; dataVersion: string | null }
  /** Stored, but a blocking check failed on it (or on an upstream unit): dependents may not read it. */
  | { status: 'blocked'; dataVersion: null; by: CheckRef }
  | { status: 'failed' | 'cancelled'; dataVersion: null };

const CANCELLED: Outcome = { status: 'cancelled', dataVersion: null };
const FAILED: Outcome = { status: 'failed', dataVersion: null };

// Millisecond resolution: several runs a second are common (a no-op run takes ~0.3 s).
export const newRunId = (): string =>
  new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.(\d+)Z$/, '$1Z') +
  '-' +
  randomBytes(3).toString('hex');

class CancelledError extends Error {}

/**
 * Executes a plan: units start when their planned upstream units are done, at most `concurrency` computing
 * at once (p-limit); transient errors are retried with exponential backoff + jitter; a failure stops only
 * its dependents; a rebuilt unit whose data version did not change lets its dependents skip (early cutoff).
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
  const limit = pLimit(Math.max(1, opts.concurrency ?? 4));
  const retry = opts.retry ?? { maxAttempts: 3, baseDelayMs: 200 };
  const inputLimit = pLimit(8);
  const log = state.openRunLog(runId);
  const emit = (e: RunEvent): void => {
    log(e);
    opts.onEvent?.(e);
  };
  const now = (): string => new Date().toISOString();
  const counts = { materialized: 0, skipped: 0, noData: 0, failed: 0 };
  /** Units not built because a blocking check failed upstream: the run then ends failed. */
  let blockedUnits = 0;
  const outcomes = new Map<string, Promise<Outcome>>();
  const settled = new Map<string, Outcome>();
  let cancelled = false;
  const onAbort = (): void => {
    cancelled = true;
  };
  opts.signal?.addEventListener('abort', onAbort);
  let flushTimer: NodeJS.Timeout | null = null;
  const scheduleFlush = (): void => {
    flushTimer ??= setTimeout(() => {
      flushTimer = null;
      void state.flush();
    }, 200);
  };

  const runUnits = plan.units.filter((u) => u.decision !== 'observe');
  const unitsByAsset = new Map<string, PlannedUnit[]>();
  for (const u of runUnits) {
    const list = unitsByAsset.get(u.asset);
    if (list) list.push(u);
    else unitsByAsset.set(u.asset, [u]);
  }
  emit({
    type: 'run_started',
    runId,
    at: now(),
    command: opts.command ?? 'materialize',
    assets: plan.assets.filter((k) => graph.get(k).kind !== 'source'),
    units: runUnits.length,
    toRun: runUnits.filter((u) => u.decision === 'run').length,
    concurrency: Math.max(1, opts.concurrency ?? 4),
  });
  for (const key of plan.assets) {
    if (graph.get(key).kind === 'source') continue;
    emit({
      type: 'asset_started',
      runId,
      at: now(),
      asset: key,
      partitions: unitsByAsset.get(key)?.length ?? 0,
    });
  }

  const unitStarted = (u: PlannedUnit, attempt: number): void =>
    emit({
      type: 'unit_started',
      runId,
      at: now(),
      asset: u.asset,
      partition: u.partition,
      attempt,
      reasons: u.reasons,
    });

  const skip = (u: { asset: string; partition: string }, reason: SkipReason, detail?: string): void => {
    counts.skipped++;
    emit({ type: 'skipped', runId, at: now(), asset: u.asset, partition: u.partition, reason, detail });
  };

  /** How a unit sees an upstream one once every planned upstream unit has settled. */
  const settledView = (asset: string, partition: string): UpstreamView => {
    const planned = plan.unit(asset, partition);
    const o = settled.get(unitId(asset, partition));
    if (planned && o) {
      if (o.status === 'blocked') return { state: 'blocked', ...o.by };
      if (o.status === 'materialized') return { state: 'fresh', version: o.dataVersion };
      // Skipped: as planned (a stale unit stays stale), unless the early cutoff found it up to date.
      if (planned.decision === 'run') return { state: 'fresh', version: o.dataVersion };
    }
    const u = planned ?? plan.context(asset, partition);
    if (u) return viewOf(asset, partition, u.decision, u.reasons, u.dataVersion);
    return { state: 'fresh', version: state.get(asset, partition)?.dataVersion ?? null };
  };
  const versionOf = (asset: string, partition: string): string | null => {
    const v = settledView(asset, partition);
    return v.state === 'fresh' || v.state === 'stale' ? v.version : null;
  };

  const upstreamOutcomes = (u: PlannedUnit): Promise<Outcome>[] => {
    const out: Promise<Outcome>[] = [];
    for (const d of graph.depsOf(u.asset)) {
      for (const q of d.mapping.upstream(u.partition)) {
        if (d.self && q === u.partition) continue;
        const o = outcomes.get(unitId(d.assetKey, q));
        if (o) out.push(o);
      }
    }
    return out;
  };

  const currentInputVersions = (u: PlannedUnit): Record<string, string | null> => {
    const out: Record<string, string | null> = {};
    for (const d of graph.depsOf(u.asset)) {
      for (const q of d.mapping.upstream(u.partition)) {
        if (d.self && q === u.partition) continue;
        out[inputKey(d.name, q)] = versionOf(d.assetKey, q);
      }
    }
    return out;
  };

  const blockedSkip = (u: PlannedUnit, by: CheckRef): Outcome => {
    blockedUnits++;
    skip(u, 'blocked_by_check', `check ${by.check} failed on ${unitId(by.asset, by.partition)}`);
    return { status: 'blocked', dataVersion: null, by };
  };

  /**
   * Waits for upstream units, then decides again with what they produced (the same rules as the plan):
   * an input rebuilt with an unchanged data version lets this unit skip (early cutoff).
   */
  const gate = async (u: PlannedUnit): Promise<Outcome | 'run'> => {
    const ups = await Promise.all(upstreamOutcomes(u));
    if (cancelled) {
      skip(u, 'cancelled');
      return CANCELLED;
    }
    if (ups.some((o) => o.status === 'failed' || o.status === 'cancelled')) {
      skip(u, 'upstream_failed');
      return FAILED;
    }
    const blockedUp = ups.find((o) => o.status === 'blocked');
    if (blockedUp) return blockedSkip(u, blockedUp.by);
    if (u.decision === 'blocked') {
      const r = u.reasons.find((x) => x.kind === 'blocked_by_check')!;
      return blockedSkip(u, r);
    }
    if (u.decision === 'skip') {
      const staleUp = u.reasons.find((r) => r.kind === 'upstream_stale');
      skip(
        u,
        'up_to_date',
        staleUp && `stale: upstream ${unitId(staleUp.asset, staleUp.partition)} is not selected`,
      );
      return { status: 'skipped', dataVersion: u.dataVersion };
    }
    const rec = state.get(u.asset, u.partition);
    const reasons = [
      ...u.reasons.filter(isOwnReason),
      ...inputReasons(graph.depsOf(u.asset), u.partition, rec, settledView),
    ];
    const decision = decide(reasons, true);
    if (decision === 'blocked')
      return blockedSkip(
        u,
        reasons.find((x) => x.kind === 'blocked_by_check')!,
      );
    // The plan checked storage before the inputs were rebuilt; skip only what is still stored as recorded.
    if (decision === 'skip' && (await storedAsRecorded(u, rec?.dataVersion))) {
      skip(u, 'early_cutoff', 'inputs rebuilt with unchanged data versions');
      return { status: 'skipped', dataVersion: rec?.dataVersion ?? null };
    }
    if (decision === 'skip') reasons.push({ kind: 'missing' });
    u.reasons = reasons;
    return 'run';
  };

  /** Whether storage still holds the unit's recorded value (a unit without data has nothing stored). */
  const storedAsRecorded = async (u: PlannedUnit, version: string | undefined): Promise<boolean> => {
    if (version === NO_DATA) return true;
    const a = graph.get(u.asset);
    const st = await ioFor(defs, a)
      .stat({ assetKey: a.key, partitionKey: u.partition, ioMeta: a.ioMeta })
      .catch(() => null); // unreadable: run it (its store will say what is wrong)
    return !!version && st?.dataVersion === version;
  };

  /**
   * Why a unit has no data because of its inputs, from their data versions: a required input whose
   * every upstream partition has no data (a source partition without files, a unit without data).
   */
  const absentInputs = (
    asset: AnyAsset,
    partition: string,
    versions: Record<string, string | null>,
  ): string | undefined => {
    const why: string[] = [];
    for (const d of graph.depsOf(asset.key)) {
      if (d.optional || d.self) continue;
      const qs = d.mapping.upstream(partition);
      if (qs.length && qs.every((q) => versions[inputKey(d.name, q)] === NO_DATA))
        why.push(noDataIn(d.assetKey, qs));
    }
    return why.length ? why.join('; ') : undefined;
  };
  const noDataIn = (assetKey: string, qs: readonly string[]): string => {
    const up = graph.get(assetKey);
    const parts =
      qs.length === 1
        ? qs[0] === 'all'
          ? ''
          : ` [${qs[0]}]`
        : ` [${qs[0]} … ${qs.at(-1)}, ${qs.length} partitions]`;
    if (up.kind === 'source') return `no file in ${assetKey}${parts}`;
    const upReason = qs.length === 1 ? state.get(assetKey, qs[0]!)?.metadata?.noData : undefined;
    return `no data in ${assetKey}${parts}${typeof upReason === 'string' ? ` (${upReason})` : ''}`;
  };

  /**
   * The inputs of a unit, or why it has no data: an input partition with no data (by its data version,
   * or a source found empty when resolved) is left out of a `many` input and is undefined for a `one`
   * input; a required input left with nothing gives the unit no data.
   */
  const loadInputs = async (
    asset: AnyAsset,
    partition: string,
    sources: Set<string>,
    versions: Record<string, string | null>,
  ): Promise<Record<string, unknown> | NoData> => {
    const inputs: Record<string, unknown> = {};
    const absent: string[] = [];
    for (const d of graph.depsOf(asset.key)) {
      const up = graph.get(d.assetKey);
      const loadOne = async (q: string): Promise<{ found: boolean; absent?: boolean; value?: unknown }> => {
        if (versions[inputKey(d.name, q)] === NO_DATA) return { found: false, absent: true };
        if (up.kind === 'source') {
          const fs: FileSet = await defs.sources.resolve(up.locate!(q), opts.signal);
          sources.add(fs.origin);
          // Files removed since the plan observed them: no data, as if observed so.
          if (!fs.files.length) return { found: false, absent: true };
          return { found: true, value: fs };
        }
        try {
          return {
            found: true,
            value: await ioFor(defs, up).load({ assetKey: up.key, partitionKey: q, ioMeta: up.ioMeta }),
          };
        } catch (err) {
          if (err instanceof MissingValueError) return { found: false };
          throw err;
        }
      };
      const qs = d.mapping.upstream(partition).filter((q) => !(d.self && q === partition));
      if (d.mapping.cardinality === 'many') {
        // A day's 24 hourly inputs are independent: load them a few at a time (S3 listings are slow).
        const loaded = await inputLimit.map(qs, async (q) => ({ q, r: await loadOne(q) }));
        const values: Partitioned<unknown>[] = [];
        for (const { q, r } of loaded) if (r.found) values.push({ partitionKey: q, value: r.value });
        if (!d.optional && !d.self && qs.length && loaded.every(({ r }) => r.absent))
          absent.push(noDataIn(d.assetKey, qs));
        inputs[d.name] = values;
      } else {
        const r = await loadOne(qs[0]!);
        if (r.absent && !d.optional && !d.self) absent.push(noDataIn(d.assetKey, qs));
        else if (!r.found && !d.optional) {
          throw new Error(
            `Input "${d.name}" (${d.assetKey} [${qs[0]}]) is missing: materialize it first, e.g. --select +${asset.key}`,
          );
        }
        inputs[d.name] = r.value;
      }
    }
    return absent.length ? new NoData(absent.join('; ')) : inputs;
  };

  /** A log line of compute, credentials masked (it goes to the terminal and the run log). */
  const logLine = (asset: string, partition: string, level: 'info' | 'warn' | 'error', message: string) =>
    emit({ type: 'log', runId, at: now(), asset, partition, level, message: maskSecrets(message) });

  const baseContext = (asset: AnyAsset, partition: string, meta: Record<string, unknown>) => ({
    assetKey: asset.key,
    noData: (reason: string) => new NoData(reason),
    runId,
    signal: opts.signal ?? new AbortController().signal,
    log: {
      info: (message: string) => logLine(asset.key, partition, 'info', message),
      warn: (message: string) => logLine(asset.key, partition, 'warn', message),
      error: (message: string) => logLine(asset.key, partition, 'error', message),
    },
    progress: (done: number, total: number, unit?: string) =>
      emit({
        type: 'progress',
        runId,
        at: now(),
        asset: asset.key,
        partition,
        done,
        total,
        ...(unit ? { unit } : {}),
      }),
    addMetadata: (m: Record<string, unknown>) => Object.assign(meta, m),
  });

  /** Validates, stores, checks and records one computed value. */
  const finish = async (
    asset: AnyAsset,
    partition: string,
    value: unknown,
    t0: number,
    extra: {
      meta: Record<string, unknown>;
      quarantine: QuarantineCollector;
      /** Batch assets: records no partition could be given (an unreadable file fails every partition). */
      shared?: QuarantineCollector;
      sources: Set<string>;
      inputVersions: Record<string, string | null>;
    },
  ): Promise<Outcome> => {
    // An input file that could not be read as its format at all (a record at line 0) fails the unit:
    // a value built from the other files would be silently emptier. The previous value stays.
    const unreadable = [...extra.quarantine.records, ...(extra.shared?.records ?? [])].filter(
      (r) => r.line === 0,
    );
    if (unreadable.length) {
      await writeQuarantine(asset.key, partition, extra.quarantine);
      if (extra.shared?.total) await writeQuarantine(asset.key, 'batch', extra.shared);
      const files = unreadable
        .slice(0, 3)
        .map((r) => `${r.file} (${r.reason}${r.detail ? `: ${r.detail}` : ''})`);
      throw new Error(
        `${unreadable.length} input file${unreadable.length > 1 ? 's' : ''} could not be read as ${unreadable.length > 1 ? 'their' : 'its'} format: ` +
          `${files.join('; ')}${unreadable.length > 3 ? '; …' : ''}. Nothing stored (an earlier value stays); ` +
          `fix or remove the file, then run again (\`pipeline quarantine --select ${asset.key}\`)`,
      );
    }
    const parsed = asset.schema ? asset.schema.safeParse(value) : { success: true as const, data: value };
    if (!parsed.success)
      throw new Error(`Output of ${asset.key} does not match its schema: ${summarizeZod(parsed.error)}`);
    const dataVersion = dataVersionOf(parsed.data);
    const stored = await ioFor(defs, asset).store(
      { assetKey: asset.key, partitionKey: partition, ioMeta: asset.ioMeta },
      parsed.data,
      dataVersion,
    );
    const quarantineLocation = await writeQuarantine(asset.key, partition, extra.quarantine);
    const at = now();
    const checks: StoredCheckResult[] = [];
    for (const c of asset.checks) {
      let r: CheckResult;
      try {
        r = await c.fn(parsed.data);
      } catch (err) {
        r = { status: 'fail', message: `check threw: ${errorMessage(err)}` };
      }
      const blocking = c.blocking ?? true;
      const { status, message, metadata } = r;
      checks.push({ name: c.name, status, blocking, message, metadata, dataVersion, runId, at });
      emit({
        type: 'check',
        runId,
        at: now(),
        asset: asset.key,
        partition,
        check: c.name,
        status,
        blocking,
        message,
        ...(metadata ? { metadata } : {}),
      });
    }
    const metadata: MaterializedMetadata = {
      ...(Array.isArray(parsed.data) ? { rows: parsed.data.length } : {}),
      ...extra.meta,
      bytes: stored.bytes,
      durationMs: Date.now() - t0,
      location: maskSecrets(stored.location),
      dataVersion,
      ...(extra.quarantine.total ? { quarantined: { ...extra.quarantine.counts }, quarantineLocation } : {}),
      ...(extra.sources.size ? { sources: [...extra.sources] } : {}),
    };
    await recordCodeManifest(state.dir, asset); // lets `why` name the files a later code change touches
    state.recordSuccess(asset.key, partition, {
      dataVersion,
      codeVersion: asset.codeVersion,
      inputVersions: extra.inputVersions,
      runId,
      at,
      metadata,
      ...(checks.length ? { checks } : {}),
    });
    scheduleFlush();
    const failedCheck = checks.find((c) => c.status === 'fail' && c.blocking);
    if (failedCheck) {
      // Stored (it can be inspected) but recorded as failing: dependents are not built from it, in this
      // run or a later one, until a materialization passes the check.
      counts.failed++;
      emit({
        type: 'failed',
        runId,
        at: now(),
        asset: asset.key,
        partition,
        attempt: 1,
        check: failedCheck.name,
        error:
          `blocking check ${failedCheck.name} failed${failedCheck.message ? `: ${failedCheck.message}` : ''} ` +
          `(value stored as data ${dataVersion}; its dependents are not built until a materialization passes the check)`,
      });
      return {
        status: 'blocked',
        dataVersion: null,
        by: { asset: asset.key, partition, check: failedCheck.name },
      };
    }
    counts.materialized++;
    emit({ type: 'materialized', runId, at: now(), asset: asset.key, partition, metadata });
    return { status: 'materialized', dataVersion };
  };

  /**
   * Records a unit that has no data: nothing stored (a value stored before is removed, or said to be no
   * longer current), recorded with the NO_DATA version, the reason and the input versions it was judged
   * on, so that it is up to date until one of them changes (e.g. the files of that day arrive).
   */
  const recordNoData = async (
    asset: AnyAsset,
    partition: string,
    reason: string,
    t0: number,
    inputVersions: Record<string, string | null>,
    quarantine = new QuarantineCollector(),
  ): Promise<Outcome> => {
    const prev = state.get(asset.key, partition);
    if (prev?.dataVersion && prev.dataVersion !== NO_DATA) {
      const io = ioFor(defs, asset);
      const ctx = { assetKey: asset.key, partitionKey: partition, ioMeta: asset.ioMeta };
      if (io.delete) await io.delete(ctx);
      else
        emit({
          type: 'log',
          runId,
          at: now(),
          asset: asset.key,
          partition,
          level: 'warn',
          message:
            `no data now, but the value stored earlier (data ${prev.dataVersion}` +
            `${prev.metadata?.location ? ` at ${prev.metadata.location}` : ''}) is still there: ` +
            `it is no longer current (the ${io.name} IO manager cannot delete it)`,
        });
    }
    const quarantineLocation = await writeQuarantine(asset.key, partition, quarantine);
    await recordCodeManifest(state.dir, asset);
    state.recordSuccess(asset.key, partition, {
      dataVersion: NO_DATA,
      codeVersion: asset.codeVersion,
      inputVersions,
      runId,
      at: now(),
      metadata: {
        noData: reason,
        bytes: 0,
        durationMs: Date.now() - t0,
        location: '',
        dataVersion: NO_DATA,
        ...(quarantine.total ? { quarantined: { ...quarantine.counts }, quarantineLocation } : {}),
      },
    });
    scheduleFlush();
    counts.noData++;
    skip({ asset: asset.key, partition }, 'no_data', reason);
    return { status: 'skipped', dataVersion: NO_DATA };
  };

  const writeQuarantine = async (
    asset: string,
    partition: string,
    q: QuarantineCollector,
  ): Promise<string | undefined> => {
    if (!opts.quarantineDir) return undefined;
    const path = join(opts.quarantineDir, asset, `${partition}.ndjson`);
    if (!q.total) {
      await rm(path, { force: true }); // a clean re-run replaces an older quarantine
      return undefined;
    }
    await writeFileAtomic(path, q.records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    return path;
  };

  const fail = (u: PlannedUnit, err: unknown, attempt: number): Outcome => {
    if (err instanceof CancelledError || (cancelled && isAbort(err))) {
      skip(u, 'cancelled', 'interrupted');
      return CANCELLED;
    }
    const message = errorMessage(err);
    const stack = errorStack(err);
    counts.failed++;
    state.recordFailure(u.asset, u.partition, { runId, at: now(), error: message });
    scheduleFlush();
    emit({
      type: 'failed',
      runId,
      at: now(),
      asset: u.asset,
      partition: u.partition,
      error: message,
      attempt,
      ...(stack ? { stack } : {}),
    });
    return FAILED;
  };

  /** Runs fn with retries on transient errors. */
  const withRetries = async <T>(u: PlannedUnit, fn: (attempt: number) => Promise<T>): Promise<T> => {
    const policy = graph.get(u.asset).retry ?? retry;
    for (let attempt = 1; ; attempt++) {
      if (cancelled) throw new CancelledError();
      try {
        return await fn(attempt);
      } catch (err) {
        if (attempt >= policy.maxAttempts || !isTransient(err) || cancelled)
          throw Object.assign(asError(err), { attempt });
        const delayMs = Math.round(policy.baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random()));
        emit({
          type: 'retry',
          runId,
          at: now(),
          asset: u.asset,
          partition: u.partition,
          attempt,
          delayMs,
          error: errorMessage(err),
        });
        await sleep(delayMs, opts.signal);
      }
    }
  };

  const runSingle = (u: PlannedUnit): Promise<Outcome> =>
    limit(async () => {
      const asset = graph.get(u.asset);
      if (cancelled) {
        skip(u, 'cancelled');
        return CANCELLED;
      }
      try {
        // A required input without data: nothing to compute (decided before the unit starts).
        const versions = currentInputVersions(u);
        const absent = absentInputs(asset, u.partition, versions);
        if (absent) return await recordNoData(asset, u.partition, absent, Date.now(), versions);
        return await withRetries(u, async (attempt) => {
          unitStarted(u, attempt);
          const t0 = Date.now();
          const meta: Record<string, unknown> = {};
          const quarantine = new QuarantineCollector();
          const sources = new Set<string>();
          const inputVersions = currentInputVersions(u);
          const inputs = await loadInputs(asset, u.partition, sources, inputVersions);
          if (isNoData(inputs)) return recordNoData(asset, u.partition, inputs.reason, t0, inputVersions);
          const ctx: AssetContext = {
            ...baseContext(asset, u.partition, meta),
            partitionKey: u.partition,
            reject: quarantine.add,
          };
          const value = await asset.compute!(inputs, ctx);
          if (isNoData(value))
            return recordNoData(asset, u.partition, value.reason, t0, inputVersions, quarantine);
          return finish(asset, u.partition, value, t0, { meta, quarantine, sources, inputVersions });
        });
      } catch (err) {
        return fail(u, err, (err as { attempt?: number }).attempt ?? 1);
      }
    });

  /** One compute call for all partitions of a batch asset that need to run. */
  const runBatch = async (asset: AnyAsset, group: PlannedUnit[]): Promise<Map<string, Outcome>> => {
    const results = new Map<string, Outcome>();
    const gated = await Promise.all(group.map(async (u) => [u, await gate(u)] as const));
    const toRun = gated.filter(([, g]) => g === 'run').map(([u]) => u);
    for (const [u, g] of gated) if (g !== 'run') results.set(u.id, g);
    if (!toRun.length) return results;
    const first = toRun[0]!;
    await limit(async () => {
      try {
        // Batch assets only have one-to-one inputs that are the same for every partition.
        const versions = currentInputVersions(first);
        const absent = absentInputs(asset, first.partition, versions);
        if (absent) {
          for (const u of toRun)
            results.set(u.id, await recordNoData(asset, u.partition, absent, Date.now(), versions));
          return;
        }
        await withRetries(first, async (attempt) => {
          for (const u of toRun) {
            unitStarted(u, attempt);
          }
          const t0 = Date.now();
          const sources = new Set<string>();
          const inputVersions = currentInputVersions(first);
          const inputs = await loadInputs(asset, first.partition, sources, inputVersions);
          if (isNoData(inputs)) {
            for (const u of toRun)
              if (!results.has(u.id))
                results.set(u.id, await recordNoData(asset, u.partition, inputs.reason, t0, inputVersions));
            return;
          }
          const quarantines = new Map<string, QuarantineCollector>(
            toRun.map((u) => [u.partition, new QuarantineCollector()]),
          );
          const shared = new QuarantineCollector();
          const ctx: BatchContext<unknown> = {
            ...baseContext(asset, first.partition, {}),
            partitionKeys: toRun.map((u) => u.partition),
            reject: shared.add,
            rejectFor: (p) => (quarantines.get(p) ?? shared).add,
            emit: async (p, value, m) => {
              const u = toRun.find((x) => x.partition === p);
              if (!u)
                throw new Error(`Batch asset ${asset.key} emitted partition ${p} that was not requested`);
              if (results.has(u.id)) throw new Error(`Batch asset ${asset.key} emitted partition ${p} twice`);
              if (isNoData(value)) {
                results.set(
                  u.id,
                  await recordNoData(asset, p, value.reason, t0, inputVersions, quarantines.get(p)!),
                );
                return;
              }
              results.set(
                u.id,
                await finish(asset, p, value, t0, {
                  meta: { ...m },
                  quarantine: quarantines.get(p)!,
                  shared,
                  sources,
                  inputVersions,
                }),
              );
            },
          };
          await asset.computeBatch!(inputs, ctx);
          if (shared.total) {
            // Records that belong to no partition (e.g. an unparsable date) are kept in a batch-level file.
            const where = await writeQuarantine(asset.key, 'batch', shared);
            const counts = Object.entries(shared.counts)
              .map(([r, n]) => `${r}=${n}`)
              .join(' ');
            emit({
              type: 'log',
              runId,
              at: now(),
              asset: asset.key,
              partition: first.partition,
              level: 'warn',
              message: `${shared.total} bad records not attributable to a day (${counts}) quarantined in ${where}`,
            });
          }
          for (const u of toRun) {
            if (!results.has(u.id))
              throw new Error(`Batch asset ${asset.key} did not emit partition ${u.partition}`);
          }
        });
      } catch (err) {
        for (const u of toRun)
          if (!results.has(u.id)) results.set(u.id, fail(u, err, (err as { attempt?: number }).attempt ?? 1));
      }
    });
    return results;
  };

  const settle = (u: PlannedUnit, o: Outcome): Outcome => {
    settled.set(u.id, o);
    return o;
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
      outcomes.set(
        u.id,
        g.then((m) => settle(u, m.get(u.id)!)),
      );
    } else {
      outcomes.set(
        u.id,
        Promise.resolve().then(async () => {
          const g = await gate(u);
          return settle(u, g === 'run' ? await runSingle(u) : g);
        }),
      );
    }
  }
  await Promise.all(outcomes.values());
  if (flushTimer) clearTimeout(flushTimer);
  await state.flush();
  opts.signal?.removeEventListener('abort', onAbort);

  const status: RunResult['status'] = cancelled
    ? 'cancelled'
    : counts.failed || blockedUnits
      ? 'failed'
      : 'success';
  const result: RunResult = { runId, status, ...counts, durationMs: Date.now() - started };
  emit({ type: 'run_finished', at: now(), ...result });
  return result;
}

function summarizeZod(err: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** The message with its causes (`message: cause: cause`) on one line, whole. */
export function errorMessage(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 6; depth++) {
    const m = (e instanceof Error ? e.message || e.name : String(e)).replace(/\s*\n\s*/g, ' ').trim();
    // Wrappers often repeat their cause's message; say each part once.
    if (m && !parts.some((p) => p.includes(m))) parts.push(m);
    e = e instanceof Error ? e.cause : undefined;
  }
  return maskSecrets(parts.join(': ')) || 'unknown error';
}

/** The stack trace with those of the causes, for the run log. */
export function errorStack(err: unknown): string | undefined {
  const out: string[] = [];
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 6; depth++) {
    if (e.stack) out.push(depth ? `Caused by: ${e.stack}` : e.stack);
    e = e.cause;
  }
  return out.length ? maskSecrets(out.join('\n')) : undefined;
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'CancelledError');
}

/** Resolves after ms, or at once on abort (Node removes its abort listener either way). */
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  delay(ms, undefined, signal && { signal }).catch(() => undefined);

export type { RunReason };
