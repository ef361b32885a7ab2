/**
 * The run view's state, folded from `RunEvent`s only. Pure: no I/O, no clock. Times come from the
 * events' `at` stamps; a live renderer may pass its own `now` to the elapsed-time selectors.
 * The same reducer serves the live ink view and `pipeline runs show ID` (replay of the JSONL log).
 */
import type { CheckStatus, QuarantineCounts, RunEvent, SkipReason } from '../../engine/events.ts';
import { joinLines, truncate } from './format.ts';

export type AssetStatus = 'pending' | 'running' | 'done' | 'skipped' | 'failed' | 'partial';
export type RunStatus = 'pending' | 'running' | 'success' | 'failed' | 'cancelled';

/** A partition unit currently executing (between `unit_started` and its outcome). */
export interface RunningUnit {
  partition: string;
  attempt: number;
  startedAt: string;
  progress?: { done: number; total: number; unit?: string };
}

export interface AssetError {
  partition: string;
  /** The error on one line (line breaks folded to spaces), whole up to `ERROR_SUMMARY_MAX` characters. */
  summary: string;
  attempt: number;
  /** The blocking check the unit failed (it was stored, but its check failed). */
  check?: string;
}

export interface CheckIssue {
  partition: string;
  check: string;
  status: Exclude<CheckStatus, 'pass'>;
  blocking: boolean;
  message?: string;
}

export interface AssetRow {
  asset: string;
  status: AssetStatus;
  /** Partition units of this asset in the run (from `asset_started`, or units seen if larger). */
  partitionsTotal: number;
  /** Units that reached an outcome: materialized + skipped + failed. */
  partitionsDone: number;
  materialized: number;
  skipped: number;
  failed: number;
  retries: number;
  running: RunningUnit[];
  /**
   * Progress still reported by units that already settled while others of the asset run: a batch asset
   * reports its shared counter (e.g. days written) on its first partition, which is settled early.
   */
  settledProgress: Array<{ partition: string; progress: NonNullable<RunningUnit['progress']> }>;
  /** Aggregate progress of the running units that reported any (sums of done and total), else null. */
  progress: { done: number; total: number; unit?: string } | null;
  /** `at` of the first unit start or outcome (not `asset_started`, which comes at run start). */
  startedAt: string | null;
  /** `at` of the latest outcome; the row's duration runs from `startedAt` to here once settled. */
  finishedAt: string | null;
  /** Σ metadata.rows over materialized units. */
  rows: number;
  /** Materialized units whose metadata had `rows` (0: the asset reports no row count). */
  rowsReported: number;
  /** Σ metadata.bytes over materialized units. */
  bytes: number;
  /** Σ metadata.quarantined per reason, and its total. */
  quarantined: QuarantineCounts;
  quarantinedTotal: number;
  lastError: AssetError | null;
  checks: { pass: number; warn: number; fail: number };
  /** The latest warn/fail check, for a one-line explanation under the row. */
  lastCheckIssue: CheckIssue | null;
  skipReasons: Partial<Record<SkipReason, number>>;
  /** First and last partition (in key order) of the units recorded as having no data, if any. */
  noDataRange: { first: string; last: string } | null;
  /** Partitions already settled, so a repeated outcome (replayed log, retry race) is not double counted. */
  settledPartitions: string[];
}

export interface RunInfo {
  id: string | null;
  command: string | null;
  status: RunStatus;
  startedAt: string | null;
  finishedAt: string | null;
  /** From `run_finished` (authoritative); otherwise null. */
  durationMs: number | null;
  units: number;
  toRun: number;
  concurrency: number;
  materialized: number;
  skipped: number;
  /** Of the skipped units, those recorded as having no data. */
  noData: number;
  failed: number;
  retries: number;
}

export interface ViewState {
  run: RunInfo;
  /** One row per asset, in first-seen order. */
  assets: AssetRow[];
  /** `at` of the latest event: the clock of a replay or of a run that stopped without `run_finished`. */
  lastEventAt: string | null;
}

/** Errors are kept whole (the views wrap them) up to this many characters, against runaway messages. */
export const ERROR_SUMMARY_MAX = 2000;

