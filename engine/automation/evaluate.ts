/**
 * The automation evaluator: given the definitions, the state, the cursor and the time (an injected
 * clock: nothing here reads the system clock or sleeps), decides which units to request and why.
 *
 * 1. The sensor (sensor.ts) observes the raw partitions; compared with the cursor they give the days
 *    whose raw data is new or changed (on the first evaluation of a process: every day found).
 * 2. `eager` assets: those days are planned with the engine's planner (`plan`, the same rules as
 *    `pipeline plan`), so only stale units are candidates; a candidate never built before is requested
 *    once it is complete (see `EagerRequire`), one built before as soon as its inputs changed.
 * 3. `onCron` schedules: the ticks since the cursor's last one; several missed ticks make one request
 *    (their partitions together), planned the same way: nothing is requested when all is up to date.
 * 4. `freshness`: the lag of each asset's latest partition.
 *
 * The requests are what a daemon then runs (through the same planner again, under the run lock); the new
 * cursor is to be saved once those runs ended, so a run cut short is requested again after a restart,
 * and a tick is never handled twice.
 */
import { NO_DATA, type AnyAsset } from '../asset.ts';
import type { Definitions } from '../definitions.ts';
import { plan, unitId, type Plan } from '../plan.ts';
import { UNPARTITIONED, type TimeWindowPartitions } from '../partitions.ts';
import type { StateStore } from '../state.ts';
import { dayNumber, windowAt, windowOf } from '../time-windows.ts';
import { nextTick, scheduleId, tickPartition, ticksBetween } from './cron.ts';
import {
  automationOf,
  scheduleZone,
  type CronAutomation,
  type EagerRequire,
  type FreshnessPolicy,
} from './declarations.ts';
import { dayOfPartition, diffScan, scanSources, type RawChange, type SourceScan } from './sensor.ts';
import type { AutomationCursor, DecisionRecord } from './store.ts';

/** A run to start: what `pipeline materialize --select … --partition …` would be given. */
export interface RunRequest {
  condition: 'eager' | 'cron';
  /** A selection expression (`a b`, `+a`). */
  select: string;
  partition?: string;
  from?: string;
  to?: string;
  /** The units the evaluator planned to run (`asset[partition]`); the run plans again under the lock. */
  units: string[];
  why: string;
}

export interface FreshnessStatus {
  asset: string;
  maxLag: string;
  /** Latest partition with data (or `all`), if any. */
  latest?: string;
  lagMs?: number;
  ok: boolean;
  message: string;
}

export interface Evaluation {
  decisions: DecisionRecord[];
  requests: RunRequest[];
  /** The cursor to store once the requests' runs ended. */
  cursor: AutomationCursor;
  changes: RawChange[];
  freshness: FreshnessStatus[];
}

export interface EvaluateOptions {
  defs: Definitions;
  state: StateStore;
  cursor: AutomationCursor;
  /** The clock (epoch ms). */
  now: number;
  /** Evaluation number, for the records. */
  tick: number;
  /** Evaluate every day found, not only those that changed (a daemon's first evaluation). */
  full?: boolean;
  signal?: AbortSignal;
}

const trim = (p: string): string => p.replace(/^\/+|\/+$/g, '');
const iso = (ms: number): string => new Date(ms).toISOString();

function listed(units: readonly string[], max = 6): string {
  return units.length <= max
    ? units.join(', ')
    : `${units.slice(0, max).join(', ')} … (+${units.length - max})`;
}

