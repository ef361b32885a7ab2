/**
 * What `plan`, `why`, `materialize` (and `pipeline ui`) select and plan: the selection options → a plan,
 * `status:` terms resolved against a plan of the whole graph. One function for the CLI and the UI.
 */
import {
  parseSelection,
  plan,
  resolveSelection,
  type Definitions,
  type Plan,
  type PlanOptions,
  type StateStore,
  type StatusOf,
} from '../engine/index.ts';
import { checkRange, resolveDays, UsageError } from './days.ts';
import { parseUnit, unitPartition } from './unit-arg.ts';

export interface SelectionOpts {
  all?: boolean;
  /** Variadic on the command line (`--select a b` = `--select "a b"`). */
  select?: string | string[];
  exclude?: string | string[];
  partition?: string;
  from?: string;
  to?: string;
  force?: boolean;
}

export const exprOf = (v: string | string[] | undefined): string | undefined =>
  Array.isArray(v) ? v.join(' ') : v;

/**
 * `--select asset[partition]` (one unit, as runs print it) is `--select asset --partition partition`.
 * A unit among other terms is a usage error: a selection names assets, its partitions are chosen apart.
 */
export function withUnitSelection<O extends SelectionOpts>(o: O): O {
  const expr = exprOf(o.select);
  if (expr === undefined) return o;
  const terms = expr.split(/[\s,]+/).filter(Boolean);
  const term = terms.find((t) => parseUnit(t));
  if (term === undefined) return o;
  if (terms.length > 1)
    throw new UsageError(
      `--select ${expr}: ${term} is one unit; select it alone, or select assets and give --partition or --from/--to`,
    );
  const unit = parseUnit(term)!;
  if (o.from !== undefined || o.to !== undefined)
    throw new UsageError(`--select ${term} names one partition: no --from/--to with it`);
  return { ...o, select: unit.asset, partition: unitPartition(term, unit, o.partition) };
}

/** Plans the selection; status: terms are resolved against a plan of the whole graph. */
export async function planSelection(
  rt: { defs: Definitions; state: StateStore },
  o: SelectionOpts,
  signal?: AbortSignal,
  /** For the selection's plan (the UI's plans since its previous one). */
  reuse: Pick<PlanOptions, 'since' | 'recheck' | 'keepBasis'> = {},
): Promise<{ p: Plan; days: { from: string; to: string; origin: string } }> {
  const { graph } = rt.defs;
  o = withUnitSelection(o);
  const days = await resolveDays(o, rt.defs.sources);
  let selected: Set<string>;
  if ((o.all || !o.select) && !o.exclude) {
    selected = new Set(graph.order);
  } else {
    const terms = parseSelection(exprOf(o.select) ?? '*');
    const exclude = o.exclude ? parseSelection(exprOf(o.exclude)!) : [];
    let statusOf: StatusOf | undefined;
    if ([...terms, ...exclude].some((t) => t.kind === 'status')) {
      // Statuses are those of the whole graph's plan: the same rules as `why` and `plan --all`.
      const full = await plan(rt.defs, rt.state, { selected: new Set(graph.order), days, signal });
      const byAsset = new Map<string, Plan['units']>();
      for (const u of full.units) {
        if (u.decision === 'observe') continue;
        const list = byAsset.get(u.asset);
        if (list) list.push(u);
        else byAsset.set(u.asset, [u]);
      }
      statusOf = (k) => {
        const us = byAsset.get(k) ?? [];
        const has = (...kinds: string[]) => us.some((u) => u.reasons.some((r) => kinds.includes(r.kind)));
        return {
          missing: has('missing'),
          failed: has('last_failed', 'check_failed'),
          stale: us.some((u) => u.reasons.length > 0),
        };
      };
    }
    selected = resolveSelection(terms, graph, statusOf, exclude);
    if (!selected.size)
      throw new UsageError(
        `--select ${exprOf(o.select) ?? '*'}${o.exclude ? ` --exclude ${exprOf(o.exclude)}` : ''}: no asset matches (see \`pipeline list\`, \`pipeline plan --all\`)`,
      );
  }
  // An explicit range before an asset's first partition (or after its last) is an error, not empty work.
  checkRange(graph, selected, days);
  const p = await plan(rt.defs, rt.state, { selected, days, force: o.force, signal, ...reuse });
  return { p, days };
}

/** `N to run, M up to date[, K stale but not selected][, B blocked by checks]`. */
export function planSummary(units: Plan['units']): string {
  const n = (pred: (u: Plan['units'][number]) => boolean) => units.filter(pred).length;
  const stale = n((u) => u.decision === 'skip' && u.reasons.length > 0);
  const blocked = n((u) => u.decision === 'blocked');
  return [
    `${n((u) => u.decision === 'run')} to run`,
    `${n((u) => u.decision === 'skip' && !u.reasons.length)} up to date`,
    ...(stale ? [`${stale} stale but not selected (their upstream is stale: select it too, e.g. +key)`] : []),
    ...(blocked ? [`${blocked} blocked by failed checks`] : []),
  ].join(', ');
}
