import pLimit from 'p-limit';
import type { AnyAsset } from './asset.ts';
import { ioFor, type Definitions } from './definitions.ts';
import type { RunReason } from './events.ts';
import type { ResolvedDep } from './graph.ts';
import { partitionKeys } from './partitions.ts';
import type { StateStore } from './state.ts';

export type Decision = 'run' | 'skip' | 'observe';

export interface PlannedUnit {
  id: string;
  asset: string;
  partition: string;
  decision: Decision;
  reasons: RunReason[];
  /** Source units: the observed data version. Others: the recorded one, if any. */
  dataVersion: string | null;
}

export interface Plan {
  units: PlannedUnit[];
  /** The planned unit of an asset × partition, if any. */
  unit(asset: string, partition: string): PlannedUnit | undefined;
  /** The same, keyed by `asset[partition]` (built on first use). */
  readonly byId: Map<string, PlannedUnit>;
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
export const inputKey = (dep: string, partition: string): string => `${dep}@${partition}`;

/**
 * Decides run/skip for every selected asset × partition, with reasons (Dataform-style pure stage apart
 * from reading the state and observing sources). Sources upstream of the selection are observed so
 * their data versions can be compared.
 */
export async function plan(defs: Definitions, state: StateStore, opts: PlanOptions): Promise<Plan> {
  const { graph } = defs;
  const units: PlannedUnit[] = [];
  // Nested maps, not "asset[partition]" strings: a 730,000-unit plan would allocate as many keys.
  const index = new Map<string, Map<string, PlannedUnit>>();
  const add = (u: PlannedUnit): void => {
    units.push(u);
    let m = index.get(u.asset);
    if (!m) index.set(u.asset, (m = new Map()));
    m.set(u.partition, u);
  };
  const lookup = (asset: string, partition: string): PlannedUnit | undefined =>
    index.get(asset)?.get(partition);
  const keyCache = new Map<string, string[]>();
  const keysOf = (a: AnyAsset): string[] => {
    const k = a.partitions ? `${a.partitions.kind}:${a.partitions.timezone}` : 'none';
    let keys = keyCache.get(k);
    if (!keys) keyCache.set(k, (keys = partitionKeys(a.partitions, opts.days.from, opts.days.to)));
    return keys;
  };

  // Sources feeding the selection (directly or through selected assets) are observed.
  const sourcesNeeded = new Map<string, Set<string>>();
  for (const key of graph.order) {
    if (!opts.selected.has(key)) continue;
    const a = graph.get(key);
    if (a.kind === 'source') {
      for (const p of keysOf(a)) addTo(sourcesNeeded, key, p);
      continue;
    }
    for (const d of graph.depsOf(key)) {
      const up = graph.get(d.assetKey);
      if (up.kind !== 'source') continue;
      for (const p of keysOf(a)) for (const q of d.mapping.upstream(p)) addTo(sourcesNeeded, up.key, q);
    }
  }
  const observations = new Map<string, string>();
  await pLimit(16).map(
    [...sourcesNeeded].flatMap(([k, ps]) => [...ps].map((p) => [k, p] as const)),
    async ([k, p]) => {
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
    },
  );

  for (const key of graph.order) {
    const a = graph.get(key);
    const isSelected = opts.selected.has(key);
    if (a.kind === 'source') {
      const ps = sourcesNeeded.get(key);
      if (!ps) continue;
      for (const p of [...ps].sort()) {
        add(new Unit(key, p, 'observe', [], observations.get(unitId(key, p)) ?? null));
      }
      continue;
    }
    if (!isSelected) continue;
    const recorded = state.partitionsOf(key);
    const deps = graph.depsOf(key);
    for (const p of keysOf(a)) {
      const rec = recorded[p];
      const reasons: RunReason[] = [];
      if (opts.force) reasons.push({ kind: 'forced' });
      if (!rec?.dataVersion) reasons.push({ kind: 'missing' });
      else if (rec.codeVersion !== a.codeVersion)
        reasons.push({ kind: 'code_changed', from: rec.codeVersion ?? '', to: a.codeVersion });
      if (rec?.lastFailure) reasons.push({ kind: 'last_failed', runId: rec.lastFailure.runId });
      if (rec?.inputVersions)
        for (const d of deps) reasons.push(...inputReasons(d, p, rec.inputVersions, versionNow));
      add(new Unit(key, p, reasons.length ? 'run' : 'skip', reasons, rec?.dataVersion ?? null));
    }
  }

  function versionNow(up: string, q: string): string | null | 'pending' {
    const planned = lookup(up, q);
    if (planned?.decision === 'run') return 'pending';
    if (planned) return planned.dataVersion;
    return state.get(up, q)?.dataVersion ?? null;
  }

  if (opts.verifyStorage !== false) {
    // An output deleted (or replaced) behind the engine's back must be rebuilt.
    const toVerify = units.filter((u) => u.decision === 'skip');
    await pLimit(16).map(toVerify, async (u) => {
      const a = graph.get(u.asset);
      const st = await ioFor(defs, a).stat({ assetKey: a.key, partitionKey: u.partition, ioMeta: a.ioMeta });
      if (!st || st.dataVersion !== u.dataVersion) {
        u.decision = 'run';
        u.reasons.push({ kind: 'missing' });
      }
    });
    // A unit turned to run makes its planned dependents wait for it.
    for (const u of units) {
      if (u.decision !== 'skip') continue;
      for (const d of graph.depsOf(u.asset)) {
        for (const q of d.mapping.upstream(u.partition)) {
          if (lookup(d.assetKey, q)?.decision === 'run') {
            u.decision = 'run';
            u.reasons.push({ kind: 'upstream_will_run', input: d.name, partition: q });
          }
        }
      }
    }
  }

  const present = new Set(index.keys());
  let byIdCache: Map<string, PlannedUnit> | undefined;
  return {
    units,
    unit: lookup,
    get byId() {
      return (byIdCache ??= new Map(units.map((u) => [u.id, u])));
    },
    assets: graph.order.filter((k) => present.has(k)),
    selected: opts.selected,
  };
}

/** Compares one dependency's current versions with those recorded at the last materialization. */
export function inputReasons(
  d: ResolvedDep,
  partition: string,
  recorded: Record<string, string | null> | undefined,
  versionNow: (asset: string, partition: string) => string | null | 'pending',
): RunReason[] {
  const out: RunReason[] = [];
  if (!recorded) return out; // never materialized: "missing" already says why
  for (const q of d.mapping.upstream(partition)) {
    if (d.self && q === partition) continue;
    const now = versionNow(d.assetKey, q);
    if (now === 'pending') {
      out.push({ kind: 'upstream_will_run', input: d.name, partition: q });
      continue;
    }
    const before = recorded[inputKey(d.name, q)] ?? null;
    if (before !== now)
      out.push({ kind: 'input_changed', input: d.name, partition: q, from: before, to: now });
  }
  return out;
}

function addTo(m: Map<string, Set<string>>, k: string, v: string): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}
