import type { UnitError, UnitEvent, UnitJob, UnitReport, UnitResult } from '../../engine/index.ts';

/** What a worker is started with (structured clone): where the definitions are, and their settings. */
export interface WorkerData {
  /** URL of a module whose default export is the definitions, or a function of `config` making them. */
  definitions: string;
  config?: unknown;
}

/** Main thread → worker. `ack` answers a report once the scheduler's side has recorded it. */
export type ToWorker =
  { type: 'job'; job: UnitJob } | { type: 'abort' } | { type: 'ack'; seq: number; error?: UnitError };

/** Worker → main thread. */
export type FromWorker =
  | { type: 'event'; event: UnitEvent }
  | { type: 'report'; seq: number; report: UnitReport }
  | { type: 'done'; result: UnitResult };