/** Skips that mean "nothing needed doing" rather than "could not be done". */
const BENIGN_SKIPS: ReadonlySet<SkipReason> = new Set<SkipReason>(['up_to_date', 'early_cutoff', 'no_data']);

export function initialViewState(): ViewState {
  return {
    run: {
      id: null,
      command: null,
      status: 'pending',
      startedAt: null,
      finishedAt: null,
      durationMs: null,
      units: 0,
      toRun: 0,
      concurrency: 0,
      materialized: 0,
      skipped: 0,
      noData: 0,
      failed: 0,
      retries: 0,
    },
    assets: [],
    lastEventAt: null,
  };
}

function emptyRow(asset: string): AssetRow {
  return {
    asset,
    status: 'pending',
    partitionsTotal: 0,
    partitionsDone: 0,
    materialized: 0,
    skipped: 0,
    failed: 0,
    retries: 0,
    running: [],
    settledProgress: [],
    progress: null,
    startedAt: null,
    finishedAt: null,
    rows: 0,
    rowsReported: 0,
    bytes: 0,
    quarantined: {},
    quarantinedTotal: 0,
    lastError: null,
    checks: { pass: 0, warn: 0, fail: 0 },
    lastCheckIssue: null,
    skipReasons: {},
    noDataRange: null,
    settledPartitions: [],
  };
}

/** Fold all events (e.g. a whole run log) from the initial state. */
export function reduceAll(events: Iterable<RunEvent>, state: ViewState = initialViewState()): ViewState {
  let s = state;
  for (const e of events) s = reduceView(s, e);
  return s;
}

