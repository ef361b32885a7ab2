/**
 * Time partitions in a fixed IANA zone (Europe/Paris by default) and the mappings between them.
 * Daily keys: `YYYY-MM-DD`. Hourly keys: `YYYY-MM-DDTHH` (local wall-clock hour).
 * A day always has the 24 keys 00..23: on a DST day the missing (spring) hour simply has no data,
 * and the repeated (autumn) hour shares one key, as the raw `dt=/hour=` folders do.
 */

export const UNPARTITIONED = 'all';
const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const HOUR_RE = /^(\d{4}-\d{2}-\d{2})T(\d{2})$/;

export type PartitionsDef = { kind: 'daily'; timezone: string } | { kind: 'hourly'; timezone: string };

export const daily = (timezone = 'Europe/Paris'): PartitionsDef => ({ kind: 'daily', timezone });
export const hourly = (timezone = 'Europe/Paris'): PartitionsDef => ({ kind: 'hourly', timezone });

export function isDayKey(key: string): boolean {
  const m = DAY_RE.exec(key);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === key;
}

export function isHourKey(key: string): boolean {
  const m = HOUR_RE.exec(key);
  return !!m && isDayKey(m[1]!) && Number(m[2]) < 24;
}

/** Calendar arithmetic on day keys (zone-independent: a day key is a calendar date). */
export function addDays(day: string, n: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

export function daysBetween(from: string, to: string): string[] {
  if (!isDayKey(from) || !isDayKey(to))
    throw new RangeError(`Invalid day range ${from}..${to}: use YYYY-MM-DD`);
  const out: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
  return out;
}

export const hoursOfDay = (day: string): string[] =>
  Array.from({ length: 24 }, (_, h) => `${day}T${String(h).padStart(2, '0')}`);

/** All keys of a partitions definition for the inclusive day range. */
export function partitionKeys(def: PartitionsDef | undefined, from: string, to: string): string[] {
  if (!def) return [UNPARTITIONED];
  const days = daysBetween(from, to);
  return def.kind === 'daily' ? days : days.flatMap(hoursOfDay);
}

export function validatePartitionKey(def: PartitionsDef | undefined, key: string): string | null {
  if (!def) return key === UNPARTITIONED ? null : `this asset is not partitioned (use no --partition)`;
  if (def.kind === 'daily') return isDayKey(key) ? null : `"${key}" is not a day key (YYYY-MM-DD)`;
  return isHourKey(key) ? null : `"${key}" is not an hour key (YYYY-MM-DDTHH)`;
}

/** The day a key belongs to (the key itself for days). */
export const dayOf = (key: string): string => key.slice(0, 10);

/** Paris (or any zone) calendar day of an instant. */
export function dayInZone(instant: Date, timezone = 'Europe/Paris'): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  })
    .format(instant)
    .slice(0, 10);
}

/**
 * How a downstream partition maps to upstream partitions.
 * `many` mappings hand compute an array of `{ partitionKey, value }`; `one` mappings hand the value.
 */
export interface PartitionMapping<C extends 'one' | 'many' = 'one' | 'many'> {
  readonly name: string;
  readonly cardinality: C;
  upstream(downstreamKey: string): string[];
}

const IDENTITY: PartitionMapping<'one'> = Object.freeze({
  name: 'identity',
  cardinality: 'one',
  upstream: (k: string) => [k],
});

/** The same partition key upstream (one shared mapping, so the planner can recognise it). */
export const identity = (): PartitionMapping<'one'> => IDENTITY;
export const isIdentity = (m: PartitionMapping): boolean => m === IDENTITY;

/** A daily partition reads the 24 hourly partitions of the same day. */
export const hourlyToDaily = (): PartitionMapping<'many'> => ({
  name: 'hourly→daily',
  cardinality: 'many',
  upstream: (k) => hoursOfDay(dayOf(k)),
});

/** A daily partition reads the same asset/partition `days` away (e.g. -7: the same day one week earlier). */
export const dayOffset = (days: number): PartitionMapping<'one'> => ({
  name: `day offset ${days}`,
  cardinality: 'one',
  upstream: (k) => [addDays(dayOf(k), days) + k.slice(10)],
});

/** Every partition reads an unpartitioned asset (e.g. a whole batch file feeds every day). */
export const fromUnpartitioned = (): PartitionMapping<'one'> => ({
  name: 'unpartitioned→all',
  cardinality: 'one',
  upstream: () => [UNPARTITIONED],
});
