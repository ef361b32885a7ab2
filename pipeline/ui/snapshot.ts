/**
 * What the UI derives from one plan of the whole graph: per asset its unit rows, status and matrix row,
 * and the JSON of `/api/graph` and `/api/matrix` (encoded once per plan, on first request). Built
 * from an earlier snapshot, an asset whose planned units are the very same objects (a plan `since` the
 * earlier one keeps the units it did not assess again) keeps its rows, status and matrix row.
 */
import type { Plan, PlannedUnit } from '../../engine/index.ts';
import {
  assetStatus,
  STATUS_CODE,
  STATUS_ORDER,
  unitRow,
  type AssetStatus,
  type UnitRow,
  type UnitStatus,
} from './status.ts';

interface AssetView {
  units: PlannedUnit[];
  rows: UnitRow[];
  status: AssetStatus;
  /** The distinct days of its time partitions, sorted. */
  days: string[];
}

export interface MatrixRow {
  asset: string;
  /** The worst status of its units that are not time partitions (unpartitioned, static). */
  whole: string | null;
  /** One STATUS_CODE per column (`.`: none). */
  cells: string;
}

export interface Snapshot {
  p: Plan;
  days: unknown;
  views: Map<string, AssetView>;
  /** Every day with a time partition, sorted: the matrix's columns. */
  columns: string[];
  matrixRows: MatrixRow[];
  /** The JSON bodies, encoded on first use. */
  json: { graph?: string; matrix?: string };
}

const isTime = (k: string) => /^\d{4}-\d{2}-\d{2}/.test(k);

export function buildSnapshot(p: Plan, days: unknown, prev?: Snapshot): Snapshot {
  const views = new Map<string, AssetView>();
  let daysChanged = !prev;
  const changed = new Set<string>();
  const units = p.units;
  for (let i = 0; i < units.length;) {
    const asset = units[i]!.asset;
    let j = i;
    while (j < units.length && units[j]!.asset === asset) j++;
    const old = prev?.views.get(asset);
    // Units come asset by asset (the plan's order); should an asset come again, its units are joined.
    if (old && !views.has(asset) && sameRange(old.units, units, i, j)) {
      views.set(asset, old);
      i = j;
      continue;
    }
    const own = views.has(asset) ? [...views.get(asset)!.units, ...units.slice(i, j)] : units.slice(i, j);
    i = j;
    const rows = own.map(unitRow);
    const v: AssetView = { units: own, rows, status: assetStatus(rows), days: daysOf(rows) };
    views.set(asset, v);
    changed.add(asset);
    if (!old || !sameStrings(old.days, v.days)) daysChanged = true;
  }
  if (prev && views.size !== prev.views.size) daysChanged = true;

  let columns: string[];
  if (daysChanged) {
    const all = new Set<string>();
    for (const v of views.values()) for (const d of v.days) all.add(d);
    columns = [...all].sort();
  } else columns = prev!.columns;
  const col = new Map(columns.map((d, i) => [d, i]));
  const oldRows = new Map(prev?.matrixRows.map((r) => [r.asset, r]));
  const matrixRows = [...views].map(([asset, v]) => {
    const old = !daysChanged && !changed.has(asset) ? oldRows.get(asset) : undefined;
    return old ?? matrixRow(asset, v.rows, columns.length, col);
  });
  return { p, days, views, columns, matrixRows, json: {} };
}

/** The worst status per day of the asset's units (hours folded into their day). */
function matrixRow(asset: string, rows: UnitRow[], n: number, col: Map<string, number>): MatrixRow {
  const rank = (s: UnitStatus) => STATUS_ORDER.indexOf(s);
  const cells: (UnitStatus | undefined)[] = new Array(n);
  let whole: UnitStatus | undefined;
  for (const u of rows) {
    if (!isTime(u.partition)) {
      whole = whole && rank(whole) <= rank(u.status) ? whole : u.status;
      continue;
    }
    const i = col.get(u.partition.slice(0, 10))!;
    const c = cells[i];
    cells[i] = c && rank(c) <= rank(u.status) ? c : u.status;
  }
  return {
    asset,
    whole: whole ? STATUS_CODE[whole] : null,
    cells: Array.from(cells, (c) => (c ? STATUS_CODE[c] : '.')).join(''),
  };
}

function daysOf(rows: UnitRow[]): string[] {
  const s = new Set<string>();
  for (const r of rows) if (isTime(r.partition)) s.add(r.partition.slice(0, 10));
  return [...s].sort();
}

/** Whether `a` holds the very units of `b` from `i` to `j`. */
function sameRange(a: readonly PlannedUnit[], b: readonly PlannedUnit[], i: number, j: number): boolean {
  if (a.length !== j - i) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[i + k]) return false;
  return true;
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
