import { z } from 'zod';
import { maskSecrets } from '../../engine/redact.ts';
import { ConfigError } from '../config.ts';

/**
 * The queue executor's settings, validated like every other setting (config.ts): a bad value is one
 * `ConfigError` naming the variable and what to write instead (exit 2). REDIS_URL may hold a password:
 * it is never echoed, and every place that shows it goes through `maskSecrets`.
 */
export interface QueueSettings {
  /** `local` (units compute in this process) or `queue` (BullMQ workers compute them). */
  executor: 'local' | 'queue';
  redisUrl?: string;
  /** BullMQ queue name (CITYFLOW_QUEUE): projects sharing one Redis use one queue each. */
  queueName: string;
  /** A worker's lock on a job; a worker silent this long (killed, frozen) loses the job to another. */
  lockMs: number;
  /** How often workers look for stalled jobs (jobs whose lock expired). */
  stalledIntervalMs: number;
  /** How many times a job may stall (its worker died) and be handed to another worker. */
  maxStalled: number;
  /** Jobs of a run in the queue at once, unless --concurrency or PIPELINE_CONCURRENCY says otherwise. */
  inFlight: number;
  /** How long the coordinator waits for a lost Redis connection to come back before failing the run. */
  lostAfterMs: number;
}

const ms = (min: number, max: number) =>
  z.coerce
    .number({ message: 'must be a whole number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

const schema = z.object({
  EXECUTOR: z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.enum(['local', 'queue'], { message: 'must be local or queue' }))
    .default('local'),
  REDIS_URL: z
    .url({
      protocol: /^rediss?$/,
      message: 'must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379',
    })
    .optional(),
  CITYFLOW_QUEUE: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 _ - (no ":")')
    .default('cityflow'),
  QUEUE_LOCK_MS: ms(1000, 600_000).default(10_000),
  QUEUE_STALLED_INTERVAL_MS: ms(500, 600_000).default(5_000),
  QUEUE_MAX_STALLED: z.coerce
    .number({ message: 'must be a whole number' })
    .int('must be a whole number')
    .min(0, 'must be at least 0')
    .max(100, 'must be at most 100')
    .default(2),
  QUEUE_IN_FLIGHT: z.coerce
    .number({ message: 'must be a whole number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(10_000, 'must be at most 10000')
    .default(64),
  QUEUE_REDIS_LOST_MS: ms(0, 600_000).default(3_000),
});

type Env = Record<string, string | undefined>;

/** Reads the queue settings; `need` says which command requires REDIS_URL (the coordinator, a worker). */
export function loadQueueSettings(env: Env = process.env, need?: string): QueueSettings {
  const clean: Env = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v.trim() !== '') clean[k] = v.trim();
  const parsed = schema.safeParse(clean);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const name = String(i.path[0] ?? '?');
        // REDIS_URL may carry a password: shown masked, never as given.
        return `${name} (got ${maskSecrets(JSON.stringify(clean[name] ?? ''))}): ${i.message}`;
      }),
    );
  }
  const e = parsed.data;
  if ((e.EXECUTOR === 'queue' || need) && !e.REDIS_URL)
    throw new ConfigError([
      `REDIS_URL: required ${need ? `by ${need}` : 'because EXECUTOR=queue'} (e.g. redis://127.0.0.1:6379)`,
    ]);
  if (e.QUEUE_STALLED_INTERVAL_MS > e.QUEUE_LOCK_MS)
    throw new ConfigError([
      `QUEUE_STALLED_INTERVAL_MS (${e.QUEUE_STALLED_INTERVAL_MS}) must not exceed QUEUE_LOCK_MS (${e.QUEUE_LOCK_MS})`,
    ]);
  return {
    executor: e.EXECUTOR,
    ...(e.REDIS_URL !== undefined && { redisUrl: e.REDIS_URL }),
    queueName: e.CITYFLOW_QUEUE,
    lockMs: e.QUEUE_LOCK_MS,
    stalledIntervalMs: e.QUEUE_STALLED_INTERVAL_MS,
    maxStalled: e.QUEUE_MAX_STALLED,
    inFlight: e.QUEUE_IN_FLIGHT,
    lostAfterMs: e.QUEUE_REDIS_LOST_MS,
  };
}

/** `redis://user:****@host:6379/0` (for messages and `pipeline env`). */
export const shownRedisUrl = (url: string | undefined): string => (url ? maskSecrets(url) : '(unset)');

/** The settings as `VARIABLE → value`, for `pipeline env`. */
export function printableQueueSettings(s: QueueSettings): Record<string, string> {
  return {
    EXECUTOR: s.executor,
    REDIS_URL: shownRedisUrl(s.redisUrl),
    CITYFLOW_QUEUE: s.queueName,
    QUEUE_LOCK_MS: String(s.lockMs),
    QUEUE_STALLED_INTERVAL_MS: String(s.stalledIntervalMs),
    QUEUE_MAX_STALLED: String(s.maxStalled),
    QUEUE_IN_FLIGHT: String(s.inFlight),
    QUEUE_REDIS_LOST_MS: String(s.lostAfterMs),
  };
}
