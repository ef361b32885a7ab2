import { appendFileSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckStatus, MaterializedMetadata, RunEvent } from './events.ts';
import { acquireDirLock } from './lock.ts';
import { LocalIndexBackend, type AssetIndex, type IndexBackend, type IndexFence } from './index-backend.ts';
import {
  listRunsIndexed,
  pruneRuns,
  RUN_ID,
  runIndexRecorder,
  type PruneOptions,
  type PruneResult,
  type RunSummary,
} from './run-index.ts';

export type { RunStatus, RunSummary } from './run-index.ts';

/** One check result of one run, as kept in an asset's check history (`checks/<asset>.jsonl`). */
export interface CheckHistoryEntry {
  runId: string;
  at: string;
  partition: string;
  check: string;
  status: CheckStatus;
  blocking: boolean;
  message?: string;
}

const ASSET_FILE = /^[A-Za-z0-9_.-]+$/;

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

/**
 * The state dir (`.cityflow/` by default): the index (latest version per partition: by default
 * `index/<asset>.json`, one small file per asset, rewritten atomically; or a shared backend, see
 * engine/index-backend.ts), `runs/<run id>.jsonl` (append-only event log), `checks/`, `lock`.
 */
export class StateStore {
  private readonly index = new Map<string, AssetIndex>();
  /** asset → the partitions this process changed since the last flush (only those are written). */
  private readonly dirty = new Map<string, Set<string>>();
  readonly backend: IndexBackend;
  /** The unit lock's fencing token the index writes carry (set once the run holds its units). */
  fence: IndexFence | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    readonly dir: string,
    backend?: IndexBackend,
  ) {
    this.backend = backend ?? new LocalIndexBackend(dir);
  }

  /** Reads these assets' records now (required before use with a backend that has no synchronous read). */
  async load(assets: Iterable<string>): Promise<void> {
    if (this.backend.readSync) return; // read lazily, asset by asset
    const want = [...new Set(assets)].filter((a) => !this.index.has(a));
    if (!want.length) return;
    for (const [asset, idx] of await this.backend.load(want))
      if (!this.index.has(asset)) this.index.set(asset, idx);
  }

  private assetIndex(asset: string): AssetIndex {
    let idx = this.index.get(asset);
    if (!idx) {
      if (!this.backend.readSync)
        throw new Error(
          `The index of asset "${asset}" was not loaded from ${this.backend.where} (StateStore.load)`,
        );
      idx = this.backend.readSync(asset);
      this.index.set(asset, idx);
    }
    return idx;
  }

  private writableIndex(asset: string): AssetIndex {
    let idx = this.assetIndex(asset);
    if (Object.isFrozen(idx)) this.index.set(asset, (idx = { ...idx }));
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
    this.writableIndex(asset)[partition] = rec;
    this.markDirty(asset, partition);
  }

  recordFailure(
    asset: string,
    partition: string,
    failure: NonNullable<MaterializationRecord['lastFailure']>,
  ): void {
    const idx = this.writableIndex(asset);
    idx[partition] = { ...idx[partition], lastFailure: failure };
    this.markDirty(asset, partition);
  }

  private markDirty(asset: string, partition: string): void {
    const set = this.dirty.get(asset);
    if (set) set.add(partition);
    else this.dirty.set(asset, new Set([partition]));
  }

  /**
   * Writes the partitions this process changed into the index, merging: only this process's changed
   * partitions are replaced (engine/index-backend.ts), so runs of other processes recording other
   * partitions of the same asset at the same time lose nothing (the unit locks make sure no two runs
   * record the same partition at once). On failure the changes stay to write at the next flush.
   */
  flush(): Promise<void> {
    // One write at a time: a flush called while another writes returns once its own changes are written.
    const next = this.flushing.catch(() => {}).then(() => this.writeDirty());
    this.flushing = next;
    return next;
  }

  private async writeDirty(): Promise<void> {
    if (this.dirty.size === 0) return;
    const changes = [...this.dirty];
    this.dirty.clear();
    const records = new Map<string, AssetIndex>();
    for (const [asset, partitions] of changes) {
      const idx = this.assetIndex(asset);
      const out: AssetIndex = {};
      for (const p of partitions) if (idx[p]) out[p] = idx[p];
      records.set(asset, out);
    }
    try {
      await this.backend.write(records, this.fence);
    } catch (err) {
      for (const [asset, partitions] of changes) for (const p of partitions) this.markDirty(asset, p);
      throw err;
    }
  }

  // ---------- run logs ----------

  runLogPath(runId: string): string {
    return join(this.dir, 'runs', `${runId}.jsonl`);
  }

  /**
   * Returns an appender; each event is one line, appended synchronously so a crash loses at most the
   * tail. The run's start and end also go to the run index (engine/run-index.ts), its check results to
   * the assets' check histories.
   */
  openRunLog(runId: string): (e: RunEvent) => void {
    if (!RUN_ID.test(runId)) throw new Error(`Invalid run id "${runId}"`);
    mkdirSync(join(this.dir, 'runs'), { recursive: true });
    const path = this.runLogPath(runId);
    const index = runIndexRecorder(this.dir, runId);
    let checksDir: string | undefined;
    // Opened once per run, not per event (a no-op over a year of hourly data logs 3,300 events).
    let fd: number | undefined;
    return (e) => {
      appendFileSync((fd ??= openSync(path, 'a')), JSON.stringify(e) + '\n');
      if (e.type === 'run_finished') {
        closeSync(fd);
        fd = undefined;
      }
      if (e.type === 'check' && ASSET_FILE.test(e.asset)) {
        const entry: CheckHistoryEntry = {
          runId,
          at: e.at,
          partition: e.partition,
          check: e.check,
          status: e.status,
          blocking: e.blocking,
          ...(e.message !== undefined && { message: e.message }),
        };
        try {
          if (!checksDir) mkdirSync((checksDir = join(this.dir, 'checks')), { recursive: true });
          appendFileSync(join(checksDir, `${e.asset}.jsonl`), JSON.stringify(entry) + '\n');
        } catch {
          // The run log has the check; only the history misses it.
        }
      }
      index(e);
    };
  }

  /**
   * An asset's check results across runs, newest first (at most `limit`), from `checks/<asset>.jsonl`;
   * results of runs removed by `runs prune` are left out.
   */
  async checkHistory(asset: string, limit = 200): Promise<CheckHistoryEntry[]> {
    if (!ASSET_FILE.test(asset)) throw new Error(`Invalid asset key "${asset}"`);
    let text: string;
    try {
      text = await readFile(join(this.dir, 'checks', `${asset}.jsonl`), 'utf8');
    } catch {
      return [];
    }
    const known = new Set((await this.listRuns()).map((r) => r.runId));
    const out: CheckHistoryEntry[] = [];
    const lines = text.split('\n');
    for (let i = lines.length - 1; i >= 0 && out.length < limit; i--) {
      if (!lines[i]!.trim()) continue;
      try {
        const e = JSON.parse(lines[i]!) as CheckHistoryEntry;
        if (known.has(e.runId)) out.push(e);
      } catch {
        // a torn line after a kill
      }
    }
    return out;
  }

  async readRun(runId: string): Promise<RunEvent[]> {
    if (!RUN_ID.test(runId)) throw new Error(`Invalid run id "${runId}"`);
    let text: string;
    try {
      text = await readFile(this.runLogPath(runId), 'utf8');
    } catch {
      throw new Error(`No run "${runId}" in ${join(this.dir, 'runs')} (see \`pipeline runs\`)`);
    }
    return parseEventLines(text);
  }

  /**
   * Every run, newest first, from the run index (one file) rather than the logs: a log is parsed only
   * when the index does not know its run or a run's process is gone without an end recorded.
   */
  async listRuns(): Promise<RunSummary[]> {
    return listRunsIndexed(this.dir);
  }

  /** Removes old runs' logs (never a running one's); see engine/run-index.ts. */
  pruneRuns(opts: PruneOptions): PruneResult {
    return pruneRuns(this.dir, opts);
  }

  // ---------- lock ----------

  /**
   * The global lock of before unit locks, kept for callers written against it: runs no longer take it
   * (they lock their units: engine/unit-locks.ts, `Runtime.lockForRun`), so it does not keep them out.
   * One writer per state dir (`<dir>/lock`). A second process waits (telling who holds it) until the
   * holder exits; a lock left by a process that is gone (kill -9, reboot, container restart: its pid may
   * now name another process) is taken over (engine/lock.ts).
   */
  acquireLock(
    runId: string,
    onWait: (msg: string) => void,
    signal?: AbortSignal,
  ): Promise<() => Promise<void>> {
    return acquireDirLock(this.dir, 'lock', runId, { what: 'state lock', onWait, signal });
  }
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
