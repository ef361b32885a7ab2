/**
 * Every step of a run is one of these events. The run log (JSONL), the plain logger, the ink view and
 * `pipeline runs show` all consume this one stream; the UI never calls the engine directly.
 */

/**
 * Why a unit was not (re)built. `no_data`: its partition has no data (a required input has none, or its
 * compute said so): nothing is stored and the unit is recorded as having no data (`detail` says why).
 */
export type SkipReason =
  'up_to_date' | 'early_cutoff' | 'no_data' | 'upstream_failed' | 'blocked_by_check' | 'cancelled';

export type RunReason =
  | { kind: 'missing' }
  | {
      kind: 'code_changed';
      from: string;
      to: string;
      /** Project files and packages whose change made the version differ (when both are known). */
      changed?: string[];
    }
  | { kind: 'input_changed'; input: string; partition: string; from: string | null; to: string | null }
  | { kind: 'last_failed'; runId?: string }
  | { kind: 'forced' }
  | {
      kind: 'upstream_will_run';
      input: string;
      partition: string;
      /** Its last value failed this blocking check: this unit stays blocked unless the rebuild passes. */
      failedCheck?: { asset: string; check: string };
    }
  /** The last materialization failed a blocking check (it is rebuilt until one passes). */
  | { kind: 'check_failed'; check: string; message?: string }
  /** An upstream unit is stale and not selected: this one stays stale until it is rebuilt. */
  | { kind: 'upstream_stale'; input: string; asset: string; partition: string }
  /** An upstream unit's last materialization failed a blocking check: this one may not be built. */
  | { kind: 'blocked_by_check'; input: string; asset: string; partition: string; check: string };

export interface UnitRef {
  asset: string;
  partition: string;
}

export interface QuarantineCounts {
  [reason: string]: number;
}

export interface MaterializedMetadata {
  rows?: number;
  bytes: number;
  durationMs: number;
  location: string;
  dataVersion: string;
  /** Bad input records by reason; the records themselves are in the quarantine output. */
  quarantined?: QuarantineCounts;
  /** Where the unit's input files came from (e.g. `s3://…` or `local:…` after a fallback). */
  sources?: string[];
  /** The IO manager's fingerprint of the stored value (`StoreResult.stamp`), for fast storage checks. */
  storageStamp?: string;
  [extra: string]: unknown;
}

export type CheckStatus = 'pass' | 'warn' | 'fail';

export type RunEvent =
  | {
      type: 'run_started';
      runId: string;
      at: string;
      command: string;
      assets: string[];
      units: number;
      toRun: number;
      concurrency: number;
    }
  | { type: 'asset_started'; runId: string; at: string; asset: string; partitions: number }
  | ({
      type: 'unit_started';
      runId: string;
      at: string;
      attempt: number;
      reasons: readonly RunReason[];
    } & UnitRef)
  | ({ type: 'progress'; runId: string; at: string; done: number; total: number; unit?: string } & UnitRef)
  | ({ type: 'log'; runId: string; at: string; level: 'info' | 'warn' | 'error'; message: string } & UnitRef)
  | ({ type: 'materialized'; runId: string; at: string; metadata: MaterializedMetadata } & UnitRef)
  | ({ type: 'skipped'; runId: string; at: string; reason: SkipReason; detail?: string } & UnitRef)
  | ({
      type: 'retry';
      runId: string;
      at: string;
      attempt: number;
      delayMs: number;
      error: string;
    } & UnitRef)
  | ({
      type: 'failed';
      runId: string;
      at: string;
      /** The error's message with its causes (`message: cause: cause`), whole, on one line. */
      error: string;
      attempt: number;
      /** Stack trace (with causes), for `runs show ID --verbose`. */
      stack?: string;
      /** Set when the unit was stored but failed this blocking check. */
      check?: string;
    } & UnitRef)
  | ({
      type: 'check';
      runId: string;
      at: string;
      check: string;
      status: CheckStatus;
      blocking: boolean;
      message?: string;
      metadata?: Record<string, unknown>;
    } & UnitRef)
  | {
      type: 'run_finished';
      runId: string;
      at: string;
      status: 'success' | 'failed' | 'cancelled';
      materialized: number;
      /** Every unit not built, the `no_data` ones included. */
      skipped: number;
      /** Of the skipped units, those recorded as having no data (absent in logs of older versions). */
      noData?: number;
      failed: number;
      durationMs: number;
    };

export type RunEventType = RunEvent['type'];
export type EventListener = (event: RunEvent) => void;
