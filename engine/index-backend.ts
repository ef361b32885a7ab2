/**
 * Where the materialization index lives. The state store (engine/state.ts) keeps what it read in memory
 * and hands its changed partitions to a backend at flush. The default backend is the state dir's
 * `index/<asset>.json` files, read synchronously on first use; a shared backend (DynamoDB, for
 * coordinators on several machines) has no synchronous read: the assets a plan reads are loaded first
 * (`StateStore.load`).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { readIndexCached } from './index-file-cache.ts';
import { withShortLock } from './run-index.ts';
import type { MaterializationRecord } from './state.ts';
import { writeError } from './write-error.ts';

/** partition → record, for one asset. */
export type AssetIndex = Record<string, MaterializationRecord>;

/** What a run's index writes carry: its unit lock's fencing token (see IndexBackend.write). */
export interface IndexFence {
  runId: string;
  token: number;
}

/** Raised when a write is refused because the run no longer holds its unit locks (its fence is stale). */
export class FencedWriteError extends Error {
  override readonly name = 'FencedWriteError';
}

export interface IndexBackend {
  /** For messages, e.g. `/srv/state/index` or `DynamoDB table cityflow-index`. */
  readonly where: string;
  /** One asset's records, read now (local files); absent when reads are remote (use `load`). */
  readSync?(asset: string): AssetIndex;
  /** Several assets' records, as stored now. */
  load(assets: readonly string[]): Promise<Map<string, AssetIndex>>;
  /**
   * Replaces the given partitions of each asset (others' partitions are kept: several runs record other
   * partitions of one asset at once). With a fence, the write happens only while the run still holds
   * its unit locks, else it fails with FencedWriteError and writes nothing of that batch.
   */
  write(changes: ReadonlyMap<string, AssetIndex>, fence?: IndexFence): Promise<void>;
  /** Changes whenever any process records anything (a run re-plans when it moved). */
  stamp(): Promise<string>;
}

/** The state dir's `index/<asset>.json` files (one small file per asset, rewritten atomically). */
export class LocalIndexBackend implements IndexBackend {
  readonly where: string;

  constructor(readonly stateDir: string) {
    this.where = join(stateDir, 'index');
  }

  file(asset: string): string {
    return join(this.where, `${asset}.json`);
  }

  /**
   * Parsed once per file version and shared by the process's stores (engine/index-file-cache.ts): the
   * value is frozen, and a StateStore copies it before it records into it.
   */
  readSync(asset: string): AssetIndex {
    const path = this.file(asset);
    try {
      return (readIndexCached(path, JSON.parse) as AssetIndex | undefined) ?? {};
    } catch (err) {
      throw new Error(`State index ${path} is unreadable (${(err as Error).message}); delete it to rebuild`, {
        cause: err,
      });
    }
  }

  async load(assets: readonly string[]): Promise<Map<string, AssetIndex>> {
    return new Map(assets.map((a) => [a, this.readSync(a)]));
  }

  /**
   * Per asset, under a short lock (`index/<asset>.json.lock`), the file is read again, only the given
   * partitions are replaced, and the result is written to a temp file, fsynced and renamed. The fence is
   * not checked: local unit locks end only with their process.
   */
  async write(changes: ReadonlyMap<string, AssetIndex>): Promise<void> {
    mkdirSync(this.where, { recursive: true });
    for (const [asset, records] of changes) {
      const path = this.file(asset);
      withShortLock(`${path}.lock`, () => {
        const merged = readIndexFile(path);
        Object.assign(merged, records);
        writeSyncAtomic(path, JSON.stringify(merged));
      });
    }
  }

  /** The index files' names, sizes and modification times. */
  async stamp(): Promise<string> {
    let names: string[];
    try {
      names = readdirSync(this.where).filter((n) => n.endsWith('.json'));
    } catch {
      return '';
    }
    return names
      .sort()
      .map((n) => {
        const st = statSync(join(this.where, n), { throwIfNoEntry: false });
        return st ? `${n}:${st.size}:${st.mtimeMs}` : n;
      })
      .join('|');
  }
}

/** An asset's index file as stored now ({} when there is none yet). */
export function readIndexFile(path: string): AssetIndex {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`State index ${path} is unreadable (${(err as Error).message}); delete it to rebuild`, {
      cause: err,
    });
  }
  try {
    return JSON.parse(text) as AssetIndex;
  } catch (err) {
    throw new Error(`State index ${path} is unreadable (${(err as Error).message}); delete it to rebuild`, {
      cause: err,
    });
  }
}

/** Temp file (`<path>.tmp-<pid>-<hex>`, as engine/atomic.ts names them) + fsync + rename, synchronously. */
function writeSyncAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw writeError(err, path, Buffer.byteLength(data));
  }
}
