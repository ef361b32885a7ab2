/**
 * Fast road-count reader: the same `ArcDay` records and rejects as the csv-parse path
 * (parse.ts + aggregate.ts), several times faster, using every core.
 *
 * How, in two passes:
 * 1. Scan: the file is split into byte ranges cut just after a line break; one worker_threads worker
 *    per range runs the byte-level scanner (scan-range.ts), which applies the row rules and appends each
 *    accepted row as a 16-byte record to a day bucket (row-buckets.ts) in its own scratch file.
 * 2. Aggregate: the buckets are shared out among workers; each replays its buckets' records, range
 *    after range — its rows in file order — into compact day blocks (replay.ts), spilling finished days.
 * The main thread keeps each worker's day blocks as they are (buckets hold distinct days) and builds
 * one day's records at a time on demand. Memory: per worker a 4 MB read buffer, 32 KB per bucket, 8 B
 * per arc-day of its range (rules state) and its resident budget of day blocks — never rows, whatever
 * the row order (the real exports interleave every day of the file: docs/performance.md). Scratch:
 * ≈ 16 B per row under TMPDIR (scratch-dir.ts).
 *
 * Why the cuts are safe: a cut is a true record boundary unless a quoted field spans it, which needs a
 * quoted line break. The scanner refuses quoted line breaks (reports the file as irregular), and range
 * 0 starts at a true boundary, so by induction every range starts at one whenever no scanner complains.
 * If one does, the whole file is read again through csv-parse, whose answer is then the answer.
 *
 * A row of a later range at an instant an earlier range has is a `duplicate_row` reject found by the
 * replay (its line and raw text are fetched by re-scanning that range, only when this happens). In the
 * pathological cases the replay cannot settle exactly (see replay.ts), the file is re-read as a single
 * range.
 */
import { rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { QuarantineRecord } from '../../../engine/quarantine.ts';
import type { ArcDay } from '../arc-day.ts';
import {
  ArcDayTableBuilder,
  arcDaysToTable,
  type ArcDayTable,
  type ColumnBuffers,
} from '../arc-day-table.ts';
import { ArcDayAccumulator } from '../aggregate.ts';
import { dayNumber } from '../paris-clock.ts';
import type { ComptagesFile } from '../parse.ts';
import { CompactArcDays, dayString, type CompactState, type SpillOptions } from './compact-arc-days.ts';
import { readLayout, type Layout } from './layout.ts';
import { ReaderWorkers } from './reader-workers.ts';
import type { CrossRangeDuplicate, ReplayResult } from './replay.ts';
import type { BucketFile } from './row-buckets.ts';
import type { RangeResult, RangeTask } from './scan-range.ts';
import { ScratchDir } from './scratch-dir.ts';

export interface FastReadOptions {
  /** Only rows of these Paris days are kept (others are skipped, not rejected), as in parse.ts. */
  days?: ReadonlySet<string>;
  /**
   * Byte ranges, each scanned by its own worker thread (one range is scanned in the calling thread:
   * no worker to start). Default: CPU count, at most one per 128 MB.
   */
  workers?: number;
  onProgress?(bytesDone: number, bytesTotal: number): void;
  /** Rejects kept with full detail (the first ones by line); counts stay exact. Default 10,000. */
  maxRejects?: number;
  /**
   * Arc-days each aggregating worker keeps in memory; the days of finished buckets go to a scratch
   * file (deleted once their days are taken, or at exit), so memory stays flat however many days the
   * file holds. Default 32,768 (≈ 5 MB); 0 = keep everything in memory.
   */
  spillSlots?: number;
  /** Day buckets of the scan (default: one per 32 MB of data, 1 to 128); tests use a few. */
  buckets?: number;
}

export interface FastReadResult {
  /** Paris days that have arc-days, ascending. */
  days: string[];
  /**
   * The ArcDay records of one Paris day (arcs in `compareArcIds` order, as aggregate.ts), built on
   * demand from the compact state so only the days being handled exist as objects. The day's compact
   * data is released once built: a second call for the same day returns [].
   */
  takeArcDays(day: string): ArcDay[];
  /**
   * The same records as one arc-day table (assets/comptages/arc-day-table.ts), no object per arc; its
   * fixed-size columns in a buffer from `buffers` when given.
   */
  takeArcDayTable(day: string, buffers?: ColumnBuffers): ArcDayTable;
  /**
   * The first `maxRejects` rejects by line, each with file key, 1-based line, reason, detail, raw.
   * (Past `maxRejects` rows of one range repeating earlier ranges, which of those are kept in detail
   * is not by line; the counts stay exact.)
   */
  rejects: QuarantineRecord[];
  rejectCounts: Record<string, number>;
  /** Rows folded into arc-days. */
  rows: number;
  /** Rows outside `days`. */
  skipped: number;
  rejected: number;
  /** Kept rows whose Etat trafic was unknown (read as Inconnu). */
  unknownEtat: number;
  /** How the file was read: byte ranges, or csv-parse with the reason. */
  mode: { parser: 'fast' | 'csv-parse'; ranges: number; note?: string };
  /** Wall time of the fast reader's two passes (ms): scanning the ranges, aggregating the buckets. */
  timings?: { scanMs: number; aggregateMs: number };
}

/**
 * Bytes per range below which fewer ranges are used. A range costs a worker start, module loading,
 * JIT warm-up and first-seen work for every arc (≈ 0.15 s on 2 cores before it reaches full speed),
 * so a 100 MB file is read faster as one range than as two (docs/performance.md).
 */
const MIN_RANGE_BYTES = 128 << 20;
const DEFAULT_SPILL_SLOTS = 32_768;
/** One day bucket per this much data: ≈ 1–2 days per bucket for road-count files (≈ 27 MB per day). */
const BUCKET_BYTES = 32 << 20;
const MAX_BUCKETS = 128;

const FIRST_DATA_LINE = 2;

export async function readComptagesFast(
  file: ComptagesFile,
  opts: FastReadOptions = {},
): Promise<FastReadResult> {
  const maxRejects = opts.maxRejects ?? 10_000;
  const head = await readLayout(file.path);
  if (head.ok === 'missing_columns') {
    const rec: QuarantineRecord = {
      reason: 'missing_columns',
      file: file.key,
      line: 0,
      detail: `header lacks ${head.missing.join(', ')} (separator '${head.delimiter}')`,
      raw: head.header.join(head.delimiter),
    };
    return { ...emptyResult(), rejects: [rec], rejectCounts: { missing_columns: 1 }, rejected: 1 };
  }
  if (head.ok !== true)
    return readWithCsvParse(file, opts, maxRejects, head.ok === 'empty_file' ? 'empty file' : head.why);
  const { layout } = head;
  const dataBytes = layout.fileSize - layout.dataStart;
  const wanted =
    opts.workers ?? Math.min(availableParallelism(), Math.max(1, Math.ceil(dataBytes / MIN_RANGE_BYTES)));
  const cuts = await cutRanges(file.path, layout, Math.max(1, Math.floor(wanted)));
  const days = opts.days ? [...opts.days].map(dayNumber).filter(Number.isFinite) : null;
  const buckets = opts.buckets ?? Math.min(MAX_BUCKETS, Math.max(1, Math.ceil(dataBytes / BUCKET_BYTES)));
  const scratch = await ScratchDir.create(opts.spillSlots ?? DEFAULT_SPILL_SLOTS);
  const workers = new ReaderWorkers();
  const ctx: ReadContext = { file, layout, days, maxRejects, buckets, scratch, workers };
  let handedOver = false;
  try {
    const t0 = performance.now();
    const first = await scanAll(ctx, cuts, opts.onProgress);
    if (first.irregular) return await readWithCsvParse(file, opts, maxRejects, first.irregular);
    const t1 = performance.now();
    const merged = await aggregate(ctx, cuts, first.results);
    if (merged) {
      merged.timings = { scanMs: Math.round(t1 - t0), aggregateMs: Math.round(performance.now() - t1) };
      handedOver = true;
      return merged;
    }
    // A replay that cannot be settled exactly (see replay.ts): one range, same scanner.
    const whole: [number, number][] = [[layout.dataStart, layout.fileSize]];
    const single = await scanAll(ctx, whole, opts.onProgress);
    if (single.irregular) return await readWithCsvParse(file, opts, maxRejects, single.irregular);
    const res = (await aggregate(ctx, whole, single.results))!;
    res.mode.note = 'ranges could not be merged exactly; re-read as one range';
    handedOver = true;
    return res;
  } finally {
    await workers.close();
    if (!handedOver) scratch.remove();
  }
}

/** What every pass of one read shares. */
interface ReadContext {
  file: ComptagesFile;
  layout: Layout;
  days: number[] | null;
  maxRejects: number;
  buckets: number;
  scratch: ScratchDir;
  workers: ReaderWorkers;
}

type ReplayPart = Omit<ReplayResult, 'acc'> & { state: CompactState };

const emptyResult = (): FastReadResult => ({
  days: [],
  takeArcDays: () => [],
  takeArcDayTable: () => arcDaysToTable([]),
  rejects: [],
  rejectCounts: {},
  rows: 0,
  skipped: 0,
  rejected: 0,
  unknownEtat: 0,
  mode: { parser: 'fast', ranges: 0 },
});

/** Byte ranges [start, end) covering the data, each starting just after a line break. */
async function cutRanges(path: string, layout: Layout, n: number): Promise<[number, number][]> {
  const { dataStart, fileSize } = layout;
  if (dataStart >= fileSize) return [];
  const starts = [dataStart];
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    for (let i = 1; i < n; i++) {
      let pos = dataStart + Math.floor(((fileSize - dataStart) * i) / n) - 1;
      let cut = -1;
      while (cut < 0 && pos < fileSize) {
        const { bytesRead } = await handle.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        const nl = buf.subarray(0, bytesRead).indexOf(0x0a);
        if (nl >= 0) cut = pos + nl + 1;
        else pos += bytesRead;
      }
      if (cut > starts.at(-1)! && cut < fileSize) starts.push(cut);
    }
  } finally {
    await handle.close();
  }
  return starts.map((s, i) => [s, starts[i + 1] ?? fileSize]);
}

