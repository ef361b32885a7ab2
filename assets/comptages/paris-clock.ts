/**
 * Europe/Paris clock arithmetic tuned for the road-count reader, which converts ~20 M timestamps:
 * the EU summer-time rule (last Sunday of March 01:00 UTC → last Sunday of October 01:00 UTC, in force
 * in France since 1996) is computed once per year instead of asking Intl for every row. Years outside
 * 1996..2099 fall back to Intl, so the answer is always the IANA one (a test compares both).
 */

import { parisOffsetMs } from '../shared/paris-time.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Instant (ms) of the last Sunday of a month at 01:00 UTC. */
function lastSundayAt1Utc(year: number, month0: number): number {
  const lastDay = new Date(Date.UTC(year, month0 + 1, 0));
  return Date.UTC(year, month0, lastDay.getUTCDate() - lastDay.getUTCDay(), 1);
}

const summerWindows = new Map<number, [number, number]>();
function summerWindow(year: number): [number, number] {
  let w = summerWindows.get(year);
  if (!w) {
    w = [lastSundayAt1Utc(year, 2), lastSundayAt1Utc(year, 9)];
    summerWindows.set(year, w);
  }
  return w;
}

/** IANA answer (slow path and test oracle): Paris UTC offset in minutes at an instant. */
export function parisOffsetMinutesIntl(instant: number): number {
  return Math.round(parisOffsetMs(instant) / 60_000);
}

/** Paris UTC offset in minutes at an instant: 60 (CET) or 120 (CEST). */
export function parisOffsetMinutes(instant: number): number {
  const year = new Date(instant).getUTCFullYear();
  if (year < 1996 || year > 2099) return parisOffsetMinutesIntl(instant);
  const [start, end] = summerWindow(year);
  return instant >= start && instant < end ? 120 : 60;
}

/** Paris civil day 'YYYY-MM-DD' and local hour of an instant. */
export function parisDayHour(instant: number): { day: string; hour: number } {
  const local = new Date(instant + parisOffsetMinutes(instant) * 60_000);
  return { day: local.toISOString().slice(0, 10), hour: local.getUTCHours() };
}

export type ParsedTimestamp =
  | { ok: true; instant: number; day: string; hour: number; offsetMinutes: number }
  /** A wall-clock time without offset that happens twice (autumn overlap): summer candidate first. */
  | { ok: 'ambiguous'; day: string; hour: number; summer: number; winter: number }
  | { ok: false; reason: 'unparsable_date' | 'nonexistent_local_time' | 'timestamp_not_on_hour' };

// ISO with offset / Z, or 'YYYY-MM-DD HH:MM[:SS]' (Paris wall clock). Fractions of seconds tolerated.
const TS_RE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Parses a road-count timestamp. With an explicit offset the instant is exact; without one the text
 * is Paris wall-clock time (the `t_1h` of the historique files). Counts are hourly, so a time that is
 * not on the hour is refused rather than silently folded into an hour slot.
 */
export function parseCountTimestamp(text: string): ParsedTimestamp {
  const m = TS_RE.exec(text);
  if (!m) return { ok: false, reason: 'unparsable_date' };
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const h = Number(m[4]);
  const mi = Number(m[5]);
  const s = m[6] === undefined ? 0 : Number(m[6]);
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(wall);
  if (
    mo < 1 ||
    mo > 12 ||
    h > 23 ||
    mi > 59 ||
    s > 59 ||
    check.getUTCDate() !== d ||
    check.getUTCMonth() !== mo - 1
  )
    return { ok: false, reason: 'unparsable_date' };
  if (mi !== 0 || s !== 0 || (m[7] !== undefined && Number(m[7]) !== 0))
    return { ok: false, reason: 'timestamp_not_on_hour' };
  const day = m[0].slice(0, 10);
  const z = m[8];
  if (z !== undefined) {
    const sign = z === 'Z' ? 0 : z[0] === '-' ? -1 : 1;
    const digits = z.replace(/[^0-9]/g, '');
    const offset = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || 0));
    const instant = wall - offset * 60_000;
    const paris = parisOffsetMinutes(instant);
    // Fast path: the row's own offset is the Paris one (always true in the real exports).
    if (paris === offset) return { ok: true, instant, day, hour: h, offsetMinutes: paris };
    const local = parisDayHour(instant);
    return { ok: true, instant, day: local.day, hour: local.hour, offsetMinutes: paris };
  }
  const summer = wall - 120 * 60_000;
  const winter = wall - 60 * 60_000;
  const summerOk = parisOffsetMinutes(summer) === 120;
  const winterOk = parisOffsetMinutes(winter) === 60;
  if (summerOk && winterOk) return { ok: 'ambiguous', day, hour: h, summer, winter };
  if (summerOk) return { ok: true, instant: summer, day, hour: h, offsetMinutes: 120 };
  if (winterOk) return { ok: true, instant: winter, day, hour: h, offsetMinutes: 60 };
  return { ok: false, reason: 'nonexistent_local_time' };
}

/** Day number (days since 1970-01-01) of a 'YYYY-MM-DD' key, used as a compact map key. */
export const dayNumber = (day: string): number =>
  Date.UTC(Number(day.slice(0, 4)), Number(day.slice(5, 7)) - 1, Number(day.slice(8, 10))) / DAY_MS;

/**
 * The local hour slots that exist on a Paris day, in real-time order. On the spring-forward day slot 2
 * does not exist (01:00 is followed by 03:00); on the autumn day slot 2 covers two real hours.
 */
export function existingHourSlots(day: string): number[] {
  const slots = Array.from({ length: 24 }, (_, h) => h);
  const year = Number(day.slice(0, 4));
  const [springUtc] = year >= 1996 && year <= 2099 ? summerWindow(year) : [NaN];
  if (springUtc !== undefined && Number.isFinite(springUtc)) {
    // The gap is at 02:00 local on the day whose 01:00 UTC starts summer time.
    const springDay = new Date(springUtc).toISOString().slice(0, 10);
    return springDay === day ? slots.filter((h) => h !== 2) : slots;
  }
  // Outside the fast range: a local hour exists if some instant maps to it.
  const start = Date.UTC(year, Number(day.slice(5, 7)) - 1, Number(day.slice(8, 10))) - 3 * HOUR_MS;
  const seen = new Set<number>();
  for (let t = start; t < start + 30 * HOUR_MS; t += HOUR_MS) {
    const local = parisDayHour(t);
    if (local.day === day) seen.add(local.hour);
  }
  return slots.filter((h) => seen.has(h));
}
