import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../engine/atomic.ts';
import { fileDigest } from './file-digest.ts';

const FLUSH_INTERVAL_MS = 1000;

interface Entry {
  size: number;
  mtimeMs: number;
  /** fileDigest's result (plain SHA-256 hex, or `tree-sha256:…` for big files; name kept for old caches). */
  sha256: string;
}

/**
 * Content hashes of local files (file-digest.ts), remembered by (path, size, mtime) so a 6 GB file
 * is hashed once, not on every plan. Persisted as one JSON file (optional).
 */
export class FileHashCache {
  private entries = new Map<string, Entry>();
  /** One read for all callers: the first observations of a plan run 16 at a time. */
  private loading: Promise<void> | undefined;
  private dirty = false;
  private lastWrite = -Infinity;

  constructor(
    private readonly file?: string,
    private readonly flushIntervalMs = FLUSH_INTERVAL_MS,
  ) {}

  private load(): Promise<void> {
    return (this.loading ??= (async () => {
      if (!this.file) return;
      try {
        const obj = JSON.parse(await readFile(this.file, 'utf8')) as Record<string, Entry>;
        this.entries = new Map(Object.entries(obj));
      } catch {
        // Missing or unreadable cache: start empty, it is only a cache.
      }
    })());
  }

  async hash(path: string, size: number, mtimeMs: number, signal?: AbortSignal): Promise<string> {
    await this.load();
    const hit = this.entries.get(path);
    if (hit && hit.size === size && hit.mtimeMs === mtimeMs) return hit.sha256;
    const sha256 = await fileDigest(path, size, { signal });
    this.entries.set(path, { size, mtimeMs, sha256 });
    this.dirty = true;
    return sha256;
  }

  /**
   * Writes the cache when it changed, at most once a second unless `force`: the whole file is rewritten,
   * so writing after every newly hashed folder made a first run over a year of hourly files quadratic
   * (26,280 files: > 12 min). A kill loses at most the last second of hashes: they are computed again.
   */
  async flush(opts: { force?: boolean } = {}): Promise<void> {
    if (!this.file || !this.dirty) return;
    if (!opts.force && performance.now() - this.lastWrite < this.flushIntervalMs) return;
    this.dirty = false;
    this.lastWrite = performance.now();
    await writeFileAtomic(this.file, JSON.stringify(Object.fromEntries(this.entries)));
  }
}
