import { formatOffset, offsetAt, wallClock, wallToInstant } from './time-zone.ts';

/**
 * Time windows and their keys, in one IANA zone. Each key names a window [start, end) of instants:
 *   hourly  `YYYY-MM-DDTHH`  a local wall-clock hour. A day has 23 of them when clocks go forward (the
 *           skipped hour has no key) and 25 when they go back: the repeated hour's second occurrence is
 *           `YYYY-MM-DDTHH` + its UTC offset in ISO 8601 basic form (`2025-10-26T02+01` in Paris,
 *           `2025-11-02T01-05` in New York); keys still sort in time order.
 *   daily   `YYYY-MM-DD`     a local calendar day.
 *   weekly  `YYYY-Www`       an ISO 8601 week (Monday to Sunday; the year is the ISO week-year).
 *   monthly `YYYY-MM`        a local calendar month.
 */
export type Cadence = 'hourly' | 'daily' | 'weekly' | 'monthly';
export const CADENCES: readonly Cadence[] = ['hourly', 'daily', 'weekly', 'monthly'];

export interface Window {
  start: number;
  end: number;
}

const DAY_MS = 86_400_000;
const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const HOUR_RE = /^(\d{4}-\d{2}-\d{2})T(\d{2})([+-]\d{2}(?:\d{2})?)?$/;
const WEEK_RE = /^(\d{4})-W(\d{2})$/;
const MONTH_RE = /^(\d{4})-(\d{2})$/;

/** Days since 1970-01-01 of a valid `YYYY-MM-DD`, else null. */
export function dayNumber(day: string): number | null {
  const m = DAY_RE.exec(day);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Date(ms).toISOString().slice(0, 10) === day ? ms / DAY_MS : null;
}

export const dayKey = (n: number): string => new Date(n * DAY_MS).toISOString().slice(0, 10);

/** The Monday of an ISO week key, as a day number (null when the week does not exist). */
function weekMonday(key: string): number | null {
  const m = WEEK_RE.exec(key);
  if (!m) return null;
  const jan4 = Date.UTC(Number(m[1]), 0, 4) / DAY_MS;
  const monday = jan4 - ((new Date(jan4 * DAY_MS).getUTCDay() + 6) % 7) + (Number(m[2]) - 1) * 7;
  return Number(m[2]) >= 1 && weekKey(monday) === key ? monday : null;
}

/** The ISO week key of a day number. */
export function weekKey(day: number): string {
  const thursday = day - ((new Date(day * DAY_MS).getUTCDay() + 6) % 7) + 3;
  const year = new Date(thursday * DAY_MS).getUTCFullYear();
  const week = Math.floor((thursday - Date.UTC(year, 0, 1) / DAY_MS) / 7) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}

function monthFirst(key: string): { y: number; m: number } | null {
  const m = MONTH_RE.exec(key);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) return null;
  return { y: Number(m[1]), m: Number(m[2]) };
}

