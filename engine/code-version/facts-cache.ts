import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FileFacts } from './module-facts.ts';

/** Bump when the normalization or the cached facts change, so older caches are not reused. */
const CACHE_FORMAT = 1;
export const CACHE_FILE = 'node_modules/.cache/cityflow/code-files.json';
/** Entries kept in the cache file (those used by this process first). */
const CACHE_LIMIT = 5000;

export interface PackageVersions {
  /** sha256 of the package-lock.json the versions were read from ('' when absent). */
  lock: string;
  versions: Record<string, string>;
}

interface CacheFile {
  format: number;
  esbuild: string;
  entries: Record<string, FileFacts>;
  /** Versions already looked up in package-lock.json, valid while its hash is `lock` (parsing it is slow). */
  packages?: PackageVersions;
}

/** The per-project cache file of file facts, keyed by `<sha256 of the bytes>:<loader>`. */
export class FactsCache {
  private entries = new Map<string, FileFacts>();
  private readonly used = new Set<string>();
  private dirty = false;
  packages: PackageVersions | undefined;

  constructor(
    private readonly path: string | undefined,
    private readonly compiler: string,
  ) {
    if (!path) return;
    try {
      const data = JSON.parse(readFileSync(path, 'utf8')) as CacheFile;
      if (data.format === CACHE_FORMAT && data.esbuild === compiler && data.entries) {
        this.entries = new Map(Object.entries(data.entries));
        this.packages = data.packages;
      }
    } catch {
      // No cache yet, or unreadable: start empty.
    }
  }

  get(key: string, compute: () => FileFacts): FileFacts {
    this.used.add(key);
    let facts = this.entries.get(key);
    if (!facts) {
      facts = compute();
      this.entries.set(key, facts);
      this.dirty = true;
    }
    return facts;
  }

  setPackages(packages: PackageVersions): void {
    this.packages = packages;
    this.dirty = true;
  }

  /** Written atomically (temp file + rename); silently skipped when the folder is not writable. */
  flush(): void {
    if (!this.path || !this.dirty) return;
    this.dirty = false;
    const keys = [...this.used, ...[...this.entries.keys()].filter((k) => !this.used.has(k))];
    const entries: Record<string, FileFacts> = {};
    for (const k of keys.slice(0, CACHE_LIMIT)) entries[k] = this.entries.get(k)!;
    const data: CacheFile = {
      format: CACHE_FORMAT,
      esbuild: this.compiler,
      entries,
      packages: this.packages,
    };
    const tmp = `${this.path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      writeFileSync(tmp, JSON.stringify(data));
      renameSync(tmp, this.path);
    } catch {
      try {
        rmSync(tmp, { force: true });
      } catch {
        // nothing was written
      }
    }
  }
}
