import { NO_DATA, type AnyAsset } from './asset.ts';
import { codeChanges } from './code-manifest.ts';
import { ioFor, type Definitions } from './definitions.ts';
import type { RunReason } from './events.ts';
import { failureMessage, observeSources } from './observe-sources.ts';
import { isIdentity, partitionKeys } from './partitions.ts';
import { forEachLimited } from './pool.ts';
import type { MaterializationRecord, StateStore } from './state.ts';
import type { ResolvedDep } from './graph.ts';
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
  /**
   * An earlier plan of the same definitions, state dir, selection, range and options (not forced):
   * only the units whose index record differs from the one that plan read, and those that read a unit
   * whose assessment changed (transitively), are assessed again; the others are that plan's units.
   * That plan's source observations (but those of the source units the changed records read: observed
   * again) and its storage checks of the records that did not change are reused, not done again: the
   * caller decides how old they may be. When nothing changed, the earlier plan itself is returned.
   * Ignored when it does not match or
   * was not made with `keepBasis`. An earlier plan serves as `since` once (the later plan takes over
   * what it kept); a second plan since it is made from scratch.
   */
  since?: Plan;
  /**
   * With `since`: observe every source unit and check every stored output again (as a plan from
   * scratch does), and assess again only the units whose observation or storage check changed, with
   * those of changed records and what reads them.
   */
  recheck?: boolean;
  /**
   * Keep what a later plan `since` this one needs (the index read and the units, for as long as this
   * plan is referenced). Units are then shared between such plans: do not execute them (the executor
   * updates a unit's reasons as upstream units are rebuilt).
   */
  keepBasis?: boolean;
}

