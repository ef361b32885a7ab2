import { NO_DATA } from '../asset.ts';
import { ioFor, type Definitions } from '../definitions.ts';
import { unitId, type Plan, type PlannedUnit } from '../plan.ts';
import { decide, inputKey, inputReasons, isOwnReason, viewOf, type UpstreamView } from '../staleness.ts';
import type { StateStore } from '../state.ts';
import type { RunRecorder } from './recorder.ts';
import { ioContext } from './storage.ts';
import { FAILED, type Outcome } from './types.ts';

/**
 * When a unit may run, and with what: it waits for the planned upstream units, then decides again with
 * what they produced (the same rules as the plan, engine/staleness.ts).
 */
export class Gate {
  /** Every unit of the run, settled when its outcome is known (created in topological order). */
  readonly outcomes = new Map<string, Promise<Outcome>>();
  private readonly settled = new Map<string, Outcome>();

  constructor(
    private readonly defs: Definitions,
    private readonly state: StateStore,
    private readonly plan: Plan,
    private readonly rec: RunRecorder,
    private readonly isCancelled: () => boolean,
  ) {}

  settle(u: PlannedUnit, o: Outcome): Outcome {
    this.settled.set(u.id, o);
    return o;
  }

  /** How a unit sees an upstream one once every planned upstream unit has settled. */
  private view = (asset: string, partition: string): UpstreamView => {
    const planned = this.plan.unit(asset, partition);
    const o = this.settled.get(unitId(asset, partition));
    if (planned && o) {
      if (o.status === 'blocked') return { state: 'blocked', ...o.by };
      if (o.status === 'materialized') return { state: 'fresh', version: o.dataVersion };
      // Skipped: as planned (a stale unit stays stale), unless the early cutoff found it up to date.
      if (planned.decision === 'run') return { state: 'fresh', version: o.dataVersion };
    }
    const u = planned ?? this.plan.context(asset, partition);
    if (u) return viewOf(asset, partition, u.decision, u.reasons, u.dataVersion);
    return { state: 'fresh', version: this.state.get(asset, partition)?.dataVersion ?? null };
  };

  /** The data version of each input partition as it is now (`<input name>@<partition>`). */
  inputVersions(u: PlannedUnit): Record<string, string | null> {
    const out: Record<string, string | null> = {};
    for (const d of this.defs.graph.depsOf(u.asset)) {
      for (const q of d.mapping.upstream(u.partition)) {
        if (d.self && q === u.partition) continue;
        const v = this.view(d.assetKey, q);
        out[inputKey(d.name, q)] = v.state === 'fresh' || v.state === 'stale' ? v.version : null;
      }
    }
    return out;
  }

  /** Why an upstream unit recorded as having no data has none. */
  noDataReason = (asset: string, partition: string): string | undefined => {
    const r = this.state.get(asset, partition)?.metadata?.noData;
    return typeof r === 'string' ? r : undefined;
  };

  /** The reasons of the inputs without data of a unit (`asset[partition]` → reason), for its executor. */
  upstreamNoData(u: PlannedUnit, versions: Record<string, string | null>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const d of this.defs.graph.depsOf(u.asset)) {
      for (const q of d.mapping.upstream(u.partition)) {
        const why = versions[inputKey(d.name, q)] === NO_DATA ? this.noDataReason(d.assetKey, q) : undefined;
        if (why !== undefined) out[unitId(d.assetKey, q)] = why;
      }
    }
    return out;
  }

  private upstreamOutcomes(u: PlannedUnit): Promise<Outcome>[] {
    const out: Promise<Outcome>[] = [];
    for (const d of this.defs.graph.depsOf(u.asset)) {
      for (const q of d.mapping.upstream(u.partition)) {
        if (d.self && q === u.partition) continue;
        const o = this.outcomes.get(unitId(d.assetKey, q));
        if (o) out.push(o);
      }
    }
    return out;
  }

  /**
   * Waits for upstream units, then decides: run, or the outcome without running. An input rebuilt with
   * an unchanged data version lets this unit skip (early cutoff).
   */
  async gate(u: PlannedUnit): Promise<Outcome | 'run'> {
    const { rec } = this;
    const ups = await Promise.all(this.upstreamOutcomes(u));
    if (this.isCancelled()) return rec.cancelled(u);
    if (ups.some((o) => o.status === 'failed' || o.status === 'cancelled')) {
      rec.skip(u, 'upstream_failed');
      return FAILED;
    }
    const blockedUp = ups.find((o) => o.status === 'blocked');
    if (blockedUp) return rec.blocked(u, blockedUp.by);
    if (u.decision === 'blocked')
      return rec.blocked(
        u,
        u.reasons.find((x) => x.kind === 'blocked_by_check')!,
      );
    if (u.decision === 'skip') {
      const staleUp = u.reasons.find((r) => r.kind === 'upstream_stale');
      rec.skip(
        u,
        'up_to_date',
        staleUp && `stale: upstream ${unitId(staleUp.asset, staleUp.partition)} is not selected`,
      );
      return { status: 'skipped', dataVersion: u.dataVersion };
    }
    const record = this.state.get(u.asset, u.partition);
    const reasons = [
      ...u.reasons.filter(isOwnReason),
      ...inputReasons(this.defs.graph.depsOf(u.asset), u.partition, record, this.view),
    ];
    const decision = decide(reasons, true);
    if (decision === 'blocked')
      return rec.blocked(
        u,
        reasons.find((x) => x.kind === 'blocked_by_check')!,
      );
    // The plan checked storage before the inputs were rebuilt; skip only what is still stored as recorded.
    if (decision === 'skip' && (await this.storedAsRecorded(u, record?.dataVersion))) {
      rec.skip(u, 'early_cutoff', 'inputs rebuilt with unchanged data versions');
      return { status: 'skipped', dataVersion: record?.dataVersion ?? null };
    }
    if (decision === 'skip') reasons.push({ kind: 'missing' });
    u.reasons = reasons;
    return 'run';
  }

  /** Whether storage still holds the unit's recorded value (a unit without data has nothing stored). */
  private async storedAsRecorded(u: PlannedUnit, version: string | undefined): Promise<boolean> {
    if (version === NO_DATA) return true;
    const a = this.defs.graph.get(u.asset);
    const st = await ioFor(this.defs, a)
      .stat(ioContext(a, u.partition))
      .catch(() => null); // unreadable: run it (its store will say what is wrong)
    return !!version && st?.dataVersion === version;
  }
}