export async function evaluateAutomation(o: EvaluateOptions): Promise<Evaluation> {
  const { defs, state, now } = o;
  const { graph } = defs;
  await state.load(graph.order);
  const at = iso(now);
  const decisions: DecisionRecord[] = [];
  const record = (d: Omit<DecisionRecord, 'type' | 'at' | 'tick'>) =>
    decisions.push({ type: 'decision', at, tick: o.tick, ...d });
  const requests: RunRequest[] = [];

  // ---- 1. the sensor ----
  const scan = await scanSources(defs, { now, signal: o.signal, previous: o.cursor });
  const changes = diffScan(o.cursor.sources, scan);
  const sources: AutomationCursor['sources'] = {};
  for (const [k, seen] of Object.entries(scan.seen)) sources[k] = { ...seen };
  for (const e of scan.errors) {
    const prev = o.cursor.sources[e.source]?.[e.partition];
    if (prev !== undefined) sources[e.source]![e.partition] = prev;
  }
  const cursor: AutomationCursor = {
    version: 1,
    sources,
    roots: scan.roots,
    cron: { ...o.cursor.cron },
    evaluatedAt: at,
  };
  const firstEver = !o.cursor.evaluatedAt;
  const observed = Object.values(scan.seen).reduce((n, s) => n + Object.keys(s).length, 0);
  if (changes.length)
    record({
      condition: 'sensor',
      outcome: 'info',
      reason: `${changes.length} raw partition(s) new, changed or removed${firstEver ? ' (first evaluation: no cursor yet)' : ''}: ${listed(changes.map((c) => `${c.source}[${c.partition}] ${c.change}`))}`,
    });
  else
    record({
      condition: 'sensor',
      outcome: 'skip',
      reason: `no new or changed raw partition (${observed} with data, as at ${o.cursor.evaluatedAt ?? 'the start'})`,
    });
  for (const e of scan.errors.slice(0, 5))
    record({
      condition: 'sensor',
      outcome: 'info',
      reason: `could not observe ${e.source}[${e.partition}]: ${e.message}`,
    });

  // ---- 2. eager ----
  const eagerKeys = graph.order.filter((k) => automationOf(graph.get(k)).some((a) => a.kind === 'eager'));
  const allDays = o.full || firstEver;
  const days = new Set<string>();
  let wholeChanged = allDays;
  if (allDays) scan.days.forEach((d) => days.add(d));
  for (const c of changes) {
    const def = graph.get(c.source).partitions;
    if (!def || def.kind === 'static') {
      wholeChanged = true;
      scan.days.forEach((d) => days.add(d));
    } else days.add(dayOfPartition(def, c.partition));
  }
  if (eagerKeys.length && (days.size || wholeChanged)) {
    const sorted = [...days].sort();
    const today = windowAt('daily', 'Europe/Paris', now);
    const range = { from: sorted[0] ?? today, to: sorted.at(-1) ?? today };
    const p = await plan(defs, state, { selected: new Set(eagerKeys), days: range, signal: o.signal });
    const affected = (a: AnyAsset, partition: string): boolean => {
      const def = a.partitions;
      if (!def || def.kind === 'static') return wholeChanged || !!changes.length;
      return days.has(dayOfPartition(def, partition));
    };
    const requested = new Set<string>();
    const byAsset = new Map<
      string,
      { run: string[]; wait: string[]; why: string[]; upToDate: number; stale: string[] }
    >();
    for (const u of p.units) {
      if (u.decision === 'observe' || !eagerKeys.includes(u.asset)) continue;
      const a = graph.get(u.asset);
      if (!affected(a, u.partition)) continue;
      let e = byAsset.get(u.asset);
      if (!e) byAsset.set(u.asset, (e = { run: [], wait: [], why: [], upToDate: 0, stale: [] }));
      if (u.decision === 'skip' && !u.reasons.length) {
        e.upToDate++;
        continue;
      }
      if (u.decision !== 'run') {
        const r = u.reasons.find((x) => x.kind === 'upstream_stale' || x.kind === 'blocked_by_check');
        e.stale.push(
          `${u.id}${r && 'asset' in r ? ` (${r.kind === 'blocked_by_check' ? `blocked by check ${r.check} on` : 'upstream stale, not automated:'} ${unitId(r.asset, r.partition)})` : ''}`,
        );
        continue;
      }
      const rec = state.get(u.asset, u.partition);
      const built = rec?.dataVersion !== undefined && rec.dataVersion !== NO_DATA;
      const require = automationOf(a).find((x) => x.kind === 'eager')!.require;
      const missing = built ? [] : incomplete(defs, scan, state, requested, a, u.partition, require);
      if (missing.length) {
        e.wait.push(u.id);
        e.why.push(missing[0]!);
        continue;
      }
      requested.add(u.id);
      e.run.push(u.id);
    }
    for (const [asset, e] of byAsset) {
      const require = automationOf(graph.get(asset)).find((x) => x.kind === 'eager')!.require;
      if (e.run.length)
        record({
          condition: 'eager',
          asset,
          outcome: 'run',
          reason: `${e.run.length} stale unit(s) with ${require === 'any-input' ? 'input data' : `complete inputs (${require})`}: ${listed(e.run)}`,
          units: e.run,
        });
      if (e.wait.length)
        record({
          condition: 'eager',
          asset,
          outcome: 'wait',
          reason: `${e.wait.length} unit(s) not built yet wait for complete inputs (${require}): ${e.wait
            .slice(0, 3)
            .map((id, i) => `${id} ${e.why[i]}`)
            .join('; ')}${e.wait.length > 3 ? ` … (+${e.wait.length - 3})` : ''}`,
          units: e.wait,
        });
      if (e.stale.length)
        record({
          condition: 'eager',
          asset,
          outcome: 'wait',
          reason: `${e.stale.length} stale unit(s) cannot run yet: ${listed(e.stale, 3)}`,
        });
      if (!e.run.length && !e.wait.length && !e.stale.length)
        record({
          condition: 'eager',
          asset,
          outcome: 'skip',
          reason: `nothing to do: ${e.upToDate} affected unit(s) up to date`,
        });
    }
    requests.push(...groupRequests(graph, [...requested], p));
  }

  // ---- 3. cron schedules ----
  for (const key of graph.order) {
    const a = graph.get(key);
    const crons = automationOf(a).filter((x): x is CronAutomation => x.kind === 'cron');
    for (const c of crons) {
      const zone = scheduleZone(a.partitions, c);
      const id = scheduleId(key, c, zone);
      const last = o.cursor.cron[id];
      if (!last) {
        cursor.cron[id] = at;
        const next = nextTick(c, zone, now);
        record({
          condition: 'cron',
          asset: key,
          outcome: 'skip',
          reason: `schedule '${c.cron}' (${zone}) starts now; next tick ${next ? iso(next) : 'none'}`,
        });
        continue;
      }
      const ticks = ticksBetween(c, zone, Date.parse(last), now);
      if (!ticks.length) continue;
      cursor.cron[id] = iso(ticks.at(-1)!);
      const parts = [
        ...new Set(ticks.map((t) => tickPartition(a, c, t)).filter((x) => x !== undefined)),
      ].sort();
      const missed =
        ticks.length > 1 ? ` (${ticks.length} ticks since ${last}, missed while stopped: one request)` : '';
      const what = parts.length
        ? parts.length === 1
          ? parts[0]!
          : `${parts[0]}..${parts.at(-1)}`
        : 'every partition';
      const selected = new Set([key, ...graph.closure(key, 'up')]);
      const range = parts.length
        ? { from: parts[0]!, to: parts.at(-1)! }
        : {
            from: scan.days[0] ?? windowAt('daily', zone, now),
            to: scan.days.at(-1) ?? windowAt('daily', zone, now),
          };
      const p = await plan(defs, state, { selected, days: range, signal: o.signal });
      const toRun = p.units.filter((u) => u.decision === 'run').map((u) => u.id);
      const head = `tick ${iso(ticks.at(-1)!)} of '${c.cron}' (${zone}) for ${what}${missed}`;
      if (!toRun.length) {
        const blocked = p.units.filter((u) => u.decision === 'blocked').length;
        record({
          condition: 'cron',
          asset: key,
          outcome: 'skip',
          reason: `${head}: nothing to do, ${p.units.filter((u) => u.decision === 'skip').length} unit(s) up to date${blocked ? `, ${blocked} blocked by checks` : ''}`,
        });
        continue;
      }
      record({
        condition: 'cron',
        asset: key,
        outcome: 'run',
        reason: `${head}: ${toRun.length} unit(s) to run`,
        units: toRun,
      });
      requests.push({
        condition: 'cron',
        select: `+${key}`,
        ...(parts.length === 1
          ? { partition: parts[0] }
          : parts.length
            ? { from: parts[0], to: parts.at(-1) }
            : {}),
        units: toRun,
        why: head,
      });
    }
  }

  // ---- 4. freshness ----
  const freshness: FreshnessStatus[] = [];
  for (const key of graph.order) {
    const a = graph.get(key);
    for (const f of automationOf(a))
      if (f.kind === 'freshness') freshness.push(freshnessOf(a, f, state, now));
  }
  for (const f of freshness)
    if (!f.ok) record({ condition: 'freshness', asset: f.asset, outcome: 'warn', reason: f.message });

  return { decisions, requests, cursor, changes, freshness };
}

