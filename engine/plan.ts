import pLimit from 'p-limit';
import type { AnyAsset } from './asset.ts';
import { ioFor, type Definitions } from './definitions.ts';
import type { RunReason } from './events.ts';
import { partitionKeys } from './partitions.ts';
import type { StateStore } from './state.ts';
import { decide, inputReasons, ownReasons, viewOf, type Decision, type UpstreamView } from './staleness.ts';

export type { Decision } from './staleness.ts';

export interface PlannedUnit {
  id: string;
  asset: string;
  partition: string;
  decision: Decision;
  /** Why the unit is not up to date (empty when it is). */
  reasons: RunReason[];
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
  /** Inclusive day range; hourly assets get each day's 24 hours, unpartitioned ones "all". */
  days: { from: string; to: string };
  force?: boolean;
  /** Check with the IO manager that recorded outputs still exist (default true). */
  verifyStorage?: boolean;
  signal?: AbortSignal;
}

export const unitId = (asset: string, partition: string): string => `${asset}[${partition}]`;

class Unit implements PlannedUnit {
  constructor(
    readonly asset: string,
    readonly partition: string,
    public decision: Decision,
    public reasons: RunReason[],
    readonly dataVersion: string | null,
  ) {}
  get id(): string {
    return unitId(this.asset, this.partition);
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
  const keyCache = new Map<string, string[]>();
  const keysOf = (a: AnyAsset): string[] => {
    const k = a.partitions ? `${a.partitions.kind}:${a.partitions.timezone}` : 'none';
    let keys = keyCache.get(k);
    if (!keys) keyCache.set(k, (keys = partitionKeys(a.partitions, opts.days.from, opts.days.to)));
    return keys;
  };

  // Which partitions of which assets are assessed: the selection's, then, from the most downstream
  // asset up, every partition a needed unit reads.
  const inRange = new Map<string, Set<string>>();
  const needed = new Map<string, Set<string>>();
  for (const key of opts.selected) {
    const ps = new Set(keysOf(graph.get(key)));
    inRange.set(key, ps);
    needed.set(key, new Set(ps));
  }
  for (const key of [...graph.order].reverse()) {
    const ps = needed.get(key);
    if (!ps) continue;
    for (const d of graph.depsOf(key)) {
      if (d.self) continue;
      for (const p of ps) for (const q of d.mapping.upstream(p)) addTo(needed, d.assetKey, q);
    }
  }

  const observations = new Map<string, string>();
  const sourceUnits = [...needed].flatMap(([k, ps]) =>
    graph.get(k).kind === 'source' ? [...ps].map((p) => [k, p] as const) : [],
  );
  await pLimit(16).map(sourceUnits, async ([k, p]) => {
    opts.signal?.throwIfAborted();
    const src = graph.get(k);
    try {
      const obs = await defs.sources.observe(src.locate!(p), opts.signal);
      observations.set(unitId(k, p), obs.dataVersion);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      // An unreadable source must fail only its dependents, when they read it, not the whole plan.
      observations.set(unitId(k, p), `unobservable:${(err as Error).message}`);
    }
  });

  // A recorded value that storage no longer holds (deleted or replaced behind the engine's back) is missing.
  const notStored = new Set<string>();
  if (opts.verifyStorage !== false) {
    const toVerify = [...needed].flatMap(([k, ps]) => {
      const a = graph.get(k);
      if (a.kind === 'source') return [];
      const recorded = state.partitionsOf(k);
      return [...ps].filter((p) => recorded[p]?.dataVersion).map((p) => [a, p] as const);
    });
    await pLimit(16).map(toVerify, async ([a, p]) => {
      opts.signal?.throwIfAborted();
      const st = await ioFor(defs, a).stat({ assetKey: a.key, partitionKey: p, ioMeta: a.ioMeta });
      if (!st || st.dataVersion !== state.get(a.key, p)?.dataVersion) notStored.add(unitId(a.key, p));
    });
  }

  const units: PlannedUnit[] = [];
  const index = new UnitIndex();
  const contextIndex = new UnitIndex();
  const views = new UnitIndex<UpstreamView>();
  const view = (asset: string, partition: string): UpstreamView =>
    views.get(asset, partition) ?? {
      state: 'fresh',
      version: state.get(asset, partition)?.dataVersion ?? null,
    };

  for (const key of graph.order) {
    const ps = needed.get(key);
    if (!ps) continue;
    const a = graph.get(key);
    const sorted = [...ps].sort();
    if (a.kind === 'source') {
      for (const p of sorted) {
        const u = new Unit(key, p, 'observe', [], observations.get(unitId(key, p)) ?? null);
        units.push(u);
        index.set(key, p, u);
        views.set(key, p, { state: 'fresh', version: u.dataVersion });
      }
      continue;
    }
    const deps = graph.depsOf(key);
    const range = inRange.get(key);
    // The unit's own partitions in order first (a self dependency reads an earlier one).
    for (const p of sorted) {
      const rec = state.get(key, p);
      const selected = !!range?.has(p);
      const reasons = [
        ...ownReasons(a, rec, { force: opts.force && selected, stored: !notStored.has(unitId(key, p)) }),
        ...inputReasons(deps, p, rec, view),
      ];
      const decision = decide(reasons, selected);
      const u = new Unit(key, p, decision, reasons, rec?.dataVersion ?? null);
      if (selected) {
        units.push(u);
        index.set(key, p, u);
      } else {
        contextIndex.set(key, p, u);
      }
      views.set(key, p, viewOf(key, p, decision, reasons, u.dataVersion));
    }
  }

  const present = new Set(units.map((u) => u.asset));
  let byIdCache: Map<string, PlannedUnit> | undefined;
  return {
    units,
    unit: (a, p) => index.get(a, p),
    context: (a, p) => contextIndex.get(a, p),
    get byId() {
      return (byIdCache ??= new Map(units.map((u) => [u.id, u])));
    },
    assets: graph.order.filter((k) => present.has(k)),
    selected: opts.selected,
  };
}

/** Nested maps, not "asset[partition]" strings: a 730,000-unit plan would allocate as many keys. */
class UnitIndex<T = PlannedUnit> {
  private readonly m = new Map<string, Map<string, T>>();
  get(asset: string, partition: string): T | undefined {
    return this.m.get(asset)?.get(partition);
  }
  set(asset: string, partition: string, v: T): void {
    let inner = this.m.get(asset);
    if (!inner) this.m.set(asset, (inner = new Map()));
    inner.set(partition, v);
  }
}

function addTo(m: Map<string, Set<string>>, k: string, v: string): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}