/** Scans the ranges (one worker each, or this thread for a single range). */
async function scanAll(
  ctx: ReadContext,
  ranges: [number, number][],
  onProgress: FastReadOptions['onProgress'],
): Promise<{ results: RangeResult[]; irregular: string | null }> {
  const { layout } = ctx;
  const done = ranges.map(() => 0);
  const total = layout.fileSize;
  const report = (): void => onProgress?.(layout.dataStart + done.reduce((a, b) => a + b, 0), total);
  const results = await Promise.all(
    ranges.map(([start, end], i) => {
      const task: RangeTask = {
        ...taskOf(ctx, start, end),
        buckets: { path: ctx.scratch.file('rows'), count: ctx.buckets },
      };
      const progress = (d: number): void => {
        done[i] = d;
        report();
      };
      return ranges.length === 1
        ? scanHere(task, progress)
        : ctx.workers.run<RangeResult>(i, { kind: 'scan', task }, progress);
    }),
  );
  ranges.forEach(([s, e], i) => (done[i] = e - s));
  report();
  const bad = results.findIndex((r) => r.irregular);
  if (bad < 0) return { results, irregular: null };
  for (const r of results) if (r.buckets) rmSync(r.buckets.path, { force: true });
  const lineBase = FIRST_DATA_LINE + results.slice(0, bad).reduce((a, r) => a + r.newlines, 0);
  const irr = results[bad]!.irregular!;
  return { results, irregular: `${irr.why} (near line ${lineBase + irr.line})` };
}

/**
 * Sums the ranges' counts and rejects (lines made file-relative), aggregates the buckets, rejects the
 * rows a later range repeats, and hands out the days. Null when the replay cannot be settled exactly.
 */
