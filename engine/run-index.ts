/**
 * The run index: one summary per run (`<state dir>/runs-index.json`), so that `pipeline runs`, the UI's
 * runs list and `runs prune` read one file instead of parsing every run log.
 *
 * - The run's own process keeps it up to date: the run log's appender (StateStore.openRunLog) records the
 *   run as `running` (with its process identity) at `run_started`, and its end at `run_finished`.
 * - It is a cache of the logs, which stay the truth: listing compares it with the names in `runs/`
 *   (a readdir, no log read), parses only the logs it does not know (a missing or corrupt index is
 *   rebuilt this way), drops entries whose log is gone, and re-reads the log of a `running` run whose
 *   process is gone: it ended (its last update was lost) or it was killed (`interrupted`).
 * - A run's start and end are each one line appended to a journal (`runs-index.journal`), read after the
 *   index file: recording a run costs the same with 10 runs of history or 10,000 (rewriting the whole
 *   index at each start and end made a no-op run 0.25 s slower after a year of hourly runs). Each line
 *   begins with a newline, so one torn by a kill never spoils the next; an unreadable line is skipped.
 * - The journal is folded into the index file when it passes JOURNAL_MAX_BYTES, and by any other write
 *   (a listing that reconciled, `runs prune`): the index file is replaced by a rename (temp file +
 *   rename), then the journal removed. A reader between the two applies journal lines the index already
 *   holds, which a listing checks like any entry (a `running` one against its process, one of a
 *   removed log dropped).
 * - Writers, in one process or several, take a short lock (`runs-index.lock`: created exclusively,
 *   holds the process identity; one left by a killed process is taken over). Nothing is fsynced: after
 *   a power loss a torn index is unreadable and rebuilt from the logs.
 */
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { RunEvent } from './events.ts';
import { isLockHolderAlive, type LockHolder } from './lock.ts';
import { isAlive, processStartTime, selfIdentity, type ProcessIdentity } from './pid.ts';

export type RunStatus = 'running' | 'success' | 'failed' | 'cancelled' | 'interrupted';

/** What the lists show of a run. */
export interface RunSummary {
  runId: string;
  startedAt: string | null;
  /** When it ended (`run_finished`); for an interrupted run, its last event. */
  endedAt: string | null;
  command: string;
  /**
   * `running`: no end yet and its process is alive; `interrupted`: no end and its process is gone
   * (killed, machine restarted).
   */
  status: RunStatus;
  materialized: number;
  skipped: number;
  noData: number;
  failed: number;
  /** Units planned and units to run (`run_started`); null when the log has no start. */
  units: number | null;
  toRun: number | null;
  durationMs: number | null;
  /** The run's assets (the first MAX_ASSETS of them) and how many there are. */
  assets: string[];
  assetCount: number;
}

export interface IndexEntry extends RunSummary {
  /** The process writing the run, while it is running. */
  process?: ProcessIdentity;
}

interface IndexFile {
  version: 1;
  runs: Record<string, IndexEntry>;
}

const MAX_ASSETS = 20;
export const RUN_ID = /^[A-Za-z0-9_.-]+$/;
const STATUSES = new Set<RunStatus>(['running', 'success', 'failed', 'cancelled', 'interrupted']);

export const runIndexPath = (stateDir: string): string => join(stateDir, 'runs-index.json');
const journalPath = (stateDir: string): string => join(stateDir, 'runs-index.journal');
/** The journal is folded into the index file past this size (≈ 500 run starts and ends). */
const JOURNAL_MAX_BYTES = 256 * 1024;
const lockPath = (stateDir: string): string => join(stateDir, 'runs-index.lock');
const logPath = (stateDir: string, runId: string): string => join(stateDir, 'runs', `${runId}.jsonl`);

/** How many run logs this process has parsed to summarise them (tests and benches read it). */
export const runIndexStats = { logsParsed: 0, rebuilt: 0 };

// ---------- the lock ----------

const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleepSync = (ms: number): void => void Atomics.wait(sleeper, 0, 0, ms);