/** What a plan was made from, kept for a later plan `since` it. */
interface PlanBasis {
  defs: Definitions;
  stateDir: string;
  days: { from: string; to: string };
  selected: ReadonlySet<string>;
  verify: boolean;
  needed: ReadonlyArray<readonly [string, readonly string[]]>;
  /** The index of each asset as read (the same object again when its file did not change). */
  records: Map<string, Readonly<Record<string, MaterializationRecord>>>;
  index: UnitIndex<Unit>;
  /** Handed over to the plan made since this one, as `notStored`. */
  observations: Map<string, string>;
  /** Handed over to the plan made since this one (not copied: 365,000 entries when storage is gone). */
  notStored: Set<string>;
}
const bases = new WeakMap<Plan, PlanBasis>();

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

  const verify = opts.verifyStorage !== false;
  const prev = opts.since && reusable(bases.get(opts.since), defs, state, opts, verify, needed);
  // A basis serves one later plan: this one takes it over (its storage checks are updated in place).
  if (prev) bases.delete(opts.since!);
  const records: PlanBasis['records'] = new Map();
  for (const [k] of needed) if (graph.get(k).kind !== 'source') records.set(k, state.partitionsOf(k));
  const changedRecords = prev ? recordChanges(prev.records, records) : undefined;
  const recheck = !!prev && opts.recheck === true;

  const observations = prev ? prev.observations : new Map<string, string>();
  // Since an earlier plan, the source units that the changed records read are observed again (a run
  // recorded what it read: its units must be judged against the same files); the others are reused.
  const sourceUnits =
    prev && !recheck
      ? sourcesReadBy(changedRecords!, graph, prev.index)
      : needed.flatMap(([k, ps]) => (graph.get(k).kind === 'source' ? ps.map((p) => [k, p] as const) : []));
  const changedSources = new Map<string, Set<string>>();
  // A configuration error (marked `fatal`, e.g. access denied) stops the plan: every unit would fail.
  await observeSources(
    defs.sources,
    sourceUnits,
    ([k, p]) => graph.get(k).locate!(p),
    ([k, p], r) => {
      // A partition without any file has no data: not an empty file set (dependents see it as missing).
      // An unreadable source fails only its dependents, when they read it, not the whole plan.
      const version =
        r.status === 'rejected'
          ? `unobservable:${failureMessage(r.reason)}`
          : r.value.fileCount === 0
            ? NO_DATA
            : r.value.dataVersion;
      const id = unitId(k, p);
      if (prev && observations.get(id) !== version) addTo(changedSources, k, p);
      observations.set(id, version);
    },
    opts.signal,
  );

  // A recorded value that storage no longer holds (deleted or replaced behind the engine's back) is missing.
  const notStored = prev && !recheck ? prev.notStored : new Set<string>();
  /** Since an earlier plan: units whose record or storage check changed. */
  const changedOwn = new Map<string, Set<string>>();
  for (const [k, ps] of changedRecords ?? []) changedOwn.set(k, new Set(ps));
  if (verify) {
    const toVerify = needed.flatMap(([k, ps]) => {
      const a = graph.get(k);
      if (a.kind === 'source') return [];
      const recorded = records.get(k)!;
      // A unit recorded as having no data has nothing stored to check.
      const has = (p: string) => recorded[p]?.dataVersion && recorded[p].dataVersion !== NO_DATA;
      if (!changedRecords || recheck) return ps.filter(has).map((p) => [a, p] as const);
      // Since an earlier plan: only the records that changed.
      const changed = changedRecords.get(k);
      if (!changed) return [];
      for (const p of changed) notStored.delete(unitId(k, p));
      return ps.filter((p) => changed.has(p) && has(p)).map((p) => [a, p] as const);
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
    if (recheck)
      for (const [a, p] of toVerify) {
        const id = unitId(a.key, p);
        if (notStored.has(id) !== prev.notStored.has(id)) addTo(changedOwn, a.key, p);
      }
  }

  const explainCode = (a: AnyAsset, from: string) => codeChanges(state.dir, a, from);
  const units: Unit[] = [];
  const index = new UnitIndex<Unit>();
  const view = (asset: string, partition: string): UpstreamView =>
    index.get(asset, partition)?.upstreamView() ?? {
      state: 'fresh',
      version: state.get(asset, partition)?.dataVersion ?? null,
    };

  // Nothing changed since the earlier plan: it is still this plan.
  if (prev && !changedOwn.size && !changedSources.size) {
    if (recheck) prev.notStored = notStored;
    if (opts.keepBasis) bases.set(opts.since!, { ...prev, records });
    return opts.since!;
  }

  // Since an earlier plan: units whose assessment may differ from that plan's (their record changed, or
  // a unit they read was assessed differently), by asset.
  const changedView = new Map<string, Set<string>>();
  for (const [k, ps] of [...changedOwn, ...changedSources]) changedView.set(k, new Set(ps));

  const present = new Set<string>();
  for (const [key, ps] of needed) {
    if (units.length) present.add(units[units.length - 1]!.asset);
    const a = graph.get(key);
    const old = prev?.index.slotsOf(key);
    const deps = graph.depsOf(key);
    if (
      old &&
      !changedOwn.has(key) &&
      !changedSources.has(key) &&
      (a.kind === 'source' || !deps.some((d) => changedView.has(d.assetKey)))
    ) {
      // Nothing it reads or holds changed: the earlier plan's units of this asset, its very array.
      index.adopt(key, prev!.index, key);
      for (let i = 0; i < ps.length; i++) if (old[i]!.selected) units.push(old[i]!);
      continue;
    }
    const slots = index.add(key, ps);
    if (a.kind === 'source') {
      const seen = changedSources.get(key);
      for (let i = 0; i < ps.length; i++) {
        const p = ps[i]!;
        const was = old?.[i];
        const u =
          was && !seen?.has(p)
            ? was
            : new Unit(key, p, 'observe', [], observations.get(unitId(key, p)) ?? null, true);
        units.push(u);
        slots[i] = u;
      }
      continue;
    }
    const recorded = records.get(key)!;
    const ownChanged = changedOwn.get(key);
    // Without partitions from outside the range, every one is selected or none is (no set lookup each).
    const allSelected = !extra.has(key) && opts.selected.has(key);
    // Partitions in order: a self dependency reads an earlier one.
    for (let i = 0; i < ps.length; i++) {
      const p = ps[i]!;
      const was = old?.[i];
      if (was && !ownChanged?.has(p) && !readsChanged(deps, p, changedView)) {
        if (was.selected) units.push(was);
        slots[i] = was;
        continue;
      }
      const rec = recorded[p];
      const selected = allSelected || inRange(key, p);
      const stored = !notStored.size || !notStored.has(unitId(key, p));
      const own = ownReasons(a, rec, { force: opts.force && selected, stored, codeChanges: explainCode });
      const reasons = inputReasons(deps, p, rec, view, own);
      let u = new Unit(key, p, decide(reasons, selected), reasons, rec?.dataVersion ?? null, selected);
      if (was) {
        if (sameAssessment(was, u)) u = was;
        else addTo(changedView, key, p);
      }
      if (selected) units.push(u);
      slots[i] = u;
    }
  }

  if (units.length) present.add(units[units.length - 1]!.asset);
  let byIdCache: Map<string, PlannedUnit> | undefined;
  const basis: PlanBasis = {
    defs,
    stateDir: state.dir,
    days: opts.days,
    selected: new Set(opts.selected),
    verify,
    needed,
    records,
    index,
    observations,
    notStored,
  };
  const selectedUnit = (a: string, p: string) => {
    const u = index.get(a, p);
    return u?.selected ? u : undefined;
  };
  const result: Plan = {
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
  if (opts.keepBasis && !opts.force) bases.set(result, basis);
  return result;
}

/** The earlier plan's basis when a plan `since` it may reuse its units. */
function reusable(
  b: PlanBasis | undefined,
  defs: Definitions,
  state: StateStore,
  opts: PlanOptions,
  verify: boolean,
  needed: ReadonlyArray<readonly [string, readonly string[]]>,
): PlanBasis | undefined {
  if (!b || opts.force || b.defs !== defs || b.stateDir !== state.dir || b.verify !== verify)
    return undefined;
  if (b.days.from !== opts.days.from || b.days.to !== opts.days.to) return undefined;
  if (b.selected.size !== opts.selected.size || [...opts.selected].some((k) => !b.selected.has(k)))
    return undefined;
  // The same units in the same order (the range's keys can grow with the clock).
  if (b.needed.length !== needed.length) return undefined;
  for (let i = 0; i < needed.length; i++) {
    const [k, ps] = needed[i]!;
    const [bk, bps] = b.needed[i]!;
    if (k !== bk || ps.length !== bps.length) return undefined;
    for (let j = 0; j < ps.length; j++) if (ps[j] !== bps[j]) return undefined;
  }
  return b;
}

/** The source units (in the earlier plan) that the changed records' units read. */
function sourcesReadBy(
  changed: ReadonlyMap<string, ReadonlySet<string>>,
  graph: Definitions['graph'],
  index: UnitIndex<Unit>,
): (readonly [string, string])[] {
  const out = new Map<string, readonly [string, string]>();
  for (const [k, ps] of changed)
    for (const d of graph.depsOf(k)) {
      if (graph.get(d.assetKey).kind !== 'source') continue;
      for (const p of ps)
        for (const q of d.mapping.upstream(p))
          if (index.get(d.assetKey, q)) out.set(unitId(d.assetKey, q), [d.assetKey, q]);
    }
  return [...out.values()];
}

/** Per asset, the partitions whose record differs between two reads of the index. */
function recordChanges(before: PlanBasis['records'], now: PlanBasis['records']): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [k, cur] of now) {
    const old = before.get(k);
    if (old === cur) continue;
    const keys = new Set([...Object.keys(old ?? {}), ...Object.keys(cur)]);
    for (const p of keys) {
      const x = old?.[p];
      const y = cur[p];
      if (x !== y && JSON.stringify(x) !== JSON.stringify(y)) addTo(out, k, p);
    }
  }
  return out;
}

/** Whether partition `p` of an asset reads a unit in `changed` through one of its deps. */
function readsChanged(
  deps: readonly ResolvedDep[],
  p: string,
  changed: ReadonlyMap<string, ReadonlySet<string>>,
): boolean {
  for (const d of deps) {
    const set = changed.get(d.assetKey);
    if (!set) continue;
    if (isIdentity(d.mapping)) {
      if (!d.self && set.has(p)) return true;
    } else for (const q of d.mapping.upstream(p)) if (!(d.self && q === p) && set.has(q)) return true;
  }
  return false;
}

function sameAssessment(a: Unit, b: Unit): boolean {
  return (
    a.decision === b.decision &&
    a.dataVersion === b.dataVersion &&
    (a.reasons === b.reasons ||
      (a.reasons.length === b.reasons.length && JSON.stringify(a.reasons) === JSON.stringify(b.reasons)))
  );
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

  slotsOf(asset: string): readonly T[] | undefined {
    return this.byAsset.get(asset)?.slots;
  }

  /** Shares another index's entry of an asset (never written again once built). */
  adopt(asset: string, other: UnitIndex<T>, from: string): void {
    this.byAsset.set(asset, other.byAsset.get(from)!);
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
