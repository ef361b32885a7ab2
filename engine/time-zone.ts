/**
 * IANA time zones through ICU, the time zone data Node ships (no table of our own): the UTC offset at an
 * instant, and the instant a local wall-clock time begins. Instants are epoch milliseconds.
 */
import process from 'node:process';

const formats = new Map<string, Intl.DateTimeFormat>();

function formatFor(timezone: string): Intl.DateTimeFormat {
  let f = formats.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(timezone, f);
  }
  return f;
}

let canonicalZones: ReadonlySet<string> | undefined;

/** Null when `timezone` is an IANA zone this Node knows, else why not. */
export function checkTimeZone(timezone: string): string | null {
  // Intl's list of canonical zones (and UTC, which every Intl knows) answers at once; a formatter, for
  // the other names it accepts (aliases such as US/Eastern), loads ICU's locale data on the first one:
  // ≈ 20–30 ms that a command computing no offset (`pipeline list`) would otherwise pay at every start.
  canonicalZones ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (timezone === 'UTC' || canonicalZones.has(timezone)) return null;
  try {
    formatFor(timezone);
    return null;
  } catch {
    return `unknown time zone "${timezone}" (use an IANA name such as Europe/Paris, America/New_York or UTC)`;
  }
}

const MINUTE = 60_000;
const QUARTER = 15 * MINUTE;
const DAY = 86_400_000;
/** Offsets by instant, per zone (numeric keys: no string built per question). */
const offsets = new Map<string, Map<number, number>>();

/** The offset at instant `t` straight from Intl (offsets change on whole quarter hours in zones in use). */
function intlOffset(timezone: string, t: number): number {
  const p: Record<string, number> = {};
  for (const part of formatFor(timezone).formatToParts(new Date(t)))
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  const local = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return Math.round((local - t) / MINUTE);
}

/**
 * Runs `read` with the process's local zone set to `timezone` through `process.env.TZ` (Node resets
 * V8's and ICU's local zone on that assignment), then restores TZ as it was; undefined when that is not
 * possible here. Why: V8's local time reads the same ICU zone data as Intl, but the first
 * `Intl.DateTimeFormat` also loads ICU's locale data, ≈ 20 ms of every start that plans a daily window;
 * switching TZ costs ≈ 25 µs. Nothing else runs on this thread between the assignment and the
 * restore. ICU takes TZ as a zone name only without digits (`Etc/GMT+5` is not), and a worker thread's
 * `process.env` is a copy that moves no zone: both are told apart once per thread by two probes.
 */
function withLocalZone<T>(timezone: string, read: () => T): T | undefined {
  if (/\d/.test(timezone) || localZoneWorks === false) return undefined;
  const env = process.env;
  const saved = env.TZ;
  try {
    if (localZoneWorks === undefined) {
      const probe = (zone: string) => ((env.TZ = zone), -new Date(PROBE_INSTANT).getTimezoneOffset());
      localZoneWorks = probe('UTC') === 0 && probe('Asia/Tokyo') === 540;
      if (!localZoneWorks) return undefined;
    }
    env.TZ = timezone;
    return read();
  } catch {
    localZoneWorks = false;
    return undefined;
  } finally {
    if (saved === undefined) delete env.TZ;
    else env.TZ = saved;
  }
}

/** Whether setting TZ moves this thread's local zone (see withLocalZone); undefined until probed. */
let localZoneWorks: boolean | undefined;
/** 2020-01-01T00:00Z: Tokyo has been UTC+9 without summer time since 1951. */
const PROBE_INSTANT = Date.UTC(2020, 0, 1);
/** Offsets are computed a block of UTC days at a time (one TZ switch), as offsetAt asks for them. */
const BLOCK_DAYS = 366;

/**
 * Fills `zone` with the offsets offsetAt asks for in the block of days around `t` (each day's first and
 * last quarter hour, and every quarter hour of a day whose offset changes), and `t` itself.
 */
