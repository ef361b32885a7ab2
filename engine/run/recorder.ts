import { NO_DATA, type AnyAsset } from '../asset.ts';
import { recordCodeManifest } from '../code-manifest.ts';
import { ioFor, type Definitions } from '../definitions.ts';
import type { RunEvent, SkipReason, UnitRef } from '../events.ts';
import type { UnitError, UnitReport } from '../executor.ts';
import { unitId, type PlannedUnit } from '../plan.ts';
import type { StateStore } from '../state.ts';
import { ioContext } from './storage.ts';
import { CANCELLED, FAILED, type CheckRef, type Outcome, type RunResult } from './types.ts';

type Versions = Record<string, string | null>;

/**
 * Everything a run writes to the state store and its event stream (run log + listener), on the
 * scheduler's side whatever executor computed the units. The index is flushed 200 ms after a change
 * (and at the end), so a crash loses little and a busy run does not rewrite it per unit.
 */
export class RunRecorder {
  readonly counts = { materialized: 0, skipped: 0, noData: 0, failed: 0 };
  /** Units not built because a blocking check failed upstream: the run then ends failed. */
  private blockedUnits = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly log: (e: RunEvent) => void;

  constructor(
    private readonly defs: Definitions,
    private readonly state: StateStore,
    readonly runId: string,
    private readonly onEvent?: (e: RunEvent) => void,
  ) {
    this.log = state.openRunLog(runId);
  }

  emit(e: RunEvent): void {
    this.log(e);
    this.onEvent?.(e);
  }

  now = (): string => new Date().toISOString();

  unitStarted(u: PlannedUnit, attempt: number): void {
    const { runId } = this;
    this.emit({
      type: 'unit_started',
      runId,
      at: this.now(),
      asset: u.asset,
      partition: u.partition,
      attempt,
      reasons: u.reasons,
    });
  }

  skip(u: UnitRef, reason: SkipReason, detail?: string): void {
    this.counts.skipped++;
    const { runId } = this;
    this.emit({
      type: 'skipped',
      runId,
      at: this.now(),
      asset: u.asset,
      partition: u.partition,
      reason,
      detail,
    });
  }

  cancelled(u: UnitRef, detail?: string): Outcome {
    this.skip(u, 'cancelled', detail);
    return CANCELLED;
  }

  blocked(u: UnitRef, by: CheckRef): Outcome {
    this.blockedUnits++;
    this.skip(u, 'blocked_by_check', `check ${by.check} failed on ${unitId(by.asset, by.partition)}`);
    return { status: 'blocked', dataVersion: null, by };
  }

  retry(u: UnitRef, attempt: number, delayMs: number, error: string): void {
    const { runId } = this;
    this.emit({
      type: 'retry',
      runId,
      at: this.now(),
      asset: u.asset,
      partition: u.partition,
      attempt,
      delayMs,
      error,
    });
  }

  failed(u: UnitRef, error: UnitError, attempt: number): Outcome {
    const { runId } = this;
    this.counts.failed++;
    this.state.recordFailure(u.asset, u.partition, { runId, at: this.now(), error: error.message });
    this.scheduleFlush();
    this.emit({
      type: 'failed',
      runId,
      at: this.now(),
      asset: u.asset,
      partition: u.partition,
      error: error.message,
      attempt,
      ...(error.stack ? { stack: error.stack } : {}),
    });
    return FAILED;
  }

  /** A partition an executor reported. */
  report(asset: AnyAsset, r: UnitReport, inputVersions: Versions): Promise<Outcome> {
    return r.kind === 'stored'
      ? this.stored(asset, r, inputVersions)
      : this.noData(asset, r.partition, r.reason, r.durationMs, inputVersions, r.quarantine);
  }

