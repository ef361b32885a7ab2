/** What an asset's code is given and may return besides its value: contexts, no-data, checks, retries. */
import type { CheckStatus } from './events.ts';
import type { Reject } from './quarantine.ts';

/** What compute functions receive besides their inputs. */
export interface AssetContext {
  readonly assetKey: string;
  /** The partition being computed ("all" when unpartitioned). */
  readonly partitionKey: string;
  readonly runId: string;
  readonly signal: AbortSignal;
  readonly log: { info(msg: string): void; warn(msg: string): void; error(msg: string): void };
  /**
   * Report progress of a long computation in units of work; `unit` names them ('bytes' is shown in
   * byte units; e.g. 'days written'), and may change between the phases of one computation.
   */
  progress(done: number, total: number, unit?: string): void;
  /** Quarantine a bad input record (counted per reason, kept with file and line). */
  readonly reject: Reject;
  /** Extra metadata recorded with the materialization (e.g. `{ rows: 95 }`). */
  addMetadata(meta: Record<string, unknown>): void;
  /**
   * Says that this partition has no data (return it from compute, or emit it from a batch): nothing is
   * stored, the unit is recorded as having no data with this reason, and dependents see the input as
   * missing (undefined through an optional dependency; a required one makes them have no data too).
   */
  noData(reason: string): NoData;
}

/**
 * The data version recorded for a unit that has no data: a source partition without any file, a unit
 * whose compute returned `ctx.noData(…)`, or one whose required input has no data. Never a content hash.
 */
export const NO_DATA = 'no-data';

/** What `ctx.noData(reason)` returns: "this partition has no data", not an empty value. */
export class NoData {
  readonly noData = true;
  constructor(readonly reason: string) {}
}

export const isNoData = (value: unknown): value is NoData => value instanceof NoData;

/** Batch assets compute many partitions in one call (e.g. one pass over a 6 GB file for every day). */
export interface BatchContext<T> extends Omit<AssetContext, 'partitionKey'> {
  readonly partitionKeys: readonly string[];
  /**
   * Store one partition's value as soon as it is ready (keeps memory flat); `ctx.noData(…)` for none.
   * Calls for different partitions may overlap (a few in flight hide the storage's write latency).
   */
  emit(partitionKey: string, value: T | NoData, meta?: Record<string, unknown>): Promise<void>;
  /** Reject scoped to a partition, so quarantine outputs stay per partition. */
  rejectFor(partitionKey: string): Reject;
}

export interface CheckResult {
  status: CheckStatus;
  message?: string;
  /** Figures worth keeping with the result (e.g. `{ duplicates: 3 }`); stored and shown by `why`. */
  metadata?: Record<string, unknown>;
}

export interface AssetCheck<T> {
  name: string;
  /**
   * A failing blocking check (the default) fails the unit: its value is stored, but no dependent is built
   * from it, in this run or a later one, until a materialization passes the check. Warnings never block.
   */
  blocking?: boolean;
  fn: (value: T) => CheckResult | Promise<CheckResult>;
}

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
}