function fillBlock(zone: Map<number, number>, timezone: string, t: number): number | undefined {
  return withLocalZone(timezone, () => {
    // From the wall clock to the second, as intlOffset: local mean times (before ≈ 1900) have seconds.
    const offset = (at: number) => {
      const d = new Date(at);
      const local = Date.UTC(
        d.getFullYear(),
        d.getMonth(),
        d.getDate(),
        d.getHours(),
        d.getMinutes(),
        d.getSeconds(),
      );
      return Math.round((local - at) / MINUTE);
    };
    const first = Math.floor(Math.floor(t / DAY) / BLOCK_DAYS) * BLOCK_DAYS;
    for (let day = first; day < first + BLOCK_DAYS; day++) {
      const start = day * DAY;
      const last = start + DAY - QUARTER;
      const a = offset(start);
      const b = offset(last);
      zone.set(start, a);
      zone.set(last, b);
      if (a !== b) for (let q = start + QUARTER; q < last; q += QUARTER) zone.set(q, offset(q));
    }
    const v = zone.get(t) ?? offset(t);
    zone.set(t, v);
    return v;
  });
}

/** The offset at instant `t` (a day's first or last quarter hour, or any quarter hour), remembered. */
function cachedOffset(zone: Map<number, number>, timezone: string, t: number): number {
  let v = zone.get(t);
  if (v === undefined) {
    if (zone.size > 500_000) zone.clear();
    v = fillBlock(zone, timezone, t);
    if (v === undefined) zone.set(t, (v = intlOffset(timezone, t)));
  }
  return v;
}

/** Minutes to add to UTC to get the local time of `timezone` at instant `ms` (e.g. 60 for Paris in winter). */
export function offsetAt(timezone: string, ms: number): number {
  let zone = offsets.get(timezone);
  if (!zone) offsets.set(timezone, (zone = new Map()));
  // One Intl call per UTC day when the offset is the same at both ends (offsets change at most once a
  // day), else per quarter hour.
  const day = Math.floor(ms / DAY);
  const first = cachedOffset(zone, timezone, day * DAY);
  const last = cachedOffset(zone, timezone, (day + 1) * DAY - QUARTER);
  if (first === last) return first;
  return cachedOffset(zone, timezone, Math.floor(ms / QUARTER) * QUARTER);
}

/** Local wall-clock fields of an instant (month 1-12). */
export function wallClock(
  timezone: string,
  ms: number,
): { year: number; month: number; day: number; hour: number; minute: number } {
  const d = new Date(ms + offsetAt(timezone, ms) * MINUTE);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
  };
}

/**
 * The first instant whose local time in `timezone` is at or after the wall-clock time `wall` (given as
 * if it were UTC: `Date.UTC(y, m - 1, d, h)`). An ambiguous time (clocks going back) gives its first
 * occurrence; a time that does not exist (clocks going forward) gives the end of the gap.
 */
export function wallToInstant(timezone: string, wall: number): number {
  const before = offsetAt(timezone, wall - 14 * 3_600_000) * MINUTE;
  const after = offsetAt(timezone, wall + 14 * 3_600_000) * MINUTE;
  const fits = (t: number) => t + offsetAt(timezone, t) * MINUTE === wall;
  const candidates = [wall - before, wall - after].filter(fits);
  if (candidates.length) return Math.min(...candidates);
  // In a gap: the offset grows from `before` to `after` somewhere in [wall - after, wall - before].
  let lo = wall - after;
  let hi = wall - before;
  while (hi - lo > MINUTE) {
    const mid = lo + Math.floor((hi - lo) / 2 / MINUTE) * MINUTE;
    if (mid + offsetAt(timezone, mid) * MINUTE >= wall) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** `+01`, `-05`, `+0530`: a UTC offset in minutes as in ISO 8601 (basic form). */
export function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  return abs % 60 ? `${sign}${hh}${String(abs % 60).padStart(2, '0')}` : `${sign}${hh}`;
}
