/**
 * The raw-data sensor: which source partitions have data now, through the project's `SourceIO`
 * (`listFolders` to discover partitions, `observe` or `observeMany` for their data versions; local folders
 * or S3 alike).
 * Compared with the cursor (what was seen at the last evaluation) it gives the new, changed and removed
 * raw partitions.
 *
 * Discovery is generic: a time-partitioned source's folder of a partition is `locate(key).prefix`; the
 * folders below the prefix common to all keys are walked, and every folder whose path names a day
 * (`YYYY-MM-DD`, e.g. `dt=2025-11-04`) makes that day's partitions candidates, each confirmed by `locate`.
 * Today and yesterday (in the source's zone) are always candidates. Unpartitioned and static sources
 * are observed whole. A time source whose whole tree (one recursive observation: one listing in S3)
 * has the data version stored in the cursor is not walked again: its partitions are those seen then.
 */
import pLimit from 'p-limit';
import type { AnyAsset } from '../asset.ts';
import type { Definitions } from '../definitions.ts';
import { failureMessage, isFatal, observeSources } from '../observe-sources.ts';
import {
  partitionKeys,
  UNPARTITIONED,
  validatePartitionKey,
  type TimeWindowPartitions,
} from '../partitions.ts';
import { dayKey, dayNumber, windowAt, windowOf } from '../time-windows.ts';

export interface SourceScan {
  /** Source key → partition → data version, for partitions with at least one file. */
  seen: Record<string, Record<string, string>>;
  /** Days (YYYY-MM-DD) of the partitions found, over every time-partitioned source. */
  days: string[];
  /** Source key → the located folders (prefixes) that have data (a fall-back day's repeated hour shares one). */
  prefixes: Map<string, Set<string>>;
  /** Source key → data version of its whole folder tree (time sources; see `scanSources`). */
  roots: Record<string, string>;
  /** Partitions that could not be observed this time (kept as they were in the cursor). */
  errors: { source: string; partition: string; message: string }[];
}

export interface RawChange {
  source: string;
  partition: string;
  change: 'new' | 'changed' | 'removed';
}

const trim = (p: string): string => p.replace(/^\/+|\/+$/g, '');
const DAY_IN = /(\d{4}-\d{2}-\d{2})/;

/** The folder common to every partition of a time source and how many levels below it a partition is. */
function layout(src: AnyAsset): { root: string; depth: number } | null {
  const def = src.partitions;
  if (!def || def.kind === 'static' || !src.locate) return null;
  const a = trim(src.locate(windowAt(def.kind, def.timezone, Date.UTC(2000, 0, 1, 0))).prefix).split('/');
  const b = trim(src.locate(windowAt(def.kind, def.timezone, Date.UTC(2011, 11, 22, 13))).prefix).split('/');
  if (a.length !== b.length) return null;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return { root: a.slice(0, i).join('/'), depth: a.length - i };
}

/** Folder paths `depth` levels below `root` (relative to the raw root). */
async function walk(defs: Definitions, root: string, depth: number, signal?: AbortSignal): Promise<string[]> {
  let level = [root];
  for (let d = 0; d < depth; d++) {
    signal?.throwIfAborted();
    const next: string[] = [];
    await pLimit(8).map(level, async (dir) => {
      for (const name of await defs.sources.listFolders(dir)) next.push(dir ? `${dir}/${name}` : name);
    });
    level = next;
  }
  return level;
}

/** The data version of everything under a folder, or undefined when it cannot be observed now. */
async function observeRoot(
  defs: Definitions,
  root: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  try {
    const o = await defs.sources.observe({ prefix: root, recursive: true }, signal);
    return `${o.fileCount}:${o.bytes}:${o.dataVersion}`;
  } catch (err) {
    if (signal?.aborted || isFatal(err)) throw err;
    return undefined;
  }
}