/** A holder keeps the lock for milliseconds; one older than this is taken over whatever it says. */
const LOCK_MAX_AGE_MS = 10_000;
/** An empty lock (its writer was killed between creating and writing it) is stale after this long. */
const EMPTY_LOCK_MS = 2_000;

/**
 * Runs `fn` holding `runs-index.lock`. Synchronous, because the run log's appender is: a run start or end
 * is recorded before the next event, and before the process can exit.
 */
export function withRunIndexLock<T>(stateDir: string, fn: () => T): T {
  return withShortLock(lockPath(stateDir), fn);
}

/**
 * Runs `fn` holding the short lock file `path` (created exclusively, holding the process identity; one
 * left by a killed process, or older than LOCK_MAX_AGE_MS, is taken over). For read-modify-writes of a
 * small shared file that take milliseconds: the run index, an asset's state index, the unit-lock table.
 */
export function withShortLock<T>(path: string, fn: () => T): T {
  const me = JSON.stringify({ ...selfIdentity(), at: new Date().toISOString() } satisfies LockHolder);
  let deadline = Date.now() + LOCK_MAX_AGE_MS;
  for (;;) {
    let fd: number | undefined;
    try {
      fd = openSync(path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (fd !== undefined) {
      try {
        writeSync(fd, me);
      } finally {
        closeSync(fd);
      }
      try {
        return fn();
      } finally {
        rmSync(path, { force: true });
      }
    }
    if (lockIsStale(path) || Date.now() > deadline) {
      rmSync(path, { force: true });
      deadline = Date.now() + LOCK_MAX_AGE_MS;
      continue;
    }
    sleepSync(2 + Math.random() * 8);
  }
}

function lockIsStale(path: string): boolean {
  let text: string;
  let ageMs: number;
  try {
    ageMs = Date.now() - statSync(path).mtimeMs;
    text = readFileSync(path, 'utf8');
  } catch {
    return false; // released meanwhile: try again
  }
  if (ageMs > LOCK_MAX_AGE_MS) return true;
  let holder: LockHolder;
  try {
    holder = JSON.parse(text) as LockHolder;
  } catch {
    return ageMs > EMPTY_LOCK_MS; // being written, or its writer was killed before writing
  }
  // Our own pid: left by an earlier process with the same pid (a container's pid 1); this process never
  // waits for itself, the lock being taken and released synchronously.
  if (holder.pid === process.pid) return holder.startTime !== selfIdentity().startTime || ageMs > 1000;
  return !isLockHolderAlive(path, holder, ageMs);
}

// ---------- reading and writing the file ----------

function isEntry(x: unknown): x is IndexEntry {
  const e = x as IndexEntry;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.runId === 'string' &&
    RUN_ID.test(e.runId) &&
    STATUSES.has(e.status) &&
    typeof e.command === 'string' &&
    typeof e.materialized === 'number' &&
    typeof e.skipped === 'number' &&
    typeof e.failed === 'number' &&
    Array.isArray(e.assets)
  );
}

/** The index file's entries, or null when it is missing or unreadable. Bad entries are dropped. */
function readIndexFile(stateDir: string): Record<string, IndexEntry> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(runIndexPath(stateDir), 'utf8'));
  } catch {
    return null;
  }
  const f = parsed as IndexFile;
  if (typeof f !== 'object' || f === null || f.version !== 1 || typeof f.runs !== 'object' || !f.runs)
    return null;
  const runs: Record<string, IndexEntry> = {};
  for (const [id, e] of Object.entries(f.runs)) if (isEntry(e) && e.runId === id) runs[id] = e;
  return runs;
}

/** The journal's entries in the order they were written (none when there is no journal). */
function readJournal(stateDir: string): IndexEntry[] {
  let text: string;
  try {
    text = readFileSync(journalPath(stateDir), 'utf8');
  } catch {
    return [];
  }
  const out: IndexEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const e = JSON.parse(line) as unknown;
      if (isEntry(e)) out.push(e);
    } catch {
      // torn by a kill
    }
  }
  return out;
}

