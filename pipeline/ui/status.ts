/**
 * A plan of the whole graph → the status of every unit and asset, as the UI shows them. The rules are
 * `plan --all`'s and `why`'s (one planner): a unit is fresh (up to date), stale (has reasons), missing
 * (never materialized or its output is gone), failed (last attempt failed or a blocking check failed on
 * the stored value) or blocked (an upstream blocking check failed). Sources are `source`.
 */
import { NO_DATA, type PlannedUnit, type RunReason } from '../../engine/index.ts';

export type UnitStatus = 'fresh' | 'stale' | 'missing' | 'failed' | 'blocked' | 'source';

/** One letter per status, for compact matrices. */
export const STATUS_CODE: Record<UnitStatus, string> = {
  failed: 'x',
  blocked: 'b',
  missing: 'm',
  stale: 's',
  fresh: 'r',
  source: 'o',
};

export const STATUS_ORDER: readonly UnitStatus[] = [
  'failed',
  'blocked',
  'missing',
  'stale',
  'fresh',
  'source',
];

export function unitStatus(u: Pick<PlannedUnit, 'decision' | 'reasons'>): UnitStatus {
  if (u.decision === 'observe') return 'source';
  if (u.decision === 'blocked') return 'blocked';
  if (!u.reasons.length) return 'fresh';
  let failed = false;
  let blocked = false;
  let missing = false;
  for (const r of u.reasons) {
    if (r.kind === 'last_failed' || r.kind === 'check_failed') failed = true;
    else if (r.kind === 'blocked_by_check') blocked = true;
    else if (r.kind === 'missing') missing = true;
  }
  return failed ? 'failed' : blocked ? 'blocked' : missing ? 'missing' : 'stale';
}

/** The worst status of an asset's units (failed first), `fresh` when it has none. */
export function worstStatus(statuses: Iterable<UnitStatus>): UnitStatus {
  let best = STATUS_ORDER.length - 1;
  let any = false;
  for (const s of statuses) {
    any = true;
    best = Math.min(best, STATUS_ORDER.indexOf(s));
  }
  return any ? STATUS_ORDER[best]! : 'fresh';
}

export interface AssetStatus {
  status: UnitStatus;
  /** Units by status. */
  counts: Partial<Record<UnitStatus, number>>;
  /** Units recorded as having no data (no raw file that day). */
  noData: number;
  partitions: number;
}

export interface UnitRow {
  partition: string;
  status: UnitStatus;
  reasons: readonly RunReason[];
  noData: boolean;
}

/** A planned unit as the UI shows it. */
export function unitRow(u: PlannedUnit): UnitRow {
  return {
    partition: u.partition,
    status: unitStatus(u),
    reasons: u.reasons,
    noData: u.decision !== 'observe' && u.dataVersion === NO_DATA,
  };
}

/** An asset's status from its units' rows. */
export function assetStatus(rows: readonly UnitRow[]): AssetStatus {
  const counts: AssetStatus['counts'] = {};
  for (const r of rows) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return {
    status: worstStatus(rows.map((r) => r.status)),
    counts,
    noData: rows.filter((r) => r.noData).length,
    partitions: rows.length,
  };
}
