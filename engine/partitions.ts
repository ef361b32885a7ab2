import { DefinitionError } from './definition-error.ts';
import { checkTimeZone } from './time-zone.ts';
import {
  cadenceOfKey,
  dayKey,
  dayNumber,
  shiftKey,
  windowAt,
  windowOf,
  windowsWithin,
  type Cadence,
} from './time-windows.ts';

/**
 * Partitions definitions: time windows (hourly, daily, weekly, monthly) in an IANA zone, from a start
 * and up to an optional end offset, or a static list of keys. Key formats: see `time-windows.ts`.
 * Mappings between two definitions: `partition-mappings.ts` (re-exported here).
 */
export * from './partition-mappings.ts';
export { cadenceOfKey, type Cadence } from './time-windows.ts';

export const UNPARTITIONED = 'all';

export interface TimeWindowPartitions {
  readonly kind: Cadence;
  readonly timezone: string;
  /** Key of the first partition; none before it (undefined: no lower bound). */
  readonly start?: string;
  /**
   * The last partition, relative to the window containing now: 0 → the last complete window, 1 → the
   * current one too, -1 → one fewer. Undefined: no upper bound.
   */
  readonly endOffset?: number;
  /** Canonical text of the definition (equal ids ⇔ the same partitions). */
  readonly id: string;
}

export interface StaticPartitions {
  readonly kind: 'static';
  readonly keys: readonly string[];
  readonly id: string;
}

export type PartitionsDef = TimeWindowPartitions | StaticPartitions;

export interface TimeWindowOptions {
  /** IANA zone (default Europe/Paris). */
  timezone?: string;
  /** Where partitions begin: a key of any cadence; the first partition is the first window starting at or after it. */
  start?: string;
  endOffset?: number;
}