const monthKey = (y: number, m: number): string => {
  const d = new Date(Date.UTC(y, m - 1, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
};

/** The cadence a key is written in (syntax and calendar only; an hour's existence depends on the zone). */
export function cadenceOfKey(key: string): Cadence | null {
  if (dayNumber(key) !== null) return 'daily';
  const h = HOUR_RE.exec(key);
  if (h) return dayNumber(h[1]!) !== null && Number(h[2]) < 24 ? 'hourly' : null;
  if (weekMonday(key) !== null) return 'weekly';
  if (monthFirst(key)) return 'monthly';
  return null;
}

/** The instant a local calendar day begins (local midnight, or the end of a gap at midnight). */
const dayStart = (tz: string, day: number): number => wallToInstant(tz, day * DAY_MS);

interface HourWindow extends Window {
  key: string;
}
const hourCache = new Map<string, HourWindow[]>();

/** The hourly windows of a local day: 24, or 23/25 on the days clocks change. */
export function hoursOfDay(tz: string, day: number): HourWindow[] {
  const ck = `${tz}|${day}`;
  const cached = hourCache.get(ck);
  if (cached) return cached;
  const start = dayStart(tz, day);
  const end = dayStart(tz, day + 1);
  const date = dayKey(day);
  const out: HourWindow[] = [];
  const off = offsetAt(tz, start);
  if (end - start === DAY_MS && off === offsetAt(tz, end - 1) && off % 60 === 0) {
    for (let h = 0; h < 24; h++)
      out.push({ key: `${date}T${String(h).padStart(2, '0')}`, start: start + h * 3_600_000, end: 0 });
  } else {
    // A day with a change of offset: a window begins at each new local hour, walking quarter hours.
    const seen = new Set<string>();
    for (let t = start; t < end; t += 900_000) {
      const w = wallClock(tz, t);
      if (t !== start && w.minute !== 0) continue;
      let key = `${date}T${String(w.hour).padStart(2, '0')}`;
      if (seen.has(key)) key += formatOffset(offsetAt(tz, t));
      seen.add(key);
      out.push({ key, start: t, end: 0 });
    }
  }
  out.forEach((w, i) => (w.end = out[i + 1]?.start ?? end));
  if (hourCache.size > 50_000) hourCache.clear();
  hourCache.set(ck, out);
  return out;
}

/** The window a key names in `tz`, or null when the key is not a window of that cadence there. */
export function windowOf(cadence: Cadence, tz: string, key: string): Window | null {
  if (cadenceOfKey(key) !== cadence) return null;
  switch (cadence) {
    case 'hourly': {
      const w = hoursOfDay(tz, dayNumber(key.slice(0, 10))!).find((x) => x.key === key);
      return w ? { start: w.start, end: w.end } : null;
    }
    case 'daily': {
      const d = dayNumber(key)!;
      return { start: dayStart(tz, d), end: dayStart(tz, d + 1) };
    }
    case 'weekly': {
      const d = weekMonday(key)!;
      return { start: dayStart(tz, d), end: dayStart(tz, d + 7) };
    }
    case 'monthly': {
      const { y, m } = monthFirst(key)!;
      return {
        start: dayStart(tz, Date.UTC(y, m - 1, 1) / DAY_MS),
        end: dayStart(tz, Date.UTC(y, m, 1) / DAY_MS),
      };
    }
  }
}

/** The key of the window containing instant `t`. */
export function windowAt(cadence: Cadence, tz: string, t: number): string {
  const w = wallClock(tz, t);
  const day = Date.UTC(w.year, w.month - 1, w.day) / DAY_MS;
  switch (cadence) {
    case 'hourly':
      return hoursOfDay(tz, day).find((x) => x.start <= t && t < x.end)!.key;
    case 'daily':
      return dayKey(day);
    case 'weekly':
      return weekKey(day);
    case 'monthly':
      return monthKey(w.year, w.month);
  }
}

/** The key `n` windows after `key` (before, for n < 0). */
export function shiftKey(cadence: Cadence, tz: string, key: string, n: number): string {
  switch (cadence) {
    case 'daily':
      return dayKey(dayNumber(key)! + n);
    case 'weekly':
      return weekKey(weekMonday(key)! + 7 * n);
    case 'monthly': {
      const { y, m } = monthFirst(key)!;
      return monthKey(y, m + n);
    }
    case 'hourly': {
      let k = key;
      for (let i = 0; i < Math.abs(n); i++) {
        const w = windowOf('hourly', tz, k)!;
        k = windowAt('hourly', tz, n > 0 ? w.end : w.start - 1);
      }
      return k;
    }
  }
}

/** Keys of the windows that lie within [from, to), in time order (at most `limit`). */
export function windowsWithin(
  cadence: Cadence,
  tz: string,
  from: number,
  to: number,
  limit = Infinity,
): string[] {
  const out: string[] = [];
  if (cadence === 'hourly') {
    // Day by day through the cached hour lists (stepping hour by hour asks Intl for every hour).
    const w = wallClock(tz, from);
    for (let day = Date.UTC(w.year, w.month - 1, w.day) / DAY_MS; ; day++) {
      for (const h of hoursOfDay(tz, day)) {
        if (h.end > to || out.length >= limit) return out;
        if (h.start >= from) out.push(h.key);
      }
    }
  }
  let k = windowAt(cadence, tz, from);
  let w = windowOf(cadence, tz, k)!;
  if (w.start < from) {
    k = windowAt(cadence, tz, w.end);
    w = windowOf(cadence, tz, k)!;
  }
  while (w.end <= to && out.length < limit) {
    out.push(k);
    k = windowAt(cadence, tz, w.end);
    w = windowOf(cadence, tz, k)!;
  }
  return out;
}