/**
 * The index: its file, then the journal's lines; null when neither can be read (then rebuilt from the
 * logs). Bad entries are dropped.
 */
function readIndex(stateDir: string): IndexFile | null {
  const runs = readIndexFile(stateDir);
  const journal = readJournal(stateDir);
  if (!runs && !journal.length) return null;
  const out = runs ?? {};
  for (const e of journal) out[e.runId] = e;
  return { version: 1, runs: out };
}

/** The index as a listing starts from (the file and the journal): tests and tools read it. */
export function readRunIndex(stateDir: string): Record<string, IndexEntry> {
  return readIndex(stateDir)?.runs ?? {};
}

function writeIndex(stateDir: string, index: IndexFile): void {
  const path = runIndexPath(stateDir);
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(tmp, JSON.stringify(index));
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Read-modify-write of the index under its lock, the journal folded in. A missing or corrupt index starts
 * empty (listing fills it).
 */
export function updateRunIndex(stateDir: string, change: (runs: Record<string, IndexEntry>) => void): void {
  withRunIndexLock(stateDir, () => foldJournal(stateDir, change));
}

/** Writes the index file with the journal's entries and `change`, then removes the journal (lock held). */
function foldJournal(stateDir: string, change?: (runs: Record<string, IndexEntry>) => void): void {
  const index = readIndex(stateDir) ?? { version: 1, runs: {} };
  change?.(index.runs);
  writeIndex(stateDir, index);
  rmSync(journalPath(stateDir), { force: true });
}

/** Records one run's entry: a line appended to the journal, folded into the index file when it is large. */
function recordRun(stateDir: string, entry: IndexEntry): void {
  withRunIndexLock(stateDir, () => {
    const path = journalPath(stateDir);
    appendFileSync(path, '\n' + JSON.stringify(entry));
    if (statSync(path).size > JOURNAL_MAX_BYTES) foldJournal(stateDir);
  });
}

// ---------- what the run's own process records ----------

function fromStart(e: Extract<RunEvent, { type: 'run_started' }>): RunSummary {
  return {
    runId: e.runId,
    startedAt: e.at,
    endedAt: null,
    command: e.command,
    status: 'running',
    materialized: 0,
    skipped: 0,
    noData: 0,
    failed: 0,
    units: e.units,
    toRun: e.toRun,
    durationMs: null,
    assets: e.assets.slice(0, MAX_ASSETS),
    assetCount: e.assets.length,
  };
}

function withEnd(s: RunSummary, e: Extract<RunEvent, { type: 'run_finished' }>): RunSummary {
  return {
    ...s,
    endedAt: e.at,
    status: e.status,
    materialized: e.materialized,
    skipped: e.skipped,
    noData: e.noData ?? 0,
    failed: e.failed,
    durationMs: e.durationMs,
  };
}

const emptySummary = (runId: string): RunSummary => ({
  runId,
  startedAt: null,
  endedAt: null,
  command: '',
  status: 'interrupted',
  materialized: 0,
  skipped: 0,
  noData: 0,
  failed: 0,
  units: null,
  toRun: null,
  durationMs: null,
  assets: [],
  assetCount: 0,
});

/**
 * Keeps the index up to date from the events a run appends to its log (called by the log's appender,
 * in the run's process). Never throws: an update that fails is repaired by the next listing.
 */
export function runIndexRecorder(stateDir: string, runId: string): (e: RunEvent) => void {
  let start: RunSummary | undefined;
  return (e) => {
    if (e.type !== 'run_started' && e.type !== 'run_finished') return;
    try {
      if (e.type === 'run_started') {
        start = fromStart(e);
        recordRun(stateDir, { ...start, process: selfIdentity() });
      } else if (start) {
        recordRun(stateDir, withEnd(start, e));
      } else {
        // An appender opened after the start (not done by the engine): its entry is read back.
        updateRunIndex(stateDir, (runs) => {
          const { process: _gone, ...rest }: IndexEntry = runs[runId] ?? emptySummary(runId);
          runs[runId] = withEnd(rest, e);
        });
      }
    } catch {
      // The log has the event; the next `pipeline runs` / UI listing reads it from there.
    }
  };
}

// ---------- listing ----------

/** Summarises one run log (what the index holds when it does not know the run, or after a crash). */
export function summarizeLog(stateDir: string, runId: string): RunSummary | null {
  let text: string;
  try {
    text = readFileSync(logPath(stateDir, runId), 'utf8');
  } catch {
    return null;
  }
  runIndexStats.logsParsed++;
  let s = emptySummary(runId);
  const counts = { materialized: 0, skipped: 0, noData: 0, failed: 0 };
  let last: string | null = null;
  let ended = false;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let e: RunEvent;
    try {
      e = JSON.parse(line) as RunEvent;
    } catch {
      continue; // a torn last line after a kill
    }
    if (typeof e.at === 'string') last = e.at;
    if (e.type === 'run_started') s = { ...fromStart(e), status: 'interrupted' };
    else if (e.type === 'materialized') counts.materialized++;
    else if (e.type === 'skipped') {
      counts.skipped++;
      if (e.reason === 'no_data') counts.noData++;
    } else if (e.type === 'failed') counts.failed++;
    else if (e.type === 'run_finished') {
      s = withEnd(s, e);
      ended = true;
    }
  }
  return ended ? s : { ...s, ...counts, status: 'interrupted', endedAt: last };
}

