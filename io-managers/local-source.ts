import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { combineVersions } from '../engine/hash.ts';
import type { FileSet, SourceFile, SourceIO, SourceLocation, SourceObservation } from '../engine/io.ts';
import { FileHashCache } from './file-hash-cache.ts';

/**
 * What a folder entry is, following symbolic links (a 6 GB export is often linked into DATA_DIR, not
 * copied). A link to nothing is an error naming it: its data is missing, not absent.
 */
async function kindOf(dir: string, e: Dirent): Promise<'file' | 'dir' | null> {
  if (e.isFile()) return 'file';
  if (e.isDirectory()) return 'dir';
  if (!e.isSymbolicLink()) return null;
  try {
    const st = await stat(join(dir, e.name));
    return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${join(dir, e.name)} is a symbolic link to a missing file or folder (${code})`, {
      cause: err,
    });
  }
}

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
    const seen = new Set<string>(); // real paths of the folders walked: a linked loop is walked once
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      const real = await realpath(dir);
      if (seen.has(real)) return;
      seen.add(real);
      for (const e of entries) {
        const key = rel ? `${rel}/${e.name}` : e.name;
        const kind = await kindOf(dir, e);
        if (kind === 'dir') {
          if (location.recursive) await walk(join(dir, e.name), key);
        } else if (kind === 'file' && (!location.match || location.match.test(e.name))) {
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
      const dir = this.dirOf(prefix);
      const entries = await readdir(dir, { withFileTypes: true });
      const kinds = await Promise.all(entries.map((e) => kindOf(dir, e)));
      return entries
        .filter((_, i) => kinds[i] === 'dir')
        .map((e) => e.name)
        .sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }
}