/**
 * Why a unit never built is not complete yet (empty when it is): its direct inputs, or the raw
 * partitions it reads through the graph, without data. Units requested in this evaluation count as
 * coming.
 */
function incomplete(
  defs: Definitions,
  scan: SourceScan,
  state: StateStore,
  requested: Set<string>,
  asset: AnyAsset,
  partition: string,
  require: EagerRequire,
): string[] {
  const { graph } = defs;
  const sourceHas = (src: AnyAsset, q: string) =>
    !!scan.prefixes.get(src.key)?.has(trim(src.locate!(q).prefix));
  const has = (key: string, q: string): boolean => {
    const up = graph.get(key);
    if (up.kind === 'source') return sourceHas(up, q);
    if (requested.has(unitId(key, q))) return true;
    const v = state.get(key, q)?.dataVersion;
    return v !== undefined && v !== NO_DATA;
  };
  if (require === 'all-sources') {
    const missing: string[] = [];
    let total = 0;
    const seen = new Set<string>();
    const visit = (key: string, p: string): void => {
      for (const d of graph.depsOf(key)) {
        if (d.self) continue;
        for (const q of d.mapping.upstream(p)) {
          const id = unitId(d.assetKey, q);
          if (seen.has(id)) continue;
          seen.add(id);
          const up = graph.get(d.assetKey);
          if (up.kind === 'source') {
            total++;
            if (!sourceHas(up, q)) missing.push(id);
          } else visit(d.assetKey, q);
        }
      }
    };
    visit(asset.key, partition);
    return missing.length
      ? [`(${total - missing.length} of ${total} raw partitions have data; missing ${listed(missing, 3)})`]
      : [];
  }
  const inputs: string[] = [];
  const missing: string[] = [];
  for (const d of graph.depsOf(asset.key)) {
    if (d.self) continue;
    for (const q of d.mapping.upstream(partition)) {
      inputs.push(unitId(d.assetKey, q));
      if (!has(d.assetKey, q)) missing.push(unitId(d.assetKey, q));
    }
  }
  if (require === 'any-input')
    return inputs.length && missing.length === inputs.length
      ? [`(no input has data yet: ${listed(missing, 3)})`]
      : [];
  return missing.length
    ? [
        `(${inputs.length - missing.length} of ${inputs.length} inputs have data; missing ${listed(missing, 3)})`,
      ]
    : [];
}

