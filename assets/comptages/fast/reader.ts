/**
 * Fast road-count reader: the same `ArcDay` records and rejects as the csv-parse path
 * (parse.ts + aggregate.ts), several times faster, using every core.
 *
 * How: the file is split into byte ranges cut just after a line break; one worker_threads worker per
 * range runs the byte-level scanner (scan-range.ts) into a compact typed-array accumulator; the main
 * thread merges the partial results in file order. Memory: each worker holds one 4 MB read buffer plus
 * at most its resident budget of arc-days (≈ 165 B each, colder days spilled), never rows.
 *
 * Why the cuts are safe: a cut is a true record boundary unless a quoted field spans it, which needs a
 * quoted line break. The scanner refuses quoted line breaks (reports the file as irregular), and range
 * 0 starts at a true boundary, so by induction every range starts at one whenever no scanner complains.
 * If one does, the whole file is read again through csv-parse, whose answer is then the answer.
 *
 * Merge = single pass: hour slots keep the first row in file order (ranges are merged in order); an
 * instant already present from an earlier range is a `duplicate_row` reject (its line and raw text are
 * fetched by re-scanning that range, only when this happens); libelle / geo_point / row length keep the
 * first value in file order. In the pathological cases the merge cannot settle exactly (see
 * `CompactArcDays.mergeNext`), the file is re-read as a single range.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { QuarantineRecord } from '../../../engine/quarantine.ts';
import type { ArcDay } from '../arc-day.ts';
import { ArcDayAccumulator } from '../aggregate.ts';
import { dayNumber } from '../paris-clock.ts';
import type { ComptagesFile } from '../parse.ts';
import { CompactArcDays, dayString, type CompactState, type SpillOptions } from './compact-arc-days.ts';
import { readLayout, type Layout } from './layout.ts';
import type { RangeResult, RangeTask } from './scan-range.ts';

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
   * Arc-days each worker keeps in memory; colder days go to a scratch file in the OS temp dir (deleted
   * once their days are taken, or at exit), so memory stays flat however many days the file holds.
   * Default 32,768 (≈ 5 MB); 0 = keep everything in memory.
   */
  spillSlots?: number;
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
  /** The first `maxRejects` rejects by line, each with file key, 1-based line, reason, detail, raw. */
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
}

/**
 * Bytes per range below which fewer ranges are used. A range costs a worker start, module loading,
 * JIT warm-up and first-seen work for every arc (≈ 0.15 s on 2 cores before it reaches full speed),
 * so a 100 MB file is read faster as one range than as two (docs/performance.md).
 */
const MIN_RANGE_BYTES = 128 << 20;
const DEFAULT_SPILL_SLOTS = 32_768;

/** The scratch directory of one read: spill files of its workers, removed once no day needs them. */
class Scratch {
  private n = 0;
  private removed = false;
  private readonly onExit = (): void => this.remove();

  private constructor(
    readonly dir: string | null,
    private readonly slots: number,
  ) {
    if (dir) process.once('exit', this.onExit);
  }

  static async create(slots: number): Promise<Scratch> {
    if (!(slots > 0) || slots === Infinity) return new Scratch(null, 0);
    return new Scratch(await mkdtemp(join(tmpdir(), 'cityflow-comptages-')), slots);
  }

  /** Spill settings for one more worker (its own file). */
  next(): SpillOptions | undefined {
    return this.dir
      ? { path: join(this.dir, `range-${this.n++}.bin`), residentSlots: this.slots }
      : undefined;
  }

