import { NO_DATA, type AnyAsset } from './asset.ts';
import { codeChanges } from './code-manifest.ts';
import { ioFor, type Definitions } from './definitions.ts';
import type { RunReason } from './events.ts';
import { isIdentity, partitionKeys } from './partitions.ts';
import { forEachLimited } from './pool.ts';
import type { StateStore } from './state.ts';
import { decide, inputReasons, ownReasons, viewOf, type Decision, type UpstreamView } from './staleness.ts';

export type { Decision } from './staleness.ts';

export interface PlannedUnit {
  id: string;
  asset: string;
  partition: string;
  decision: Decision;
  /** Why the unit is not up to date (empty when it is). Shared between units: never mutate it. */
  reasons: readonly RunReason[];
  /** Source units: the observed data version. Others: the recorded one, if any. */
  dataVersion: string | null;
}

export interface Plan {
  /** Sources observed and selected assets' units, in topological order. */
  units: PlannedUnit[];
  /** The planned unit of an asset × partition, if any. */
  unit(asset: string, partition: string): PlannedUnit | undefined;
  /** The same, keyed by `asset[partition]` (built on first use). */
  readonly byId: Map<string, PlannedUnit>;
  /**
   * Units of unselected upstream assets (and of selected ones outside the day range) that the selected
   * units read: assessed the same way (decision skip or blocked), never executed.
   */
  context(asset: string, partition: string): PlannedUnit | undefined;
  /** Asset keys in topological order that have units in the plan (sources included). */
  assets: string[];
  selected: Set<string>;
}

export interface PlanOptions {
  selected: Set<string>;
  /**
   * Inclusive range, bounds written as time keys of any cadence (usually days): each asset gets its
   * partitions whose windows lie within it (`partitionKeys`: a day's 23–25 hours, the weeks and months
   * wholly inside; clipped to each definition's start and end); static assets every key (or from..to
   * when both are keys of theirs); unpartitioned ones "all".
   */
  days: { from: string; to: string };
  force?: boolean;
  /** Check with the IO manager that recorded outputs still exist (default true). */
  verifyStorage?: boolean;
  signal?: AbortSignal;
}

export const unitId = (asset: string, partition: string): string => `${asset}[${partition}]`;

class Unit implements PlannedUnit {
  private view?: UpstreamView;
  constructor(
    readonly asset: string,
    readonly partition: string,
    public decision: Decision,
    public reasons: readonly RunReason[],
    readonly dataVersion: string | null,
    /** False for context units (read by the selection, not executed). */
    readonly selected: boolean,
  ) {}
  get id(): string {
    return unitId(this.asset, this.partition);
  }
  /** How dependents see this unit (as assessed by the plan). */
  upstreamView(): UpstreamView {
    return (this.view ??= viewOf(this.asset, this.partition, this.decision, this.reasons, this.dataVersion));
  }
}

/**
 * Decides run/skip/blocked for every selected asset × partition, with reasons. Every unit the selection
 * reads is assessed, upstream of the selection too (unselected assets are not rebuilt, but a stale one
 * makes its dependents stale), so a unit's status never depends on what else was selected: `why`,
 * `plan`, `status:` and the executor share `engine/staleness.ts`. Sources feeding them are observed.
 */