  private async stored(
    asset: AnyAsset,
    r: UnitReport & { kind: 'stored' },
    inputVersions: Versions,
  ): Promise<Outcome> {
    const { runId } = this;
    const { partition, dataVersion, metadata, checks } = r;
    await recordCodeManifest(this.state.dir, asset); // lets `why` name the files a later code change touches
    this.state.recordSuccess(asset.key, partition, {
      dataVersion,
      codeVersion: asset.codeVersion,
      inputVersions,
      runId,
      at: r.at,
      metadata,
      ...(checks.length ? { checks } : {}),
    });
    this.scheduleFlush();
    const failedCheck = checks.find((c) => c.status === 'fail' && c.blocking);
    if (failedCheck) {
      // Stored (it can be inspected) but recorded as failing: dependents are not built from it, in this
      // run or a later one, until a materialization passes the check.
      this.counts.failed++;
      this.emit({
        type: 'failed',
        runId,
        at: this.now(),
        asset: asset.key,
        partition,
        attempt: 1,
        check: failedCheck.name,
        error:
          `blocking check ${failedCheck.name} failed${failedCheck.message ? `: ${failedCheck.message}` : ''} ` +
          `(value stored as data ${dataVersion}; its dependents are not built until a materialization passes the check)`,
      });
      return {
        status: 'blocked',
        dataVersion: null,
        by: { asset: asset.key, partition, check: failedCheck.name },
      };
    }
    this.counts.materialized++;
    this.emit({ type: 'materialized', runId, at: this.now(), asset: asset.key, partition, metadata });
    return { status: 'materialized', dataVersion };
  }

  /**
   * Records a unit that has no data: nothing stored (a value stored before is removed, or said to be no
   * longer current), recorded with the NO_DATA version, the reason and the input versions it was judged
   * on, so that it is up to date until one of them changes (e.g. the files of that day arrive).
   */
  async noData(
    asset: AnyAsset,
    partition: string,
    reason: string,
    durationMs: number,
    inputVersions: Versions,
    quarantine?: { counts: Record<string, number>; location?: string },
  ): Promise<Outcome> {
    const { runId } = this;
    const prev = this.state.get(asset.key, partition);
    if (prev?.dataVersion && prev.dataVersion !== NO_DATA) {
      const io = ioFor(this.defs, asset);
      if (io.delete) await io.delete(ioContext(asset, partition));
      else
        this.emit({
          type: 'log',
          runId,
          at: this.now(),
          asset: asset.key,
          partition,
          level: 'warn',
          message:
            `no data now, but the value stored earlier (data ${prev.dataVersion}` +
            `${prev.metadata?.location ? ` at ${prev.metadata.location}` : ''}) is still there: ` +
            `it is no longer current (the ${io.name} IO manager cannot delete it)`,
        });
    }
    await recordCodeManifest(this.state.dir, asset);
    this.state.recordSuccess(asset.key, partition, {
      dataVersion: NO_DATA,
      codeVersion: asset.codeVersion,
      inputVersions,
      runId,
      at: this.now(),
      metadata: {
        noData: reason,
        bytes: 0,
        durationMs,
        location: '',
        dataVersion: NO_DATA,
        ...(quarantine
          ? { quarantined: { ...quarantine.counts }, quarantineLocation: quarantine.location }
          : {}),
      },
    });
    this.scheduleFlush();
    this.counts.noData++;
    this.skip({ asset: asset.key, partition }, 'no_data', reason);
    return { status: 'skipped', dataVersion: NO_DATA };
  }

  private scheduleFlush(): void {
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = null;
      // On failure the changes stay pending: the run's last flush writes them or reports the error.
      this.state.flush().catch(() => {});
    }, 200);
  }

  /** Flushes the index and records the end of the run. */
  async finish(startedAt: number, cancelled: boolean): Promise<RunResult> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    await this.state.flush();
    const status: RunResult['status'] = cancelled
      ? 'cancelled'
      : this.counts.failed || this.blockedUnits
        ? 'failed'
        : 'success';
    const result: RunResult = {
      runId: this.runId,
      status,
      ...this.counts,
      durationMs: Date.now() - startedAt,
    };
    this.emit({ type: 'run_finished', at: this.now(), ...result });
    return result;
  }
}