  remove(): void {
    if (!this.dir || this.removed) return;
    this.removed = true;
    process.removeListener('exit', this.onExit);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
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
  const scratch = await Scratch.create(opts.spillSlots ?? DEFAULT_SPILL_SLOTS);
  let handedOver = false;
  try {
    const first = await scanAll(file, layout, cuts, days, maxRejects, opts.onProgress, scratch);
    if (first.irregular) return await readWithCsvParse(file, opts, maxRejects, first.irregular);
    const merged = await mergeRanges(file, layout, cuts, days, maxRejects, first.results, scratch);
    if (merged) {
      handedOver = true;
      return merged;
    }
    // A merge that cannot be settled exactly (see CompactArcDays.mergeNext): one range, same scanner.
    const whole: [number, number][] = [[layout.dataStart, layout.fileSize]];
    const single = await scanAll(file, layout, whole, days, maxRejects, opts.onProgress, scratch);
    if (single.irregular) return await readWithCsvParse(file, opts, maxRejects, single.irregular);
    const res = (await mergeRanges(file, layout, whole, days, maxRejects, single.results, scratch))!;
    res.mode.note = 'ranges could not be merged exactly; re-read as one range';
    handedOver = true;
    return res;
  } finally {
    if (!handedOver) scratch.remove();
  }
}

const emptyResult = (): FastReadResult => ({
  days: [],
  takeArcDays: () => [],
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

type WorkerResult = Omit<RangeResult, 'acc'> & { state: CompactState };

async function scanAll(
  file: ComptagesFile,
  layout: Layout,
  ranges: [number, number][],
  days: number[] | null,
  maxRejects: number,
  onProgress: FastReadOptions['onProgress'],
  scratch: Scratch,
): Promise<{ results: WorkerResult[]; irregular: string | null }> {
  const done = ranges.map(() => 0);
  const total = layout.fileSize;
  const report = (): void => onProgress?.(layout.dataStart + done.reduce((a, b) => a + b, 0), total);
  const results = await Promise.all(
    ranges.map(([start, end], i) =>
      (ranges.length === 1 ? scanHere : runWorker)(
        { ...taskOf(file, layout, start, end, days, maxRejects), spill: scratch.next() },
        (d) => {
          done[i] = d;
          report();
        },
      ),
    ),
  );
  ranges.forEach(([s, e], i) => (done[i] = e - s));
  report();
  const bad = results.findIndex((r) => r.irregular);
  if (bad < 0) return { results, irregular: null };
  const lineBase = FIRST_DATA_LINE + results.slice(0, bad).reduce((a, r) => a + r.newlines, 0);
  const irr = results[bad]!.irregular!;
  return { results, irregular: `${irr.why} (near line ${lineBase + irr.line})` };
}

async function mergeRanges(
  file: ComptagesFile,
  layout: Layout,
  ranges: [number, number][],
  days: number[] | null,
  maxRejects: number,
  results: WorkerResult[],
  scratch: Scratch,
): Promise<FastReadResult | null> {
  const out = emptyResult();
  out.mode.ranges = ranges.length;
  if (results.length === 0) {
    scratch.remove();
    return out;
  }
  const rejects: QuarantineRecord[] = [];
  let acc: CompactArcDays | null = null;
  let lineBase = FIRST_DATA_LINE;
  for (const [j, r] of results.entries()) {
    if (!acc) acc = CompactArcDays.fromState(r.state);
    else {
      const dups = acc.mergeNext(r.state);
      if (dups === null) return null;
      if (dups.length > 0) {
        // Re-scan this range to find the line and text of the rows that duplicate earlier ranges.
        const keys = dups.map((d) => `${d.arcId}|${d.dayNum}|${d.hour}|${d.offsetMinutes}`);
        const [start, end] = ranges[j]!;
        const probe = await runWorker(
          { ...taskOf(file, layout, start, end, days, maxRejects), probe: keys, spill: scratch.next() },
          () => {},
        );
        for (const p of probe.probed) {
          const [arcId] = p.key.split('|');
          rejects.push({
            reason: 'duplicate_row',
            file: file.key,
            line: lineBase + p.line,
            detail: `arc ${arcId} at ${new Date(p.instant).toISOString()} already seen in this file`,
            raw: p.raw,
          });
        }
        out.rows -= dups.length;
        out.rejected += dups.length;
        out.rejectCounts.duplicate_row = (out.rejectCounts.duplicate_row ?? 0) + dups.length;
      }
    }
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
  out.rejects = rejects.sort((a, b) => a.line - b.line).slice(0, maxRejects);
  const compact = acc!;
  out.days = compact.dayNumbers().map(dayString);
  out.takeArcDays = (day) => {
    const list = compact.takeArcDays(dayNumber(day));
    if (!compact.hasSpilled()) scratch.remove();
    return list;
  };
  if (!compact.hasSpilled()) scratch.remove();
  return out;
}

const taskOf = (
  file: ComptagesFile,
  layout: Layout,
  start: number,
  end: number,
  days: number[] | null,
  maxRejects: number,
): RangeTask => ({ path: file.path, key: file.key, layout, start, end, days, maxRejects });

/**
 * The worker file matches this module's own extension: compiled (pipeline/compile.mjs, …/reader.js)
 * spawns the plain JS worker directly; from the TypeScript sources (tsx, vitest) the worker first
 * registers tsx's loader, then imports range-worker.ts.
 */
const COMPILED = import.meta.url.endsWith('.js');
const WORKER_URL = new URL(COMPILED ? './range-worker.js' : './range-worker.ts', import.meta.url);
/** Loader flags (`--import tsx`, `--loader …`) are not inherited by compiled workers: plain JS needs none. */
const LOADER_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);
const compiledExecArgv = (): string[] => {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.split('=')[0]!;
    if (LOADER_FLAGS.has(name)) {
      if (!a.includes('=')) i++; // skip the flag's value too
      continue;
    }
    out.push(a);
  }
  return out;
};

/** Scans one range in this thread (the caller's event loop waits, as for any synchronous parse). */
async function scanHere(task: RangeTask, onProgress: (done: number) => void): Promise<WorkerResult> {
  const { scanRange } = await import('./scan-range.ts');
  const { acc, ...rest } = scanRange(task, onProgress);
  return { ...rest, state: acc.toState() };
}

/** Starts a worker on one range. */
function runWorker(task: RangeTask, onProgress: (done: number) => void): Promise<WorkerResult> {
  let worker: Worker;
  if (COMPILED) {
    try {
      worker = new Worker(WORKER_URL, { workerData: task, execArgv: compiledExecArgv() });
    } catch (e) {
      // Process-wide flags (V8 heap sizes…) are refused per worker; they already apply to it anyway.
      if ((e as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
      worker = new Worker(WORKER_URL, { workerData: task, execArgv: [] });
    }
  } else {
    const tsxPackage = createRequire(import.meta.url).resolve('tsx/package.json');
    const api = new URL('./dist/esm/api/index.mjs', pathToFileURL(tsxPackage)).href;
    const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
    worker = new Worker(boot, { eval: true, workerData: task });
  }
  return new Promise((resolve, reject) => {
    let settled = false;
    worker.on('message', (m: { type: 'progress'; done: number } | { type: 'done'; result: WorkerResult }) => {
      if (m.type === 'progress') onProgress(m.done);
      else {
        settled = true;
        resolve(m.result);
        void worker.terminate();
      }
    });
    worker.once('error', (e) => {
      settled = true;
      reject(e);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`road-count worker exited with code ${code} before finishing`));
    });
  });
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
  return out;
}

/** Every day's records at once (tests and small files; the asset takes one day at a time). */
export function collectArcDays(res: FastReadResult): Map<string, ArcDay[]> {
  return new Map(res.days.map((day) => [day, res.takeArcDays(day)]));
}