/**
 * Requested units → runs: one per partition key with the assets requested there; consecutive days
 * requesting the same assets share a run (`--from/--to`). Unpartitioned units go with no partition.
 */
function groupRequests(graph: Definitions['graph'], units: string[], p: Plan): RunRequest[] {
  const byPartition = new Map<string, string[]>();
  for (const id of units) {
    const u = p.byId.get(id)!;
    const list = byPartition.get(u.partition) ?? [];
    list.push(u.asset);
    byPartition.set(u.partition, list);
  }
  const order = new Map(graph.order.map((k, i) => [k, i]));
  const entries = [...byPartition.entries()]
    .map(([partition, assets]) => ({
      partition,
      assets: [...new Set(assets)].sort((x, y) => order.get(x)! - order.get(y)!),
    }))
    .sort((x, y) => (x.partition < y.partition ? -1 : 1));
  const out: RunRequest[] = [];
  for (const e of entries) {
    const select = e.assets.join(' ');
    const ids = e.assets.map((a) => unitId(a, e.partition));
    const prev = out.at(-1);
    const day = dayNumber(e.partition);
    const prevEnd = prev ? dayNumber(prev.to ?? prev.partition ?? '') : null;
    if (prev && prev.select === select && day !== null && prevEnd !== null && day === prevEnd + 1) {
      prev.from = prev.from ?? prev.partition;
      prev.to = e.partition;
      delete prev.partition;
      prev.units.push(...ids);
      prev.why = `eager: ${prev.units.length} unit(s)`;
      continue;
    }
    out.push({
      condition: 'eager',
      select,
      ...(e.partition !== UNPARTITIONED && { partition: e.partition }),
      units: ids,
      why: `eager: ${ids.length} unit(s)`,
    });
  }
  return out;
}

/** The lag of an asset's latest partition with data, against its freshness policy. */
export function freshnessOf(
  a: AnyAsset,
  f: FreshnessPolicy,
  state: StateStore,
  now: number,
): FreshnessStatus {
  const recs = Object.entries(state.partitionsOf(a.key)).filter(
    ([, r]) => r.dataVersion !== undefined && r.dataVersion !== NO_DATA,
  );
  const base = { asset: a.key, maxLag: f.maxLag };
  if (!recs.length)
    return { ...base, ok: false, message: `${a.key}: never materialized (max lag ${f.maxLag})` };
  const def = a.partitions;
  let latest: string;
  let lagMs: number;
  if (def && def.kind !== 'static') {
    latest = recs
      .map(([k]) => k)
      .sort()
      .at(-1)!;
    const end = windowOf(def.kind, (def as TimeWindowPartitions).timezone, latest)?.end ?? now;
    lagMs = now - end;
  } else {
    const newest = recs
      .map(([k, r]) => [k, Date.parse(r.at ?? '')] as const)
      .sort((x, y) => x[1] - y[1])
      .at(-1)!;
    latest = newest[0];
    lagMs = now - newest[1];
  }
  const ok = lagMs <= f.maxLagMs;
  const lag = describeLag(lagMs);
  return {
    ...base,
    latest,
    lagMs,
    ok,
    message: ok
      ? `${a.key}: fresh, latest partition ${latest} (${lag} old, max lag ${f.maxLag})`
      : `${a.key}: stale, latest partition ${latest} is ${lag} old (max lag ${f.maxLag})`,
  };
}

export function describeLag(ms: number): string {
  const h = Math.floor(Math.abs(ms) / 3_600_000);
  const m = Math.floor((Math.abs(ms) % 3_600_000) / 60_000);
  const sign = ms < 0 ? '-' : '';
  return h >= 48 ? `${sign}${Math.floor(h / 24)}d${h % 24}h` : `${sign}${h}h${String(m).padStart(2, '0')}m`;
}