export function reduceView(state: ViewState, event: RunEvent): ViewState {
  // A new run in the same stream starts a fresh view.
  const base =
    event.type === 'run_started' && state.run.id !== null && state.run.id !== event.runId
      ? initialViewState()
      : state;
  const s: ViewState = { ...base, lastEventAt: event.at };

  switch (event.type) {
    case 'run_started':
      return {
        ...s,
        run: {
          ...s.run,
          id: event.runId,
          command: event.command,
          status: 'running',
          startedAt: event.at,
          units: event.units,
          toRun: event.toRun,
          concurrency: event.concurrency,
        },
      };

    case 'run_finished': {
      const run: RunInfo = {
        ...s.run,
        id: s.run.id ?? event.runId,
        status: event.status,
        finishedAt: event.at,
        durationMs: event.durationMs,
        // The engine's own totals win over our counts.
        materialized: event.materialized,
        skipped: event.skipped,
        noData: event.noData ?? s.run.noData,
        failed: event.failed,
      };
      // The run is over: nothing runs any more, whatever events were missing or came late.
      const assets = s.assets.map((row) =>
        withStatus({ ...row, running: [], settledProgress: [], progress: null }, true),
      );
      return { ...s, run, assets };
    }

    case 'asset_started':
      return updateRow(s, event.asset, (row) => ({
        ...row,
        // The engine announces every asset at run start, so this is not when its work began.
        partitionsTotal: Math.max(event.partitions, row.partitionsTotal),
      }));

    case 'unit_started':
      return updateRow(s, event.asset, (row) => ({
        ...row,
        startedAt: row.startedAt ?? event.at,
        running: [
          ...row.running.filter((u) => u.partition !== event.partition),
          { partition: event.partition, attempt: event.attempt, startedAt: event.at },
        ],
      }));

    case 'progress':
      return updateRow(s, event.asset, (row) => {
        const progress = { done: event.done, total: event.total, unit: event.unit };
        // A settled unit never runs again: its progress is a batch's shared counter, not a new unit.
        if (row.settledPartitions.includes(event.partition)) {
          return {
            ...row,
            settledProgress: [
              ...row.settledProgress.filter((p) => p.partition !== event.partition),
              { partition: event.partition, progress },
            ],
          };
        }
        const known = row.running.some((u) => u.partition === event.partition);
        // Progress before `unit_started` (should not happen) still means the unit is running.
        const running = known
          ? row.running.map((u) => (u.partition === event.partition ? { ...u, progress } : u))
          : [...row.running, { partition: event.partition, attempt: 1, startedAt: event.at, progress }];
        return { ...row, startedAt: row.startedAt ?? event.at, running };
      });

    case 'log':
      return s;

    case 'retry':
      return {
        ...updateRow(s, event.asset, (row) => ({ ...row, retries: row.retries + 1 })),
        run: { ...s.run, retries: s.run.retries + 1 },
      };

    case 'check':
      return updateRow(s, event.asset, (row) => ({
        ...row,
        checks: { ...row.checks, [event.status]: row.checks[event.status] + 1 },
        lastCheckIssue:
          event.status === 'pass'
            ? row.lastCheckIssue
            : {
                partition: event.partition,
                check: event.check,
                status: event.status,
                blocking: event.blocking,
                message: event.message === undefined ? undefined : wholeLine(event.message),
              },
      }));

    case 'materialized':
      return settle(s, event.asset, event.partition, event.at, 'materialized', (row) => {
        const quarantined = { ...row.quarantined };
        let added = 0;
        for (const [reason, n] of Object.entries(event.metadata.quarantined ?? {})) {
          quarantined[reason] = (quarantined[reason] ?? 0) + n;
          added += n;
        }
        return {
          ...row,
          materialized: row.materialized + 1,
          rows: row.rows + (event.metadata.rows ?? 0),
          rowsReported: row.rowsReported + (event.metadata.rows === undefined ? 0 : 1),
          bytes: row.bytes + event.metadata.bytes,
          quarantined,
          quarantinedTotal: row.quarantinedTotal + added,
        };
      });

    case 'skipped': {
      const next = settle(s, event.asset, event.partition, event.at, 'skipped', (row) => ({
        ...row,
        skipped: row.skipped + 1,
        skipReasons: { ...row.skipReasons, [event.reason]: (row.skipReasons[event.reason] ?? 0) + 1 },
        noDataRange: event.reason === 'no_data' ? widen(row.noDataRange, event.partition) : row.noDataRange,
      }));
      if (event.reason !== 'no_data' || next === s) return next;
      return { ...next, run: { ...next.run, noData: next.run.noData + 1 } };
    }

    case 'failed': {
      const lastError: AssetError = {
        partition: event.partition,
        summary: wholeLine(event.error),
        attempt: event.attempt,
        ...(event.check === undefined ? {} : { check: event.check }),
      };
      const withError = (row: AssetRow): AssetRow => ({ ...row, failed: row.failed + 1, lastError });
      // A unit stored, then failing a blocking check: if it was already counted as materialized, it
      // becomes a failure (its rows and bytes stay: they were written).
      const existing = s.assets.find((r) => r.asset === event.asset);
      if (event.check !== undefined && existing?.settledPartitions.includes(event.partition)) {
        if (existing.lastError?.partition === event.partition && existing.lastError.check === event.check)
          return s;
        const next = updateRow(s, event.asset, (row) =>
          withError({ ...row, materialized: Math.max(0, row.materialized - 1), finishedAt: event.at }),
        );
        return {
          ...next,
          run: {
            ...next.run,
            materialized: Math.max(0, next.run.materialized - 1),
            failed: next.run.failed + 1,
          },
        };
      }
      return settle(s, event.asset, event.partition, event.at, 'failed', withError);
    }
  }
}

const widen = (r: AssetRow['noDataRange'], p: string): AssetRow['noDataRange'] =>
  r ? { first: p < r.first ? p : r.first, last: p > r.last ? p : r.last } : { first: p, last: p };

const wholeLine = (text: string): string => truncate(joinLines(text), ERROR_SUMMARY_MAX);

type Outcome = 'materialized' | 'skipped' | 'failed';

/** Record a unit's outcome once: removes it from the running set, counts it for the asset and the run. */
function settle(
  s: ViewState,
  asset: string,
  partition: string,
  at: string,
  outcome: Outcome,
  apply: (row: AssetRow) => AssetRow,
): ViewState {
  const existing = s.assets.find((r) => r.asset === asset);
  if (existing?.settledPartitions.includes(partition)) return s;
  const next = updateRow(s, asset, (row) => {
    const settled = apply(row);
    return {
      ...settled,
      running: settled.running.filter((u) => u.partition !== partition),
      partitionsDone: row.partitionsDone + 1,
      settledPartitions: [...row.settledPartitions, partition],
      startedAt: row.startedAt ?? at,
      finishedAt: at,
    };
  });
  return { ...next, run: { ...next.run, [outcome]: next.run[outcome] + 1 } };
}

