/** The daemon's settings: `--interval` or AUTOMATION_INTERVAL (a duration, default 30 s), validated with zod. */
import { z } from 'zod';
import { parseDuration } from '../../engine/index.ts';
import { UsageError } from '../days.ts';

export const DEFAULT_INTERVAL = '30s';
const MIN_MS = 100;
const MAX_MS = 86_400_000;

const durationSchema = z
  .string()
  .transform((s, ctx) => {
    const ms = parseDuration(s);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: 'not a duration (e.g. 30s, 500ms, 2m, 1h)' });
      return z.NEVER;
    }
    return ms;
  })
  .refine((ms) => ms >= MIN_MS && ms <= MAX_MS, `between ${MIN_MS}ms and 24h`);

export interface DaemonSettings {
  /** How often the evaluator runs (sensor, eager, schedules, freshness), ms. */
  intervalMs: number;
  /** Where it came from, for the start line. */
  intervalFrom: string;
  /**
   * How many of an evaluation's runs may go on at once (AUTOMATION_MAX_RUNS, 1–16, default 1). Runs on
   * disjoint units (usually: one run per day) then go side by side; overlapping ones wait for each
   * other's unit locks. Each computes PIPELINE_CONCURRENCY units at once.
   */
  maxRuns: number;
}

const MAX_RUNS = 16;

/** One-line errors (exit 2): `--interval 3x: not a duration (e.g. 30s, …)`. */
export function daemonSettings(env: NodeJS.ProcessEnv, flags: { interval?: string }): DaemonSettings {
  const [value, from] =
    flags.interval !== undefined
      ? [flags.interval, '--interval']
      : env.AUTOMATION_INTERVAL !== undefined && env.AUTOMATION_INTERVAL !== ''
        ? [env.AUTOMATION_INTERVAL, 'AUTOMATION_INTERVAL']
        : [DEFAULT_INTERVAL, 'default'];
  const r = durationSchema.safeParse(value);
  if (!r.success)
    throw new UsageError(
      `${from === 'default' ? 'interval' : from}${from === '--interval' ? ' ' : '='}${value}: ${r.error.issues[0]?.message ?? 'invalid'}`,
    );
  const runsText = env.AUTOMATION_MAX_RUNS ?? '';
  const maxRuns = runsText === '' ? 1 : Number(runsText);
  if (!/^\d+$/.test(runsText || '1') || maxRuns < 1 || maxRuns > MAX_RUNS)
    throw new UsageError(`AUTOMATION_MAX_RUNS=${runsText}: a whole number of runs from 1 to ${MAX_RUNS}`);
  return { intervalMs: r.data, intervalFrom: `${value} (${from})`, maxRuns };
}
