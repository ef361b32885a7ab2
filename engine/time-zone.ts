/**
 * IANA time zones through `Intl` (no table of our own): the UTC offset at an instant, and the instant a
 * local wall-clock time begins. Instants are epoch milliseconds.
 */

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
/** Offsets from Intl by instant, per zone (numeric keys: no string built per question). */
const offsets = new Map<string, Map<number, number>>();

/** The offset at instant `t` straight from Intl (offsets change on whole quarter hours in zones in use). */
function intlOffset(timezone: string, t: number): number {
  const p: Record<string, number> = {};
  for (const part of formatFor(timezone).formatToParts(new Date(t)))
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  const local = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return Math.round((local - t) / MINUTE);
}

/** The offset at instant `t` (a day's first or last quarter hour, or any quarter hour), remembered. */
function cachedOffset(zone: Map<number, number>, timezone: string, t: number): number {
  let v = zone.get(t);
  if (v === undefined) {
    if (zone.size > 500_000) zone.clear();
    zone.set(t, (v = intlOffset(timezone, t)));
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