/**
 * Whether the process that wrote a run is gone: true, false, or undefined when it cannot be told from
 * here (another host or pid namespace, or its start time unreadable).
 */
function processGone(p: ProcessIdentity | undefined): boolean | undefined {
  if (!p?.pid) return undefined;
  const me = selfIdentity();
  if (p.host !== undefined && p.host !== me.host) return undefined;
  if (p.bootId && me.bootId && p.bootId !== me.bootId) return true; // rebooted since
  if (p.pidNs && me.pidNs && p.pidNs !== me.pidNs) return undefined;
  if (!isAlive(p.pid)) return true;
  if (p.startTime && me.startTime) {
    const started = processStartTime(p.pid);
    return started === undefined ? undefined : started !== p.startTime; // pid reused by another process
  }
  return false;
}

/**
 * Whether this run holds its entry in the state dir's unit-lock table (`locks/<run id>.units.json`,
 * engine/unit-locks.ts), its process alive: `pipeline materialize`, UI and daemon runs hold one.
 */
function holdsStateLock(stateDir: string, runId: string): boolean {
  const path = join(stateDir, 'locks', `${runId}.units.json`);
  try {
    const holder = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    return holder.runId === runId && isLockHolderAlive(path, holder, Date.now() - statSync(path).mtimeMs);
  } catch {
    return false;
  }
}

/** A `running` entry's run is still going: its process lives, or (when that cannot be told) it holds the state lock. */
function stillRunning(stateDir: string, id: string, e: IndexEntry): boolean {
  const gone = processGone(e.process);
  return gone === false || (gone === undefined && holdsStateLock(stateDir, id));
}

const newestFirst = (a: RunSummary, b: RunSummary): number => {
  // By recorded start time (ids of older versions had only second resolution), then id.
  const ka = `${a.startedAt ?? ''}\u0000${a.runId}`;
  const kb = `${b.startedAt ?? ''}\u0000${b.runId}`;
  return ka < kb ? 1 : ka > kb ? -1 : 0;
};

const publicSummary = ({ process: _p, ...s }: IndexEntry): RunSummary => s;

/**
 * Every run of the state dir, newest first, from the index: one readdir of `runs/` and one read of the
 * index; a log is parsed only for a run the index does not know or a `running` one whose process is
 * gone. What was reconciled is written back.
 */