/** Observes every source of the definitions (see the module comment). `now` is the injected clock. */
export async function scanSources(
  defs: Definitions,
  opts: {
    now: number;
    signal?: AbortSignal;
    /** The cursor: sources whose whole tree is unchanged since it are not walked again. */
    previous?: { sources: Record<string, Record<string, string>>; roots?: Record<string, string> };
  },
): Promise<SourceScan> {
  const seen: SourceScan['seen'] = {};
  const roots: Record<string, string> = {};
  const prefixes = new Map<string, Set<string>>();
  const errors: SourceScan['errors'] = [];
  const allDays = new Set<string>();
  const jobs: { src: AnyAsset; partition: string }[] = [];
  for (const key of defs.graph.order) {
    const src = defs.graph.get(key);
    if (src.kind !== 'source' || !src.locate) continue;
    seen[key] = {};
    prefixes.set(key, new Set());
    const def = src.partitions;
    if (!def) {
      jobs.push({ src, partition: UNPARTITIONED });
      continue;
    }
    if (def.kind === 'static') {
      for (const k of def.keys) jobs.push({ src, partition: k });
      continue;
    }
    const today = windowAt('daily', def.timezone, opts.now);
    const days = new Set([today, dayKey(dayNumber(today)! - 1)]);
    const shape = layout(src);
    let existing: Set<string> | undefined;
    if (shape && shape.depth > 0 && def.endOffset === undefined) {
      // Fast path: one observation of the whole tree (one listing in S3); unchanged since the cursor →
      // the partitions seen then are those with data now, nothing to walk or observe one by one.
      const whole = await observeRoot(defs, shape.root, opts.signal);
      const before = opts.previous?.sources[key];
      if (whole !== undefined) roots[key] = whole;
      if (whole !== undefined && before && opts.previous?.roots?.[key] === whole) {
        seen[key] = { ...before };
        for (const p of Object.keys(before)) {
          prefixes.get(key)!.add(trim(src.locate(p).prefix));
          allDays.add(dayOfPartition(def, p));
        }
        continue;
      }
    }
    if (shape && shape.depth > 0) {
      const folders = await walk(defs, shape.root, shape.depth, opts.signal);
      existing = new Set(folders);
      for (const f of folders) {
        const m = DAY_IN.exec(f);
        if (m && dayNumber(m[1]!) !== null) days.add(m[1]!);
      }
    }
    for (const day of days) {
      for (const p of keysOfDay(def, day, opts.now)) {
        // Only partitions whose folder exists are observed (a missing folder has no data).
        if (existing && !existing.has(trim(src.locate(p).prefix))) continue;
        jobs.push({ src, partition: p });
      }
    }
  }
  await observeSources(
    defs.sources,
    jobs,
    ({ src, partition }) => src.locate!(partition),
    ({ src, partition }, r, location) => {
      if (r.status === 'rejected') {
        errors.push({ source: src.key, partition, message: failureMessage(r.reason) });
      } else if (r.value.fileCount > 0) {
        seen[src.key]![partition] = r.value.dataVersion;
        prefixes.get(src.key)!.add(trim(location!.prefix));
        if (src.partitions && src.partitions.kind !== 'static')
          allDays.add(dayOfPartition(src.partitions, partition));
      }
    },
    opts.signal,
  );
  // A source with a partition that could not be observed is walked again next time.
  for (const e of errors) delete roots[e.source];
  return { seen, days: [...allDays].sort(), prefixes, errors, roots };
}

/** The partitions of a time source that a day holds or belongs to (its hours, itself, its week or month). */
function keysOfDay(def: TimeWindowPartitions, day: string, now: number): string[] {
  if (def.kind === 'hourly' || def.kind === 'daily') return partitionKeys(def, day, day, now);
  const w = windowOf('daily', def.timezone, day);
  const key = w && windowAt(def.kind, def.timezone, w.start);
  return key && validatePartitionKey(def, key, now) === null ? [key] : [];
}

/** The day (in its zone) a time partition begins. */
export function dayOfPartition(def: TimeWindowPartitions, key: string): string {
  const w = windowOf(def.kind, def.timezone, key);
  return w ? windowAt('daily', def.timezone, w.start) : key.slice(0, 10);
}

/**
 * What changed since the cursor: new partitions, changed data versions, partitions that no longer have
 * data. Partitions that could not be observed this time are not reported.
 */
export function diffScan(before: Record<string, Record<string, string>>, scan: SourceScan): RawChange[] {
  const out: RawChange[] = [];
  const failed = new Set(scan.errors.map((e) => `${e.source}[${e.partition}]`));
  for (const [source, now] of Object.entries(scan.seen)) {
    const prev = before[source] ?? {};
    for (const [p, v] of Object.entries(now)) {
      if (!(p in prev)) out.push({ source, partition: p, change: 'new' });
      else if (prev[p] !== v) out.push({ source, partition: p, change: 'changed' });
    }
    for (const p of Object.keys(prev))
      if (!(p in now) && !failed.has(`${source}[${p}]`))
        out.push({ source, partition: p, change: 'removed' });
  }
  return out.sort((a, b) =>
    a.source === b.source ? (a.partition < b.partition ? -1 : 1) : a.source < b.source ? -1 : 1,
  );
}
