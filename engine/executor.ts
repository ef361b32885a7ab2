import type { MaterializedMetadata, QuarantineCounts, RunEvent } from './events.ts';
import type { StoredCheckResult } from './state.ts';

/**
 * The seam between the scheduler (which units are ready, concurrency, retries, cancellation, what is
 * recorded) and the place where a unit computes. An executor receives plain data (it may cross a thread,
 * process or queue boundary), finds the asset in definitions loaded on its side, runs `runUnit` there,
 * and reports back: the scheduler's side records every result. See docs/executors.md.
 */
export interface Executor {
  readonly name: string;
  /** Runs one job (one attempt). Never rejects for an error of the unit: it returns it. */
  run(job: UnitJob, hooks: UnitHooks): Promise<UnitResult>;
  close?(): Promise<void>;
}

/** One unit (asset × partition), or the partitions a batch asset computes in one call. Plain data. */
export interface UnitJob {
  runId: string;
  asset: string;
  /** One partition; for a batch asset, every partition to compute in the call. */
  partitions: string[];
  attempt: number;
  /** `<input name>@<partition>` → the data version the input has now (`NO_DATA`: none). */
  inputVersions: Record<string, string | null>;
  /** Why inputs recorded as having no data have none (`asset[partition]` → reason), for messages. */
  upstreamNoData: Record<string, string>;
  /** Where quarantined records go (`<dir>/<asset>/<partition>.ndjson`); unset: not written. */
  quarantineDir?: string;
}

/** Events of a unit while it computes; the scheduler's side logs them as they come. */
export type UnitEvent = Extract<RunEvent, { type: 'log' | 'progress' | 'check' }>;

/** One partition's result, reported as soon as it is known (a batch reports them one by one). */
export type UnitReport =
  | {
      kind: 'stored';
      partition: string;
      dataVersion: string;
      at: string;
      metadata: MaterializedMetadata;
      checks: StoredCheckResult[];
    }
  | {
      kind: 'no_data';
      partition: string;
      reason: string;
      durationMs: number;
      quarantine?: { counts: QuarantineCounts; location?: string };
    };

/** An error as it crosses the boundary: what the scheduler needs to retry, cancel or record it. */
export interface UnitError {
  message: string;
  stack?: string;
  /** Worth retrying (engine `isTransient`). */
  transient: boolean;
  /** An abort (the run was cancelled while the unit computed). */
  abort: boolean;
}

/** How a job ended; partitions it did not report before failing are failed with `error`. */
export type UnitResult = { status: 'done' } | { status: 'failed'; error: UnitError };

export interface UnitHooks {
  /** Aborted when the run is cancelled. */
  signal: AbortSignal;
  event(e: UnitEvent): void;
  /** Records the partition (state, events); awaited before the unit goes on. */
  report(r: UnitReport): Promise<void>;
}
