import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { link, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.ts';
import type { CheckStatus, MaterializedMetadata, RunEvent } from './events.ts';
import { isAlive } from './pid.ts';

/** A check's result on one stored value (kept until the unit is materialized again). */
export interface StoredCheckResult {
  name: string;
  status: CheckStatus;
  blocking: boolean;
  message?: string;
  metadata?: Record<string, unknown>;
  /** The data version the check judged. */
  dataVersion: string;
  runId: string;
  at: string;
}

/** What the index remembers about one asset × partition. */
export interface MaterializationRecord {
  /** Last successful materialization (absent if it never succeeded). */
  dataVersion?: string;
  codeVersion?: string;
  /** `<input name>@<partition>` → data version (null = was missing). */
  inputVersions?: Record<string, string | null>;
  runId?: string;
  at?: string;
  metadata?: MaterializedMetadata;
  /** The checks run on the stored value. */
  checks?: StoredCheckResult[];
  /** Set when the latest attempt failed (cleared by a later success). */
  lastFailure?: { runId: string; at: string; error: string };
}

type AssetIndex = Record<string, MaterializationRecord>;

/**
 * The state dir (`.cityflow/` by default): `index/<asset>.json` (latest version per partition, one small
 * file per asset, rewritten atomically), `runs/<run id>.jsonl` (append-only event log), `lock`.
 */
export class StateStore {
  private readonly index = new Map<string, AssetIndex>();
  private readonly dirty = new Set<string>();

  constructor(readonly dir: string) {}

  private indexFile(asset: string): string {
    return join(this.dir, 'index', `${asset}.json`);
  }

  private assetIndex(asset: string): AssetIndex {
    let idx = this.index.get(asset);
    if (!idx) {
      try {
        idx = JSON.parse(readFileSync(this.indexFile(asset), 'utf8')) as AssetIndex;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          throw new Error(
            `State index ${this.indexFile(asset)} is unreadable (${(err as Error).message}); delete it to rebuild`,
            { cause: err },
          );
        }
        idx = {};
      }
      this.index.set(asset, idx);
    }
    return idx;
  }

  get(asset: string, partition: string): MaterializationRecord | undefined {
    return this.assetIndex(asset)[partition];
  }

  partitionsOf(asset: string): Record<string, MaterializationRecord> {
    return this.assetIndex(asset);
  }

  recordSuccess(
    asset: string,
    partition: string,
    rec: Required<Omit<MaterializationRecord, 'lastFailure' | 'checks'>> & { checks?: StoredCheckResult[] },
  ): void {
    this.assetIndex(asset)[partition] = rec;
    this.dirty.add(asset);
  }

  recordFailure(
    asset: string,
    partition: string,
    failure: NonNullable<MaterializationRecord['lastFailure']>,
  ): void {
    const idx = this.assetIndex(asset);
    idx[partition] = { ...idx[partition], lastFailure: failure };
    this.dirty.add(asset);
  }

  /** Writes changed asset indexes (atomically, one file each). */
  async flush(): Promise<void> {
    const assets = [...this.dirty];
    this.dirty.clear();
    await Promise.all(
      assets.map((a) => writeFileAtomic(this.indexFile(a), JSON.stringify(this.assetIndex(a)))),
    );
  }

  // ---------- run logs ----------

  runLogPath(runId: string): string {
    return join(this.dir, 'runs', `${runId}.jsonl`);
  }

  /** Returns an appender; each event is one line, appended synchronously so a crash loses at most the tail. */
  openRunLog(runId: string): (e: RunEvent) => void {
    mkdirSync(join(this.dir, 'runs'), { recursive: true });
    const path = this.runLogPath(runId);
    return (e) => appendFileSync(path, JSON.stringify(e) + '\n');
  }

  async readRun(runId: string): Promise<RunEvent[]> {
    if (!/^[A-Za-z0-9_.-]+$/.test(runId)) throw new Error(`Invalid run id "${runId}"`);
    let text: string;
    try {
      text = await readFile(this.runLogPath(runId), 'utf8');
    } catch {
      throw new Error(`No run "${runId}" in ${join(this.dir, 'runs')} (see \`pipeline runs\`)`);
    }
    return parseEventLines(text);
  }

  async listRuns(): Promise<RunSummary[]> {
    let names: string[];
    try {
      names = (await readdir(join(this.dir, 'runs'))).filter((n) => n.endsWith('.jsonl'));
    } catch {
      return [];
    }
    const out: RunSummary[] = [];
    for (const n of names) {
      const events = parseEventLines(await readFile(join(this.dir, 'runs', n), 'utf8'));
      const start = events.find((e) => e.type === 'run_started');
      const end = events.find((e) => e.type === 'run_finished');
      out.push({
        runId: n.slice(0, -'.jsonl'.length),
        startedAt: start?.at ?? null,
        command: start?.type === 'run_started' ? start.command : '',
        status: end?.type === 'run_finished' ? end.status : 'incomplete',
        materialized:
          end?.type === 'run_finished'
            ? end.materialized
            : events.filter((e) => e.type === 'materialized').length,
        skipped:
          end?.type === 'run_finished' ? end.skipped : events.filter((e) => e.type === 'skipped').length,
        failed: end?.type === 'run_finished' ? end.failed : events.filter((e) => e.type === 'failed').length,
        durationMs: end?.type === 'run_finished' ? end.durationMs : null,
      });
    }
    // Newest first by recorded start time (ids of older versions had only second resolution).
    const key = (r: RunSummary) => `${r.startedAt ?? ''}\u0000${r.runId}`;
    return out.sort((a, b) => (key(a) < key(b) ? 1 : key(a) > key(b) ? -1 : 0));
  }

  // ---------- lock ----------

  /**
   * One writer per state dir. A second process waits (telling who holds it) until the holder exits;
   * a lock left by a dead process (kill -9) is taken over.
   */
  /** Temp files of lock attempts by processes killed before they could remove them. */
  private async removeDeadLockTemps(): Promise<void> {
    for (const name of await readdir(this.dir)) {
      const m = /^lock\.(\d+)\..+\.tmp$/.exec(name);
      if (m && !isAlive(Number(m[1]))) await rm(join(this.dir, name), { force: true });
    }
  }

  async acquireLock(
    runId: string,
    onWait: (msg: string) => void,
    signal?: AbortSignal,
  ): Promise<() => Promise<void>> {
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, 'lock');
    let told = false;
    let unreadableSince = 0;
    for (;;) {
      // The lock appears with its content or not at all (written aside, then linked into place): a
      // kill -9 can never leave an empty lock that nobody could identify as stale.
      const tmp = `${path}.${process.pid}.${runId}.tmp`;
      await writeFile(tmp, JSON.stringify({ pid: process.pid, runId, at: new Date().toISOString() }));
      try {
        await link(tmp, path);
        await this.removeDeadLockTemps();
        return async () => {
          await rm(path, { force: true });
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      } finally {
        await rm(tmp, { force: true });
      }
      let holder: { pid?: number; runId?: string } = {};
      try {
        holder = JSON.parse(await readFile(path, 'utf8')) as typeof holder;
        unreadableSince = 0;
      } catch {
        // Written by an older version that was killed between creating and writing it: stale once it
        // has stayed unreadable for a while.
        unreadableSince ||= Date.now();
        if (Date.now() - unreadableSince > STALE_UNREADABLE_LOCK_MS) {
          await rm(path, { force: true });
          continue;
        }
      }
      if (holder.pid && !isAlive(holder.pid)) {
        await rm(path, { force: true });
        continue;
      }
      if (!told && holder.pid) {
        onWait(`waiting for run ${holder.runId} (pid ${holder.pid}) to release the state lock ${path}`);
        told = true;
      }
      if (signal?.aborted) throw new Error('Cancelled while waiting for the state lock');
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export interface RunSummary {
  runId: string;
  startedAt: string | null;
  command: string;
  status: 'success' | 'failed' | 'cancelled' | 'incomplete';
  materialized: number;
  skipped: number;
  failed: number;
  durationMs: number | null;
}

function parseEventLines(text: string): RunEvent[] {
  const out: RunEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as RunEvent);
    } catch {
      // A torn last line after a kill: ignore it, the rest of the log is intact.
    }
  }
  return out;
}

/** An unreadable lock (an empty file from a killed older version) is taken over after this long. */
const STALE_UNREADABLE_LOCK_MS = 2_000;