export async function plan(defs: Definitions, state: StateStore, opts: PlanOptions): Promise<Plan> {
  const { graph } = defs;
  await state.load(graph.order);
  const keyCache = new Map<string, { keys: string[]; set: Set<string> }>();
  const rangeOf = (a: AnyAsset): { keys: string[]; set: Set<string> } => {
    const k = a.partitions?.id ?? 'none';
    let r = keyCache.get(k);
    if (!r) {
      const keys = partitionKeys(a.partitions, opts.days.from, opts.days.to);
      keyCache.set(k, (r = { keys, set: new Set(keys) }));
    }
    return r;
  };
  const selectedRange = new Map<string, Set<string>>();
  for (const key of opts.selected) selectedRange.set(key, rangeOf(graph.get(key)).set);
  const inRange = (key: string, p: string): boolean => !!selectedRange.get(key)?.has(p);

  // Which partitions are assessed: the selected assets' in the day range, then, from the most downstream
  // asset up, every other partition a needed unit reads (`extra`: upstream of the selection, or outside
  // the range). Shared arrays and sets for the range: a 730,000-unit plan must not copy them per asset.
  const extra = new Map<string, Set<string>>();
  const partitionsOf = (key: string): string[] => {
    const own = opts.selected.has(key) ? rangeOf(graph.get(key)).keys : [];
    const more = extra.get(key);
    return more ? [...own, ...more].sort() : own;
  };
  for (const key of [...graph.order].reverse()) {
    const ps = partitionsOf(key);
    for (const d of graph.depsOf(key)) {
      if (d.self) continue;
      // Fast path: same partitions upstream, all in its selected range already.
      const range = selectedRange.get(key);
      if (range && isIdentity(d.mapping) && !extra.has(key) && selectedRange.get(d.assetKey) === range)
        continue;
      for (const p of ps)
        for (const q of d.mapping.upstream(p)) if (!inRange(d.assetKey, q)) addTo(extra, d.assetKey, q);
    }
  }
  const needed = graph.order.flatMap((k) => {
    const ps = partitionsOf(k);
    return ps.length ? [[k, ps] as const] : [];
  });

  const observations = new Map<string, string>();
  const sourceUnits = needed.flatMap(([k, ps]) =>
    graph.get(k).kind === 'source' ? ps.map((p) => [k, p] as const) : [],
  );
  await forEachLimited(sourceUnits, 16, async ([k, p]) => {
    opts.signal?.throwIfAborted();
    const src = graph.get(k);
    try {
      const obs = await defs.sources.observe(src.locate!(p), opts.signal);
      // A partition without any file has no data: not an empty file set (dependents see it as missing).
      observations.set(unitId(k, p), obs.fileCount === 0 ? NO_DATA : obs.dataVersion);
    } catch (err) {
      // A configuration error (marked `fatal`, e.g. access denied) stops the plan: every unit would fail.
      if (opts.signal?.aborted || (err as { fatal?: unknown } | null)?.fatal === true) throw err;
      // An unreadable source must fail only its dependents, when they read it, not the whole plan.
      observations.set(unitId(k, p), `unobservable:${(err as Error).message}`);
    }
  });

  // A recorded value that storage no longer holds (deleted or replaced behind the engine's back) is missing.
  const notStored = new Set<string>();
  if (opts.verifyStorage !== false) {
    const toVerify = needed.flatMap(([k, ps]) => {
      const a = graph.get(k);
      if (a.kind === 'source') return [];
      const recorded = state.partitionsOf(k);
      // A unit recorded as having no data has nothing stored to check.
      const has = (p: string) => recorded[p]?.dataVersion && recorded[p].dataVersion !== NO_DATA;
      return ps.filter(has).map((p) => [a, p] as const);
    });
    // The IO manager's fast path first (one synchronous file stat against the stamp its store recorded);
    // the full `stat` for the rest.
    const toStat = toVerify.filter(([a, p]) => {
      const io = ioFor(defs, a);
      const stamp = state.get(a.key, p)?.metadata?.storageStamp;
      const ctx = { assetKey: a.key, partitionKey: p, storage: a.storage };
      return !(io.isUnchanged && typeof stamp === 'string' && io.isUnchanged(ctx, stamp));
    });
    await forEachLimited(toStat, 16, async ([a, p]) => {
      opts.signal?.throwIfAborted();
      const st = await ioFor(defs, a).stat({ assetKey: a.key, partitionKey: p, storage: a.storage });
      if (!st || st.dataVersion !== state.get(a.key, p)?.dataVersion) notStored.add(unitId(a.key, p));
    });
  }

  const explainCode = (a: AnyAsset, from: string) => codeChanges(state.dir, a, from);
  const units: Unit[] = [];
  const index = new UnitIndex<Unit>();
  const view = (asset: string, partition: string): UpstreamView =>
    index.get(asset, partition)?.upstreamView() ?? {
      state: 'fresh',
      version: state.get(asset, partition)?.dataVersion ?? null,
    };

  for (const [key, ps] of needed) {
    const a = graph.get(key);
    const slots = index.add(key, ps);
    if (a.kind === 'source') {
      for (let i = 0; i < ps.length; i++) {
        const p = ps[i]!;
        const u = new Unit(key, p, 'observe', [], observations.get(unitId(key, p)) ?? null, true);
        units.push(u);
        slots[i] = u;
      }
      continue;
    }
    const deps = graph.depsOf(key);
    const records = state.partitionsOf(key);
    // Without partitions from outside the range, every one is selected or none is (no set lookup each).
    const allSelected = !extra.has(key) && opts.selected.has(key);
    // Partitions in order: a self dependency reads an earlier one.
    for (let i = 0; i < ps.length; i++) {
      const p = ps[i]!;
      const rec = records[p];
      const selected = allSelected || inRange(key, p);
      const stored = !notStored.size || !notStored.has(unitId(key, p));
      const own = ownReasons(a, rec, { force: opts.force && selected, stored, codeChanges: explainCode });
      const reasons = inputReasons(deps, p, rec, view, own);
      const u = new Unit(key, p, decide(reasons, selected), reasons, rec?.dataVersion ?? null, selected);
      if (selected) units.push(u);
      slots[i] = u;
    }
  }

  const present = new Set(units.map((u) => u.asset));
  let byIdCache: Map<string, PlannedUnit> | undefined;
  const selectedUnit = (a: string, p: string) => {
    const u = index.get(a, p);
    return u?.selected ? u : undefined;
  };
  return {
    units,
    unit: selectedUnit,
    context: (a, p) => {
      const u = index.get(a, p);
      return u && !u.selected ? u : undefined;
    },
    get byId() {
      return (byIdCache ??= new Map(units.map((u) => [u.id, u])));
    },
    assets: graph.order.filter((k) => present.has(k)),
    selected: opts.selected,
  };
}

/**
 * Units by asset and partition: per asset an array in the order of its partition keys, and one key →
 * position map per distinct key list (the assets of one range share it). A 730,000-unit plan makes no
 * per-unit map entry.
 */
class UnitIndex<T> {
  private readonly byAsset = new Map<string, { pos: Map<string, number>; slots: T[] }>();
  private readonly positions = new WeakMap<readonly string[], Map<string, number>>();

  get(asset: string, partition: string): T | undefined {
    const e = this.byAsset.get(asset);
    if (!e) return undefined;
    const i = e.pos.get(partition);
    return i === undefined ? undefined : e.slots[i];
  }

  /** The asset's slots, to fill in the order of `keys`. */
  add(asset: string, keys: readonly string[]): T[] {
    let pos = this.positions.get(keys);
    if (!pos) this.positions.set(keys, (pos = new Map(keys.map((k, i) => [k, i]))));
    const slots = new Array<T>(keys.length);
    this.byAsset.set(asset, { pos, slots });
    return slots;
  }
}

function addTo(m: Map<string, Set<string>>, k: string, v: string): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}
