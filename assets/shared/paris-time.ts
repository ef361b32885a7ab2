/**
 * Europe/Paris calendar helpers. Every "day D" of the pipeline is a Paris civil day (SPEC §5.3, §5.5),
 * so instants are mapped to Paris local days/hours and Paris local wall-clock times back to instants.
 */

export const PARIS_TZ = 'Europe/Paris';
const HOUR_MS = 3_600_000;

// Created on first use: building an ICU formatter costs ~10 ms, which a no-op run does not need.
let partsFormat: Intl.DateTimeFormat | undefined;
const parisParts = (date: Date): Intl.DateTimeFormatPart[] =>
  (partsFormat ??= new Intl.DateTimeFormat('en-CA', {
    timeZone: PARIS_TZ,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  })).formatToParts(date);

/** Offset changes only happen on whole hours, so the offset is cached per UTC hour. */
const offsetCache = new Map<number, number>();

/** Paris UTC offset in ms at the given instant (+1 h in winter, +2 h in summer). */
export function parisOffsetMs(utcMs: number): number {
  const bucket = Math.floor(utcMs / HOUR_MS);
  const cached = offsetCache.get(bucket);
  if (cached !== undefined) return cached;
  const p: Record<string, number> = {};
  for (const { type, value } of parisParts(new Date(bucket * HOUR_MS))) p[type] = Number(value);
  const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  const offset = wall - bucket * HOUR_MS;
  if (offsetCache.size > 100_000) offsetCache.clear();
  offsetCache.set(bucket, offset);
  return offset;
}

/** Paris local wall clock of an instant, as the fields of a UTC Date (use getUTC*). */
const parisWall = (utcMs: number): Date => new Date(utcMs + parisOffsetMs(utcMs));

/** Paris calendar day 'YYYY-MM-DD' of an instant. */
export const parisDay = (utcMs: number): string => parisWall(utcMs).toISOString().slice(0, 10);

/** Paris local hour 0..23 of an instant. */
export const parisHour = (utcMs: number): number => parisWall(utcMs).getUTCHours();

/**
 * Instant of a Paris wall-clock time (fields as in Date.UTC). In the spring gap the time is read with
 * the pre-gap offset; in the autumn overlap the first (summer) occurrence is chosen.
 */
export function parisLocalToUtcMs(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number {
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const first = wall - parisOffsetMs(wall - 3 * HOUR_MS);
  const second = wall - parisOffsetMs(first);
  return Math.min(first, second);
}

const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** [start, end) instants (ms) of Paris day D; 23 h or 25 h long on DST days. */
export function parisDayWindow(day: string): { startMs: number; endMs: number } {
  const m = DAY_RE.exec(day);
  if (!m) throw new RangeError(`Invalid day "${day}": expected YYYY-MM-DD`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const next = new Date(Date.UTC(y, mo - 1, d + 1));
  return {
    startMs: parisLocalToUtcMs(y, mo, d),
    endMs: parisLocalToUtcMs(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate()),
  };
}

const ISO_OFFSET_RE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/** Parses an ISO-8601 timestamp that carries an explicit offset (or Z); anything else → null. */
export function parseIsoWithOffset(text: string): number | null {
  const m = ISO_OFFSET_RE.exec(text.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as number[];
  if (!validFields(y!, mo!, d!, h!, mi!, s!)) return null;
  const z = m[7]!;
  const offMin = z === 'Z' ? 0 : (z[0] === '-' ? -1 : 1) * (Number(z.slice(1, 3)) * 60 + Number(z.slice(-2)));
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!) - offMin * 60_000;
}

/** True when the fields form a real calendar date/time (rejects 2023-02-30, 25:00 …). */
export function validFields(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): boolean {
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return (
    t.getUTCFullYear() === y &&
    t.getUTCMonth() === mo - 1 &&
    t.getUTCDate() === d &&
    t.getUTCHours() === h &&
    t.getUTCMinutes() === mi &&
    t.getUTCSeconds() === s
  );
}

/** Validates a strict 'YYYY-MM-DD' calendar date. */
export function isCalendarDay(text: string): boolean {
  const m = DAY_RE.exec(text);
  return !!m && validFields(Number(m[1]), Number(m[2]), Number(m[3]));
}