async function aggregate(
  ctx: ReadContext,
  ranges: [number, number][],
  results: RangeResult[],
): Promise<FastReadResult | null> {
  const { file, scratch } = ctx;
  const out = emptyResult();
  out.mode.ranges = ranges.length;
  const rejects: QuarantineRecord[] = [];
  const lineBases: number[] = [];
  let lineBase = FIRST_DATA_LINE;
  for (const r of results) {
    lineBases.push(lineBase);
    out.rows += r.rows;
    out.skipped += r.skipped;
    out.rejected += r.rejected;
    out.unknownEtat += r.unknownEtat;
    for (const [reason, n] of Object.entries(r.rejectCounts))
      out.rejectCounts[reason] = (out.rejectCounts[reason] ?? 0) + n;
    for (const rej of r.rejects) rejects.push({ ...rej, line: lineBase + rej.line });
    if (r.unclosedAtEnd !== null) {
      // What the csv-parse reader quarantines for a file ending inside a quote (its message, verbatim).
      const line = lineBase + r.unclosedAtEnd;
      const detail = `Quote Not Closed: the parsing is finished with an opening quote at line ${line}`;
      rejects.push({ reason: 'malformed_csv', file: file.key, line, detail });
      out.rejected++;
      out.rejectCounts.malformed_csv = (out.rejectCounts.malformed_csv ?? 0) + 1;
    }
    lineBase += r.newlines;
  }

  const replayed = await replayAll(ctx, results);
  if (!replayed) return null;
  const { parts, duplicates, duplicateCount } = replayed;
  out.rows -= duplicateCount;
  out.rejected += duplicateCount;
  if (duplicateCount > 0)
    out.rejectCounts.duplicate_row = (out.rejectCounts.duplicate_row ?? 0) + duplicateCount;
  for (const [j, dups] of groupByRange(duplicates)) {
    // Re-scan this range to find the line and text of the rows that repeat earlier ranges.
    const keys = dups.map((d) => `${d.arcId}|${d.dayNum}|${d.hour}|${d.offsetMinutes}`);
    const [start, end] = ranges[j]!;
    const task = { ...taskOf(ctx, start, end), probe: keys };
    const probe = await ctx.workers.run<RangeResult>(j, { kind: 'scan', task });
    for (const p of probe.probed) {
      const [arcId] = p.key.split('|');
      rejects.push({
        reason: 'duplicate_row',
        file: file.key,
        line: lineBases[j]! + p.line,
        detail: `arc ${arcId} at ${new Date(p.instant).toISOString()} already seen in this file`,
        raw: p.raw,
      });
    }
  }
  out.rejects = rejects.sort((a, b) => a.line - b.line).slice(0, ctx.maxRejects);
  // The parts hold distinct days (distinct buckets): each day is served by the part that has it.
  const partOf = new Map<number, CompactArcDays>();
  for (const part of parts) for (const d of part.dayNumbers()) partOf.set(d, part);
  const removeScratchWhenDone = (): void => {
    if (!parts.some((p) => p.hasSpilled())) scratch.remove();
  };
  out.days = [...partOf.keys()].sort((a, b) => a - b).map(dayString);
  out.takeArcDays = (day) => {
    const n = dayNumber(day);
    const list = partOf.get(n)?.takeArcDays(n) ?? [];
    partOf.delete(n);
    removeScratchWhenDone();
    return list;
  };
  out.takeArcDayTable = (day, buffers) => {
    const n = dayNumber(day);
    const rows = partOf.get(n)?.takeArcDayRows(n, (count) => new ArcDayTableBuilder(count, buffers));
    const table = (rows ?? new ArcDayTableBuilder(0, buffers)).build();
    partOf.delete(n);
    removeScratchWhenDone();
    return table;
  };
  removeScratchWhenDone();
  return out;
}

function groupByRange(dups: CrossRangeDuplicate[]): Map<number, CrossRangeDuplicate[]> {
  const by = new Map<number, CrossRangeDuplicate[]>();
  for (const d of dups) {
    const list = by.get(d.range);
    if (list) list.push(d);
    else by.set(d.range, [d]);
  }
  return by;
}

/**
 * Aggregates every bucket: shared out among workers by size (this thread when one is enough), each
 * worker's day blocks adopted as they are (one part per worker: no remapping, distinct days). The
 * bucket files are removed once read. Null = unsettled.
 */
