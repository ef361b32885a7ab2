import type { Executor } from '../executor.ts';
import type { RunEvent } from '../events.ts';

export interface RunOptions {
  runId?: string;
  command?: string;
  concurrency?: number;
  signal?: AbortSignal;
  onEvent?: (e: RunEvent) => void;
  /** Where quarantined records go: `<dir>/<asset>/<partition>.ndjson`. */
  quarantineDir?: string;
  /** Default retry policy for transient errors. */
  retry?: { maxAttempts: number; baseDelayMs: number };
  /** Where units compute (default: in this thread, `InProcessExecutor`). */
  executor?: Executor;
}

export interface RunResult {
  runId: string;
  status: 'success' | 'failed' | 'cancelled';
  materialized: number;
  /** Units not built, including the `noData` ones. */
  skipped: number;
  /** Units recorded as having no data (nothing stored): a required input had none, or compute said so. */
  noData: number;
  failed: number;
  durationMs: number;
}

export interface CheckRef {
  asset: string;
  partition: string;
  check: string;
}

/** How a unit ended, as its dependents see it. */
export type Outcome =
  | { status: 'materialized' | 'skipped'; dataVersion: string | null }
  /** Stored, but a blocking check failed on it (or on an upstream unit): dependents may not read it. */
  | { status: 'blocked'; dataVersion: null; by: CheckRef }
  | { status: 'failed' | 'cancelled'; dataVersion: null };

export const CANCELLED: Outcome = { status: 'cancelled', dataVersion: null };
export const FAILED: Outcome = { status: 'failed', dataVersion: null };
