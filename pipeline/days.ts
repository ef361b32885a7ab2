import {
  boundWindow,
  cadenceOfKey,
  dayInZone,
  isDayKey,
  lastKey,
  partitionKeys,
  type AssetGraph,
  type SourceIO,
} from '../engine/index.ts';

export interface PartitionRange {
  from: string;
  to: string;
  origin: string;
  /** Given with --partition or --from/--to (checked against starts and ends), not found in the data. */
  explicit?: boolean;
}

const FORMATS =
  'a day YYYY-MM-DD (a real date), an hour YYYY-MM-DDTHH, an ISO week YYYY-Www, a month YYYY-MM or a static key';
const STATIC_KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** A time key, or a static key that does not look like a mistyped date (`2021-13-01`). */
const usable = (v: string): boolean => !!cadenceOfKey(v) || (STATIC_KEY.test(v) && !/^\d{4}-\d/.test(v));

/**
 * The range a command works on: `--partition KEY` (one window of any cadence, or a static key),
 * `--from/--to` (inclusive; any cadence: `--from 2025-W45 --to 2025-11`), or by default every day
 * present in the raw API folders (`api/<source>/dt=YYYY-MM-DD`), else today in Paris.
 */
export async function resolveDays(
  opts: { partition?: string; from?: string; to?: string },
  sources: SourceIO,
): Promise<PartitionRange> {
  if (opts.partition === 'all') return await resolveDays({}, sources);
  if (opts.partition) {
    if (!usable(opts.partition))
      throw new UsageError(`--partition ${opts.partition}: use ${FORMATS}, or "all"`);
    return { from: opts.partition, to: opts.partition, origin: '--partition', explicit: true };
  }
  if (opts.from || opts.to) {
    const from = opts.from ?? opts.to!;
    const to = opts.to ?? opts.from!;
    for (const [flag, v] of [
      ['--from', from],
      ['--to', to],
    ] as const) {
      if (!usable(v)) throw new UsageError(`${flag} ${v}: use ${FORMATS}`);
    }
    const [a, b] = [boundWindow(from, 'UTC'), boundWindow(to, 'UTC')];
    if (a && b && a.start > b.start) throw new UsageError(`--from ${from} is after --to ${to}`);
    return { from, to, origin: '--from/--to', explicit: true };
  }
  const days = new Set<string>();
  for (const src of await sources.listFolders('api')) {
    for (const folder of await sources.listFolders(`api/${src}`)) {
      const m = /^dt=(\d{4}-\d{2}-\d{2})$/.exec(folder);
      if (m && isDayKey(m[1]!)) days.add(m[1]!);
    }
  }
  const sorted = [...days].sort();
  if (!sorted.length) {
    const today = dayInZone(new Date());
    return { from: today, to: today, origin: 'today (no dt= folders found in the raw data)' };
  }
  return { from: sorted[0]!, to: sorted.at(-1)!, origin: 'days present in the raw data' };
}

/**
 * An explicit range must fit every selected asset: not before its first partition (nothing to backfill
 * there), not after its last (end offset), bounds that are not time keys must be keys of a selected
 * static asset, and it must hold at least one partition. The default range is clipped instead.
 */
export function checkRange(graph: AssetGraph, selected: Iterable<string>, range: PartitionRange): void {
  if (!range.explicit) return;
  const flags = range.origin === '--partition' ? ['--partition', '--partition'] : ['--from', '--to'];
  const assets = [...selected].map((k) => graph.get(k));
  for (const [flag, bound] of [
    [flags[0], range.from],
    [flags[1], range.to],
  ] as const) {
    if (cadenceOfKey(bound)) continue;
    const known = assets.some((a) => a.partitions?.kind === 'static' && a.partitions.keys.includes(bound));
    if (!known)
      throw new UsageError(
        `${flag} ${bound}: not a time key (${FORMATS}) nor a key of a selected static asset`,
      );
  }
  // Units that would be built (sources are only observed), unless only sources are selected.
  const built = assets.some((a) => a.kind !== 'source') ? assets.filter((a) => a.kind !== 'source') : assets;
  let units = 0;
  for (const a of assets) {
    const def = a.partitions;
    if (built.includes(a)) units += partitionKeys(def, range.from, range.to).length;
    if (!def || def.kind === 'static') continue;
    const lo = boundWindow(range.from, def.timezone);
    const hi = boundWindow(range.to, def.timezone);
    if (!lo || !hi) continue;
    if (def.start && lo.start < boundWindow(def.start, def.timezone)!.start)
      throw new UsageError(
        `${flags[0]} ${range.from} is before the start of ${a.key} (${def.kind} partitions begin at ${def.start}): ` +
          `nothing to backfill before it; use ${flags[0] === '--partition' ? '--partition' : '--from'} ${def.start} or later`,
      );
    const last = lastKey(def);
    if (last && hi.end > boundWindow(last, def.timezone)!.end)
      throw new UsageError(
        `${flags[1]} ${range.to} is after the last partition of ${a.key} (${last}, end offset ${def.endOffset})`,
      );
  }
  if (!units)
    throw new UsageError(
      `${range.origin} ${range.from === range.to ? range.from : `${range.from}..${range.to}`} holds no whole ` +
        `partition of the selected assets (${built.map((a) => `${a.key}: ${a.partitions?.kind ?? 'unpartitioned'}`).join(', ')})`,
    );
}

/** The calendar days a range covers, for filters by day: a week's Monday..Sunday, a month's 1st..last. */
export function dayBounds(range: PartitionRange): PartitionRange {
  const lo = boundWindow(range.from, 'UTC');
  const hi = boundWindow(range.to, 'UTC');
  if (!lo || !hi) return range;
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return { ...range, from: day(lo.start), to: day(hi.end - 1) };
}

/** A mistake in how the command was called: exit code 2, message only. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
