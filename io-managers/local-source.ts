import { resolve, sep } from 'node:path';
import { combineVersions } from '../engine/hash.ts';
import type { FileSet, SourceIO, SourceLocation, SourceObservation } from '../engine/io.ts';
import { FileHashCache } from './file-hash-cache.ts';
import { FolderMemo, listFiles, listFolders, type LocalFile } from './local-files.ts';

/** A relative prefix resolves inside the root unless it starts at a root or climbs with `..`. */
const MAY_ESCAPE = /^[\\/]|^[A-Za-z]:|(^|[\\/])\.\.([\\/]|$)/;

/** How long `observeMany` may run without letting other work (a UI request, a timer) in. */
const YIELD_EVERY_MS = 10;

/** Raw inputs from a local folder laid out as `api/<source>/dt=YYYY-MM-DD/hour=HH/*.json`, `batch/*.csv`. */
export class LocalSourceIO implements SourceIO {
  readonly name = 'local';
  private readonly root: string;
  private readonly hashes: FileHashCache;

  constructor(opts: {
    dataDir: string;
    hashCacheFile?: string;
    hashCacheWriteIntervalMs?: number;
    /** Tests: how recently a file may have changed and its digest still be remembered (FileHashCache). */
    hashCacheRacyMs?: number;
  }) {
    this.root = resolve(opts.dataDir);
    this.hashes = new FileHashCache(opts.hashCacheFile, opts.hashCacheWriteIntervalMs, opts.hashCacheRacyMs);
  }

  private dirOf(prefix: string): string {
    const dir = resolve(this.root, prefix);
    if (dir !== this.root && !dir.startsWith(this.root + sep))
      throw new Error(`Source prefix escapes DATA_DIR: ${prefix}`);
    return dir;
  }

  private list(location: SourceLocation, folders?: FolderMemo): Promise<LocalFile[]> {
    // Refuses prefixes escaping DATA_DIR; only one that is absolute or has a `..` segment can (a plan
    // lists thousands of prefixes: `resolve` each was ≈ 2 % of a no-op over a year of hourly folders).
    if (MAY_ESCAPE.test(location.prefix)) this.dirOf(location.prefix);
    return listFiles(this.root, location.prefix, { ...location, folders });
  }

  observe(location: SourceLocation, signal?: AbortSignal): Promise<SourceObservation> {
    return this.observeIn(location, undefined, signal);
  }

  /**
   * The locations observed one after the other, sharing what they learn of parent folders (FolderMemo):
   * a folder its parent does not hold costs no system call. Yields to the event loop every few
   * milliseconds (a year of hourly folders takes about a second).
   */
  async observeMany(
    locations: readonly SourceLocation[],
    signal?: AbortSignal,
  ): Promise<PromiseSettledResult<SourceObservation>[]> {
    const folders = new FolderMemo(this.root);
    const out: PromiseSettledResult<SourceObservation>[] = [];
    let yieldAt = performance.now() + YIELD_EVERY_MS;
    for (const location of locations) {
      signal?.throwIfAborted();
      if (performance.now() >= yieldAt) {
        await new Promise<void>((r) => setImmediate(r));
        yieldAt = performance.now() + YIELD_EVERY_MS;
      }
      try {
        out.push({ status: 'fulfilled', value: await this.observeIn(location, folders, signal) });
      } catch (reason) {
        out.push({ status: 'rejected', reason });
      }
    }
    return out;
  }

  private async observeIn(
    location: SourceLocation,
    folders: FolderMemo | undefined,
    signal?: AbortSignal,
  ): Promise<SourceObservation> {
    const files = await this.list(location, folders);
    const parts: string[] = [];
    for (const f of files) parts.push(f.key, String(f.size), await this.hashes.hash(f.path, f, signal));
    await this.hashes.flush();
    return {
      dataVersion: files.length ? combineVersions(parts) : 'empty',
      fileCount: files.length,
      bytes: files.reduce((a, f) => a + f.size, 0),
    };
  }

  async resolve(location: SourceLocation): Promise<FileSet> {
    const files = await this.list(location);
    return { files: files.map(({ path, key, size }) => ({ path, key, size })), origin: `local:${this.root}` };
  }

  listFolders(prefix: string): Promise<string[]> {
    return listFolders(this.dirOf(prefix));
  }

  /** Writes the hashes computed since the last (throttled) write. */
  async close(): Promise<void> {
    await this.hashes.flush({ force: true });
  }
}
