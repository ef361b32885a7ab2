import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../engine/atomic.ts';
import { fileDigest } from './file-digest.ts';

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
  private loaded = false;
  private dirty = false;

  constructor(private readonly file?: string) {}

  private async load(): Promise<void> {
    if (this.loaded) return;
    this.loaded = true;
    if (!this.file) return;
    try {
      const obj = JSON.parse(await readFile(this.file, 'utf8')) as Record<string, Entry>;
      this.entries = new Map(Object.entries(obj));
    } catch {
      // Missing or unreadable cache: start empty, it is only a cache.
    }
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

  async flush(): Promise<void> {
    if (!this.file || !this.dirty) return;
    this.dirty = false;
    await writeFileAtomic(this.file, JSON.stringify(Object.fromEntries(this.entries)));
  }
}
