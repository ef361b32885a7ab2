import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { UnitEvent, UnitJob, UnitReport, UnitResult } from '../../engine/index.ts';

/** What a BullMQ job carries: the unit job (plain data) and the coordinator's code version of the asset. */
export interface QueueJobData {
  job: UnitJob;
  codeVersion: string;
}

/**
 * What a worker sends back while a job runs, as BullMQ job progress: QueueEvents delivers progress and
 * the job's completion from one Redis stream, in order, so every report is recorded before the result.
 */
export type QueueMessage = { t: 'event'; e: UnitEvent } | { t: 'report'; r: UnitReport };

/** A job's return value. */
export type QueueResult = UnitResult;

/**
 * The BullMQ job id of a job: run id + asset + partitions + attempt, so adding it again is a no-op.
 * BullMQ forbids ':' in custom ids; partition keys are free text (static partitions), so they appear
 * as such only when made of safe characters, else as a hash.
 */
export function queueJobId(job: Pick<UnitJob, 'runId' | 'asset' | 'partitions' | 'attempt'>): string {
  const [first] = job.partitions;
  const parts =
    job.partitions.length === 1 && first !== undefined && /^[A-Za-z0-9_.=-]{1,48}$/.test(first)
      ? first
      : `${job.partitions.length}p-${createHash('sha256').update(JSON.stringify(job.partitions)).digest('hex').slice(0, 16)}`;
  return `${job.runId}.${job.asset}.${parts}.a${job.attempt}`;
}

/** Redis keys of a run, next to BullMQ's own (`bull:<queue>:…`). */
export const runKeys = (queue: string, runId: string) => ({
  /** Set while the coordinator is alive (a TTL refreshed by it): workers drop jobs of a dead run. */
  alive: `cityflow:${queue}:run:${runId}:alive`,
  /** Set when the run is cancelled: workers drop its jobs instead of starting them. */
  cancelled: `cityflow:${queue}:run:${runId}:cancelled`,
});
/** Pub/sub channel on which the coordinator names the jobs to abort (running on some worker). */
export const cancelChannel = (queue: string): string => `cityflow:${queue}:cancel`;

/** Failure reasons a worker gives BullMQ, so the coordinator can tell them apart. */
export const CANCELLED_PREFIX = 'cancelled: ';
/** A worker could not start the job for a passing reason (Redis blinked): the scheduler retries it. */
export const TRANSIENT_PREFIX = 'transient: ';

const unitJobSchema = z.object({
  runId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  asset: z.string().regex(/^[a-z][a-z0-9_]*$/),
  partitions: z.array(z.string().max(200)).min(1),
  attempt: z.number().int().min(1),
  inputVersions: z.record(z.string(), z.string().nullable()),
  upstreamNoData: z.record(z.string(), z.string()),
  quarantineDir: z.string().optional(),
});
const jobDataSchema = z.object({ job: unitJobSchema, codeVersion: z.string().min(1) });

/** A job's data as it comes from Redis (any process could have written it): checked before use. */
export function parseJobData(data: unknown): QueueJobData | string {
  const r = jobDataSchema.safeParse(data);
  if (r.success) return r.data as QueueJobData;
  const i = r.error.issues[0];
  return `malformed job data (${i?.path.join('.') || 'root'}: ${i?.message ?? 'invalid'})`;
}
