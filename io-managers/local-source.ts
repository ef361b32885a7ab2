import { readdir, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { combineVersions } from '../engine/hash.ts';
import type { FileSet, SourceFile, SourceIO, SourceLocation, SourceObservation } from '../engine/io.ts';
import { FileHashCache } from './file-hash-cache.ts';

/** Raw inputs from a local folder laid out as `api/<source>/dt=YYYY-MM-DD/hour=HH/*.json`, `batch/*.csv`. */
export class LocalSourceIO implements SourceIO {
  readonly name = 'local';
  private readonly root: string;
  private readonly hashes: FileHashCache;

  constructor(opts: { dataDir: string; hashCacheFile?: string }) {
    this.root = resolve(opts.dataDir);
    this.hashes = new FileHashCache(opts.hashCacheFile);
  }

  private dirOf(prefix: string): string {
    const dir = resolve(this.root, prefix);
    if (dir !== this.root && !dir.startsWith(this.root + sep))
      throw new Error(`Source prefix escapes DATA_DIR: ${prefix}`);
    return dir;
  }

  private async list(location: SourceLocation): Promise<(SourceFile & { mtimeMs: number })[]> {
    const out: (SourceFile & { mtimeMs: number })[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const e of entries) {
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (location.recursive) await walk(join(dir, e.name), key);
        } else if (e.isFile() && (!location.match || location.match.test(e.name))) {
          const path = join(dir, e.name);
          const st = await stat(path);
          out.push({ path, key, size: st.size, mtimeMs: st.mtimeMs });
        }
      }
    };
    await walk(this.dirOf(location.prefix), location.prefix.replace(/\/+$/, ''));
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async observe(location: SourceLocation): Promise<SourceObservation> {
    const files = await this.list(location);
    const parts: string[] = [];
    for (const f of files)
      parts.push(f.key, String(f.size), await this.hashes.hash(f.path, f.size, f.mtimeMs));
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

  async listFolders(prefix: string): Promise<string[]> {
    try {
      const entries = await readdir(this.dirOf(prefix), { withFileTypes: true });
      return entries
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }
}
