import { resolve, sep } from 'node:path';
import { combineVersions } from '../engine/hash.ts';
import type { FileSet, SourceIO, SourceLocation, SourceObservation } from '../engine/io.ts';
import { FileHashCache } from './file-hash-cache.ts';
import { listFiles, listFolders, type LocalFile } from './local-files.ts';

/** Raw inputs from a local folder laid out as `api/<source>/dt=YYYY-MM-DD/hour=HH/*.json`, `batch/*.csv`. */
export class LocalSourceIO implements SourceIO {
  readonly name = 'local';
  private readonly root: string;
  private readonly hashes: FileHashCache;

  constructor(opts: { dataDir: string; hashCacheFile?: string; hashCacheWriteIntervalMs?: number }) {
    this.root = resolve(opts.dataDir);
    this.hashes = new FileHashCache(opts.hashCacheFile, opts.hashCacheWriteIntervalMs);
  }

  private dirOf(prefix: string): string {
    const dir = resolve(this.root, prefix);
    if (dir !== this.root && !dir.startsWith(this.root + sep))
      throw new Error(`Source prefix escapes DATA_DIR: ${prefix}`);
    return dir;
  }

  private list(location: SourceLocation): Promise<LocalFile[]> {
    this.dirOf(location.prefix); // refuses prefixes escaping DATA_DIR
    return listFiles(this.root, location.prefix, location);
  }

  async observe(location: SourceLocation, signal?: AbortSignal): Promise<SourceObservation> {
    const files = await this.list(location);
    const parts: string[] = [];
    for (const f of files)
      parts.push(f.key, String(f.size), await this.hashes.hash(f.path, f.size, f.mtimeMs, signal));
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