export function listRunsIndexed(stateDir: string): RunSummary[] {
  let names: string[];
  try {
    names = readdirSync(join(stateDir, 'runs'));
  } catch {
    return [];
  }
  const ids = names.filter((n) => n.endsWith('.jsonl')).map((n) => n.slice(0, -'.jsonl'.length));
  const onDisk = new Set(ids.filter((id) => RUN_ID.test(id)));
  const index = readIndex(stateDir);
  if (!index) runIndexStats.rebuilt++;
  const runs = index?.runs ?? {};
  const changed = new Map<string, IndexEntry>();
  const out: RunSummary[] = [];
  for (const id of onDisk) {
    let e: IndexEntry | undefined = runs[id];
    if (e?.status === 'running') {
      if (stillRunning(stateDir, id, e)) {
        out.push(publicSummary(e));
        continue;
      }
      e = undefined; // ended without its update, or killed: the log says which
    }
    if (!e) {
      const s = summarizeLog(stateDir, id);
      if (!s) continue; // removed meanwhile
      e = s.status === 'interrupted' && holdsStateLock(stateDir, id) ? { ...s, status: 'running' } : s;
      changed.set(id, e);
    }
    out.push(publicSummary(e));
  }
  const dropped = Object.keys(runs).filter((id) => !onDisk.has(id));
  if (changed.size || dropped.length || !index) {
    try {
      updateRunIndex(stateDir, (cur) => {
        for (const [id, e] of changed) {
          // What the run recorded itself meanwhile knows best: its end, or its start while its process
          // lives (the log was read between its first line and its index update).
          const now = cur[id];
          if (
            now?.status === 'running' ? stillRunning(stateDir, id, now) : now && now.status !== 'interrupted'
          )
            continue;
          cur[id] = e;
        }
        for (const id of dropped) if (!existsLog(stateDir, id)) delete cur[id];
      });
    } catch {
      // Read-only state dir: the listing is right, only not cached.
    }
  }
  return out.sort(newestFirst);
}

function existsLog(stateDir: string, id: string): boolean {
  try {
    statSync(logPath(stateDir, id));
    return true;
  } catch {
    return false;
  }
}

// ---------- retention ----------

export interface PruneOptions {
  /** Keep the N newest runs. */
  keep?: number;
  /** Remove the runs started more than this many ms ago. */
  olderThanMs?: number;
  dryRun?: boolean;
  now?: number;
}

export interface PruneResult {
  removed: RunSummary[];
  kept: number;
  /** Runs that matched but are still running (never removed). */
  skippedRunning: RunSummary[];
}

/**
 * Removes old runs: their logs and index entries. A running run is never removed. A run without a
 * recorded start is dated by its log's modification time.
 */
export function pruneRuns(stateDir: string, opts: PruneOptions): PruneResult {
  const now = opts.now ?? Date.now();
  const all = listRunsIndexed(stateDir);
  const startOf = (r: RunSummary): number => {
    if (r.startedAt) return Date.parse(r.startedAt);
    try {
      return statSync(logPath(stateDir, r.runId)).mtimeMs;
    } catch {
      return now;
    }
  };
  const matches = all.filter(
    (r, i) =>
      (opts.keep === undefined || i >= opts.keep) &&
      (opts.olderThanMs === undefined || startOf(r) < now - opts.olderThanMs),
  );
  const skippedRunning = matches.filter((r) => r.status === 'running');
  const removed = matches.filter((r) => r.status !== 'running');
  if (!opts.dryRun && removed.length) {
    for (const r of removed) {
      if (!RUN_ID.test(r.runId)) continue;
      rmSync(logPath(stateDir, r.runId), { force: true });
    }
    updateRunIndex(stateDir, (runs) => {
      for (const r of removed) delete runs[r.runId];
    });
  }
  return { removed, kept: all.length - removed.length, skippedRunning };
}

/** `30d`, `12h`, `45m`, `2w` → milliseconds; throws a one-line message otherwise. */
export function parseDuration(text: string): number {
  const m = /^([1-9]\d{0,5})(m|h|d|w)$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: "${text}" (a whole number and a unit, e.g. 30d, 12h, 45m, 2w)`);
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}