/** Apply `fn` to the asset's row (created in first-seen order), then re-derive its status and progress. */
function updateRow(s: ViewState, asset: string, fn: (row: AssetRow) => AssetRow): ViewState {
  const index = s.assets.findIndex((r) => r.asset === asset);
  const current = index === -1 ? emptyRow(asset) : s.assets[index]!;
  const updated = fn(current);
  const row = withStatus(
    {
      ...updated,
      partitionsTotal: Math.max(updated.partitionsTotal, updated.partitionsDone + updated.running.length),
      progress: aggregateProgress(updated),
    },
    s.run.status !== 'running' && s.run.status !== 'pending',
  );
  const assets = index === -1 ? [...s.assets, row] : s.assets.with(index, row);
  return { ...s, assets };
}

function aggregateProgress(row: AssetRow): AssetRow['progress'] {
  // Progress of settled units counts only while the asset still has running units.
  const reporting = [
    ...row.running.filter((u) => u.progress),
    ...(row.running.length > 0 ? row.settledProgress : []),
  ];
  if (reporting.length === 0) return null;
  let done = 0;
  let total = 0;
  for (const u of reporting) {
    done += u.progress!.done;
    total += u.progress!.total;
  }
  const units = new Set(reporting.map((u) => u.progress!.unit));
  // Mixed units cannot be summed meaningfully into a label; the fraction still is.
  const unit = units.size === 1 ? reporting[0]!.progress!.unit : undefined;
  return unit === undefined ? { done, total } : { done, total, unit };
}

/**
 * An asset is settled when all its units have an outcome (or the run is over). Settled status:
 * all failed → failed; some failed or blocked (upstream_failed, blocked_by_check, cancelled) alongside
 * good outcomes → partial; nothing materialized and nothing failed → skipped; else done.
 */
function withStatus(row: AssetRow, runOver: boolean): AssetRow {
  return { ...row, status: deriveStatus(row, runOver) };
}

function deriveStatus(row: AssetRow, runOver: boolean): AssetStatus {
  const settled = row.running.length === 0 && (runOver || row.partitionsDone >= row.partitionsTotal);
  if (!settled) return row.partitionsDone > 0 || row.running.length > 0 ? 'running' : 'pending';
  if (row.partitionsDone === 0) return 'pending';
  let benignSkips = 0;
  for (const [reason, n] of Object.entries(row.skipReasons)) {
    if (BENIGN_SKIPS.has(reason as SkipReason)) benignSkips += n;
  }
  const blockedSkips = row.skipped - benignSkips;
  const good = row.materialized + benignSkips;
  if (row.failed > 0 && good === 0) return 'failed';
  if (row.failed > 0 || (blockedSkips > 0 && good > 0)) return 'partial';
  if (row.materialized === 0) return 'skipped';
  return 'done';
}

/** Milliseconds between two ISO stamps (0 if either is missing or unparsable). */
export function msBetween(from: string | null, to: string | null): number {
  if (!from || !to) return 0;
  const d = Date.parse(to) - Date.parse(from);
  return Number.isFinite(d) ? Math.max(0, d) : 0;
}

/** Elapsed run time: the engine's duration once finished, else up to `now` (ms epoch) or the last event. */
export function runElapsedMs(state: ViewState, now?: number): number {
  const { run } = state;
  if (run.durationMs !== null) return run.durationMs;
  if (!run.startedAt) return 0;
  if (now !== undefined) return Math.max(0, now - Date.parse(run.startedAt));
  return msBetween(run.startedAt, state.lastEventAt);
}

/** Wall-clock span of an asset's work: start → last outcome, or → `now`/last event while running. */
export function assetDurationMs(row: AssetRow, state: ViewState, now?: number): number {
  if (!row.startedAt) return 0;
  if (row.status !== 'running' && row.status !== 'pending') return msBetween(row.startedAt, row.finishedAt);
  if (now !== undefined) return Math.max(0, now - Date.parse(row.startedAt));
  return msBetween(row.startedAt, state.lastEventAt);
}

/** Units settled across all assets (for the footer's "n/N units"). */
export function unitsSettled(state: ViewState): number {
  return state.assets.reduce((sum, r) => sum + r.partitionsDone, 0);
}
