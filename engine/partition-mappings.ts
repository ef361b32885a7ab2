import type { PartitionsDef, TimeWindowPartitions } from './partitions.ts';
import { shiftKey, windowOf, windowsWithin, type Cadence } from './time-windows.ts';

/**
 * How a downstream partition maps to upstream partitions. `many` mappings hand compute an array of
 * `{ partitionKey, value }`; `one` mappings hand the value. The built-in mappings are specs: when the
 * definitions load (`AssetGraph`), `bind` checks that they fit the two partitions definitions (else an
 * error naming the assets) and returns the mapping the engine uses. A custom mapping may give only
 * `upstream`.
 */
export interface PartitionMapping<C extends 'one' | 'many' = 'one' | 'many'> {
  readonly name: string;
  readonly cardinality: C;
  upstream(downstreamKey: string): string[];
  /** The mapping for these two definitions, or why it does not fit them. */
  bind?(
    up: PartitionsDef | undefined,
    down: PartitionsDef | undefined,
    self: boolean,
  ): PartitionMapping<C> | string;
}

const unbound = (name: string) => (): string[] => {
  throw new Error(`partition mapping ${name} is used before the definitions bind it (AssetGraph)`);
};

const describe = (d: PartitionsDef | undefined): string =>
  !d ? 'unpartitioned' : d.kind === 'static' ? 'static' : `${d.kind} (${d.timezone})`;

/** Both sides time windows in one zone (mappings do not convert zones), else why not. */
function sameZone(
  up: PartitionsDef | undefined,
  down: PartitionsDef | undefined,
): [TimeWindowPartitions, TimeWindowPartitions] | string {
  if (!up || !down || up.kind === 'static' || down.kind === 'static')
    return `needs time partitions on both sides (upstream ${describe(up)}, downstream ${describe(down)})`;
  if (up.timezone !== down.timezone)
    return `upstream is in ${up.timezone} but downstream in ${down.timezone}: use one time zone`;
  return [up, down];
}

/** For a required input: the downstream's first partition must not read before the upstream's start. */
function startsFit(up: TimeWindowPartitions, down: TimeWindowPartitions, firstRead: (k: string) => string) {
  if (!up.start) return null;
  if (!down.start) return `upstream starts at ${up.start} but downstream has no start: give it one`;
  const read = firstRead(down.start);
  return read < up.start
    ? `downstream's first partition ${down.start} would read ${read}, before the upstream's start ${up.start}`
    : null;
}

const IDENTITY: PartitionMapping<'one'> = Object.freeze({
  name: 'identity',
  cardinality: 'one',
  upstream: (k: string) => [k],
  bind: (up: PartitionsDef | undefined, down: PartitionsDef | undefined, self: boolean) => {
    if (!up && !down) return IDENTITY;
    if (!up || !down) return `upstream is ${describe(up)}, downstream ${describe(down)}`;
    if (up.kind === 'static' || down.kind === 'static') {
      const same = up.kind === down.kind && up.id === down.id;
      return same ? IDENTITY : `needs the same partitions (upstream ${up.id}, downstream ${down.id})`;
    }
    if (up.kind !== down.kind || up.timezone !== down.timezone)
      return `needs the same partitions (upstream ${describe(up)}, downstream ${describe(down)}): use fanIn() or offset()`;
    return (!self && startsFit(up, down, (k) => k)) || IDENTITY;
  },
});

/** The same partition key upstream (one shared mapping, so the planner can recognise it). */
export const identity = (): PartitionMapping<'one'> => IDENTITY;
export const isIdentity = (m: PartitionMapping): boolean => m === IDENTITY;

const FINER: Record<Cadence, readonly Cadence[]> = {
  hourly: [],
  daily: ['hourly'],
  weekly: ['hourly', 'daily'],
  monthly: ['hourly', 'daily'],
};

/**
 * Fan-in: a window reads every finer upstream window inside it (a day its 23–25 hours, a month its days,
 * an ISO week its 7 days), from the upstream's start on. Weeks do not nest in months, so weekly → monthly
 * is refused. A static upstream into an unpartitioned downstream: every key.
 */
export function fanIn(name = 'fan-in'): PartitionMapping<'many'> {
  return {
    name,
    cardinality: 'many',
    upstream: unbound(name),
    bind: (up, down) => {
      if (up?.kind === 'static' && !down) return { name, cardinality: 'many', upstream: () => [...up.keys] };
      const both = sameZone(up, down);
      if (typeof both === 'string') return both;
      const [u, d] = both;
      if (!FINER[d.kind].includes(u.kind))
        return `${u.kind} windows do not nest in ${d.kind} windows (fan-in reads finer windows: hourly → daily → weekly or monthly)`;
      return {
        name,
        cardinality: 'many',
        upstream: (k) => {
          const w = windowOf(d.kind, d.timezone, k);
          if (!w) return [];
          const keys = windowsWithin(u.kind, u.timezone, w.start, w.end);
          return u.start ? keys.filter((q) => q >= u.start!) : keys;
        },
      };
    },
  };
}

/** A daily partition reads the hourly partitions of the same day (23, 24 or 25). */
export const hourlyToDaily = (): PartitionMapping<'many'> => {
  const m = fanIn('hourly→daily');
  return {
    ...m,
    bind: (up, down, self) =>
      up?.kind === 'hourly' && down?.kind === 'daily'
        ? m.bind!(up, down, self)
        : `hourlyToDaily() needs hourly upstream and daily downstream partitions (upstream ${describe(up)}, downstream ${describe(down)}): use fanIn()`,
  };
};

/**
 * The same window `n` periods away (n < 0: earlier), e.g. `self(offset(-7))` on daily partitions: the
 * same day one week earlier. Through `self`, a partition before the start reads as absent (undefined);
 * a required input from another asset must not reach before that asset's start (checked at load).
 */
export function offset(n: number, name = `offset ${n}`, only?: Cadence): PartitionMapping<'one'> {
  if (!Number.isInteger(n)) throw new RangeError(`offset(${n}): a whole number of windows`);
  return {
    name,
    cardinality: 'one',
    upstream: unbound(name),
    bind: (up, down, self) => {
      const both = sameZone(up, down);
      if (typeof both === 'string') return both;
      const [u, d] = both;
      if (only && d.kind !== only)
        return `${name} needs ${only} partitions (downstream is ${d.kind}): use offset(n)`;
      if (u.kind !== d.kind) return `offset needs the same cadence on both sides (${u.kind} vs ${d.kind})`;
      const at = (k: string) => shiftKey(d.kind, d.timezone, k, n);
      const late = !self && startsFit(u, d, at);
      return late || { name, cardinality: 'one', upstream: (k) => [at(k)] };
    },
  };
}

/** A daily partition reads the same asset/partition `days` away (e.g. -7: the same day one week earlier). */
export const dayOffset = (days: number): PartitionMapping<'one'> =>
  offset(days, `day offset ${days}`, 'daily');

/** Every partition reads an unpartitioned asset (e.g. a whole batch file feeds every day). */
export const fromUnpartitioned = (): PartitionMapping<'one'> => ({
  name: 'unpartitioned→all',
  cardinality: 'one',
  upstream: () => ['all'],
  bind(up) {
    return up ? `fromUnpartitioned() needs an unpartitioned upstream (it is ${describe(up)})` : this;
  },
});
