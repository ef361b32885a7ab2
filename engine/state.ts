import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.ts';
import type { CheckStatus, MaterializedMetadata, RunEvent } from './events.ts';
import { acquireDirLock } from './lock.ts';

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