async function replayAll(
  ctx: ReadContext,
  results: RangeResult[],
): Promise<{ parts: CompactArcDays[]; duplicates: CrossRangeDuplicate[]; duplicateCount: number } | null> {
  const ranges = results.map((r) => ({ file: r.buckets!, names: r.names }));
  const task = { ranges, maxDuplicates: ctx.maxRejects };
  const groups = shareBuckets(
    ranges.map((r) => r.file),
    ctx.buckets,
    results.length,
  );
  try {
    if (groups.length <= 1) {
      const { replayBuckets } = await import('./replay.ts');
      const res = replayBuckets({ ...task, buckets: groups[0] ?? [], ...spillOf(ctx) });
      if (res.unsettled !== null) return null;
      return { parts: [res.acc], duplicates: res.duplicates, duplicateCount: sum(res.duplicateCounts) };
    }
    const parts = await Promise.all(
      groups.map((buckets, i) =>
        ctx.workers.run<ReplayPart>(i, { kind: 'replay', task: { ...task, buckets, ...spillOf(ctx) } }),
      ),
    );
    if (parts.some((p) => p.unsettled !== null)) return null;
    return {
      parts: parts.map((p) => CompactArcDays.fromState(p.state)),
      duplicates: parts.flatMap((p) => p.duplicates),
      duplicateCount: sum(parts.flatMap((p) => p.duplicateCounts)),
    };
  } finally {
    for (const r of ranges) rmSync(r.file.path, { force: true });
  }
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

const spillOf = (ctx: ReadContext): { spill?: SpillOptions } => {
  const spill = ctx.scratch.spill();
  return spill ? { spill } : {};
};

/** Non-empty buckets in at most `n` groups of about equal bytes (largest first, to the lightest group). */
function shareBuckets(files: BucketFile[], buckets: number, n: number): number[][] {
  const sizes: [number, number][] = [];
  for (let b = 0; b < buckets; b++) {
    let bytes = 0;
    for (const f of files) {
      const chunks = f.chunks[b] ?? [];
      for (let c = 1; c < chunks.length; c += 2) bytes += chunks[c]!;
    }
    if (bytes > 0) sizes.push([b, bytes]);
  }
  const groups = Array.from({ length: Math.min(n, sizes.length) }, () => ({
    bytes: 0,
    buckets: [] as number[],
  }));
  for (const [b, bytes] of sizes.sort((x, y) => y[1] - x[1])) {
    const g = groups.reduce((min, x) => (x.bytes < min.bytes ? x : min));
    g.bytes += bytes;
    g.buckets.push(b);
  }
  return groups.map((g) => g.buckets.sort((x, y) => x - y));
}

const taskOf = (ctx: ReadContext, start: number, end: number): RangeTask => ({
  path: ctx.file.path,
  key: ctx.file.key,
  layout: ctx.layout,
  start,
  end,
  days: ctx.days,
  maxRejects: ctx.maxRejects,
});

/** Scans one range in this thread (the caller's event loop waits, as for any synchronous parse). */
async function scanHere(task: RangeTask, onProgress: (done: number) => void): Promise<RangeResult> {
  const { scanRange } = await import('./scan-range.ts');
  return scanRange(task, onProgress);
}

/** The reference path (csv-parse + ArcDayAccumulator), used when the byte scanner declines the file. */
async function readWithCsvParse(
  file: ComptagesFile,
  opts: FastReadOptions,
  maxRejects: number,
  note: string,
): Promise<FastReadResult> {
  const out = emptyResult();
  out.mode = { parser: 'csv-parse', ranges: 1, note };
  const acc = new ArcDayAccumulator();
  // Loaded only when needed: csv-parse and the row parser cost ≈ 10 ms of start-up otherwise.
  const { parseComptagesFile } = await import('../parse.ts');
  const parsed = await parseComptagesFile(
    file,
    (rec) => {
      out.rejectCounts[rec.reason] = (out.rejectCounts[rec.reason] ?? 0) + 1;
      if (out.rejects.length < maxRejects) out.rejects.push(rec);
    },
    (row) => acc.add(row),
    opts.days ? { days: opts.days } : {},
  );
  out.rows = parsed.rows;
  out.skipped = parsed.skipped;
  out.rejected = parsed.rejected;
  out.unknownEtat = parsed.unknownEtat;
  out.days = acc.days();
  out.takeArcDays = (day) => acc.arcDays(day);
  out.takeArcDayTable = (day, buffers) => arcDaysToTable(acc.arcDays(day), buffers);
  return out;
}

/** Every day's records at once (tests and small files; the asset takes one day at a time). */
export function collectArcDays(res: FastReadResult): Map<string, ArcDay[]> {
  return new Map(res.days.map((day) => [day, res.takeArcDays(day)]));
}
