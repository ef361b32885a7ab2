/**
 * Cron ticks in an IANA zone (croner), and the partitions a tick requests. Instants are epoch ms; the
 * clock is always passed in (the evaluator's injected clock), never read here.
 */
import { Cron } from 'croner';
import type { AnyAsset } from '../asset.ts';
import { dayKey, dayNumber, shiftKey, windowAt } from '../time-windows.ts';
import { scheduleZone, type CronAutomation } from './declarations.ts';

const jobs = new Map<string, Cron>();

function job(expr: string, timezone: string): Cron {
  const k = `${timezone}|${expr}`;
  let j = jobs.get(k);
  if (!j) jobs.set(k, (j = new Cron(expr, { timezone, paused: true })));
  return j;
}

/** The first tick strictly after `afterMs`, or null when the schedule has no more. */
export function nextTick(c: CronAutomation, timezone: string, afterMs: number): number | null {
  return job(c.cron, timezone).nextRun(new Date(afterMs))?.getTime() ?? null;
}

/** Ticks in (afterMs, untilMs], oldest first, at most `limit` (the newest ones are kept). */
export function ticksBetween(
  c: CronAutomation,
  timezone: string,
  afterMs: number,
  untilMs: number,
  limit = 1000,
): number[] {
  const out: number[] = [];
  for (let t = nextTick(c, timezone, afterMs); t !== null && t <= untilMs; t = nextTick(c, timezone, t)) {
    out.push(t);
    if (out.length > limit) out.shift();
  }
  return out;
}

/**
 * The partition range a tick requests for an asset, as the `--partition` of a run: `yesterday` the day
 * before the tick's day in the schedule's zone, `today` the tick's day, `latest` the last window of the
 * asset's cadence that ended by the tick. Undefined for unpartitioned and static assets (every partition).
 */
export function tickPartition(asset: AnyAsset, c: CronAutomation, tickMs: number): string | undefined {
  const def = asset.partitions;
  if (!def || def.kind === 'static') return undefined;
  const tz = scheduleZone(def, c);
  if (c.partitions === 'latest')
    return shiftKey(def.kind, def.timezone, windowAt(def.kind, def.timezone, tickMs), -1);
  const day = windowAt('daily', tz, tickMs);
  return c.partitions === 'today' ? day : dayKey(dayNumber(day)! - 1);
}

/**
 * The cursor key of a schedule: the asset, the expression, the partitions and the zone, so that editing a
 * schedule starts it afresh (no catch-up of ticks of the old expression) and reordering keeps it.
 */
export const scheduleId = (asset: string, c: CronAutomation, timezone: string): string =>
  `${asset} ${c.cron} ${c.partitions} ${timezone}`;