/** One time-window partitions definition; `hourly()`, `daily()`, `weekly()`, `monthly()` are its presets. */
export function timeWindows(kind: Cadence, opts: TimeWindowOptions | string = {}): TimeWindowPartitions {
  const o = typeof opts === 'string' ? { timezone: opts } : opts;
  const timezone = o.timezone ?? 'Europe/Paris';
  const bad = checkTimeZone(timezone);
  if (bad) throw new DefinitionError(`${kind} partitions: ${bad}`);
  if (o.endOffset !== undefined && !Number.isInteger(o.endOffset))
    throw new DefinitionError(`${kind} partitions: endOffset must be a whole number, not ${o.endOffset}`);
  let start: string | undefined;
  if (o.start !== undefined) {
    const w = boundWindow(o.start, timezone);
    if (!w)
      throw new DefinitionError(
        `${kind} partitions: start "${o.start}" is not a time key (YYYY-MM-DD, YYYY-MM-DDTHH, YYYY-Www or YYYY-MM)`,
      );
    start = windowsWithin(kind, timezone, w.start, Infinity, 1)[0];
  }
  const id = [
    kind,
    timezone,
    start ? `from ${start}` : '',
    o.endOffset !== undefined ? `end ${o.endOffset}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return Object.freeze({ kind, timezone, start, endOffset: o.endOffset, id });
}

export const hourly = (opts?: TimeWindowOptions | string) => timeWindows('hourly', opts);
export const daily = (opts?: TimeWindowOptions | string) => timeWindows('daily', opts);
export const weekly = (opts?: TimeWindowOptions | string) => timeWindows('weekly', opts);
export const monthly = (opts?: TimeWindowOptions | string) => timeWindows('monthly', opts);

/** A fixed list of keys (e.g. cities, sensors); the order given is the order of `--from/--to`. */
export function staticPartitions(keys: readonly string[]): StaticPartitions {
  if (!keys.length) throw new DefinitionError('static partitions need at least one key');
  const seen = new Set<string>();
  for (const k of keys) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(k) || k === UNPARTITIONED)
      throw new DefinitionError(`static partition key "${k}": use letters, digits, _ . - (and not "all")`);
    if (seen.has(k)) throw new DefinitionError(`static partition key "${k}" is listed twice`);
    seen.add(k);
  }
  return Object.freeze({ kind: 'static', keys: Object.freeze([...keys]), id: `static ${keys.join(',')}` });
}

export const isTimeWindows = (def: PartitionsDef | undefined): def is TimeWindowPartitions =>
  !!def && def.kind !== 'static';

/** The window of a range bound or `--partition` value written in any cadence (hour, day, week, month) in `tz`. */
export function boundWindow(key: string, tz: string): { start: number; end: number } | null {
  const c = cadenceOfKey(key);
  return c ? windowOf(c, tz, key) : null;
}

/** The last partition of a definition with an end offset, at instant `now`. */
export function lastKey(def: TimeWindowPartitions, now = Date.now()): string | undefined {
  if (def.endOffset === undefined) return undefined;
  return shiftKey(def.kind, def.timezone, windowAt(def.kind, def.timezone, now), def.endOffset - 1);
}

/**
 * The partitions of `def` in the inclusive range `from`..`to`. For time windows, the bounds are keys of
 * any cadence read in the definition's zone, and the partitions are the windows that lie within
 * [start of from, end of to), clipped to the definition's start and end; bounds that are not time keys
 * select none. For static partitions: the keys from..to in declared order when both are keys of it,
 * else every key (a time range does not divide a static list). Unpartitioned: `all`.
 */
export function partitionKeys(
  def: PartitionsDef | undefined,
  from: string,
  to: string,
  now = Date.now(),
): string[] {
  if (!def) return [UNPARTITIONED];
  if (def.kind === 'static') {
    const [i, j] = [def.keys.indexOf(from), def.keys.indexOf(to)];
    return i >= 0 && j >= 0 ? def.keys.slice(i, j + 1) : [...def.keys];
  }
  const lo = boundWindow(from, def.timezone);
  const hi = boundWindow(to, def.timezone);
  if (!lo || !hi) return [];
  const last = lastKey(def, now);
  const end = last ? Math.min(hi.end, windowOf(def.kind, def.timezone, last)!.end) : hi.end;
  const begin = def.start ? Math.max(lo.start, windowOf(def.kind, def.timezone, def.start)!.start) : lo.start;
  return windowsWithin(def.kind, def.timezone, begin, end);
}

/** Null when `key` is a partition of `def`, else what is wrong with it. */
export function validatePartitionKey(
  def: PartitionsDef | undefined,
  key: string,
  now = Date.now(),
): string | null {
  if (!def) return key === UNPARTITIONED ? null : `this asset is not partitioned (use no --partition)`;
  if (def.kind === 'static')
    return def.keys.includes(key) ? null : `"${key}" is not one of the keys ${def.keys.join(', ')}`;
  if (!windowOf(def.kind, def.timezone, key))
    return cadenceOfKey(key) === def.kind
      ? `"${key}" does not exist in ${def.timezone} (clocks change)`
      : `"${key}" is not ${FORMATS[def.kind]}`;
  if (def.start && key < def.start) return `"${key}" is before the first partition ${def.start}`;
  const last = lastKey(def, now);
  if (last && key > last) return `"${key}" is after the last partition ${last}`;
  return null;
}

const FORMATS: Record<Cadence, string> = {
  hourly: 'an hour key (YYYY-MM-DDTHH)',
  daily: 'a day key (YYYY-MM-DD)',
  weekly: 'an ISO week key (YYYY-Www)',
  monthly: 'a month key (YYYY-MM)',
};

/** A short description for listings: `daily Europe/Paris from 2025-01-01`, `static a,b,c`. */
export const describePartitions = (def: PartitionsDef | undefined): string => def?.id ?? 'unpartitioned';

// ---------- calendar helpers (zone-independent: a day key is a calendar date) ----------

export const isDayKey = (key: string): boolean => dayNumber(key) !== null;
export const isHourKey = (key: string): boolean => cadenceOfKey(key) === 'hourly';

export function addDays(day: string, n: number): string {
  return dayKey(dayNumber(day)! + n);
}

export function daysBetween(from: string, to: string): string[] {
  const [a, b] = [dayNumber(from), dayNumber(to)];
  if (a === null || b === null) throw new RangeError(`Invalid day range ${from}..${to}: use YYYY-MM-DD`);
  const out: string[] = [];
  for (let d = a; d <= b; d++) out.push(dayKey(d));
  return out;
}

/** The day a day or hour key belongs to. */
export const dayOf = (key: string): string => key.slice(0, 10);

/** Calendar day of an instant in a zone (Europe/Paris by default). */
export function dayInZone(instant: Date, timezone = 'Europe/Paris'): string {
  return windowAt('daily', timezone, instant.getTime());
}
