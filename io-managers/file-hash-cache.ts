import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../engine/atomic.ts';
import { fileDigest } from './file-digest.ts';
import type { FileStamp } from './local-files.ts';

const FLUSH_INTERVAL_MS = 1000;
/** A file modified less than this before it was hashed is not remembered (see FileHashCache). */
const RACY_MS = 2000;

interface Entry extends FileStamp {
  /** fileDigest's result. */
  digest: string;
}

/**
 * The file's format: `{ format, files: { [path]: [size, mtimeMs, ctimeMs, ino, digest] } }` (arrays, not
 * objects: no field names repeated 26,280 times for a year of hourly files). A file of another format
 * (older ones: `{ [path]: { size, mtimeMs, sha256 } }`, no ctime or inode) is ignored: every file is
 * hashed once more after an upgrade.
 */
const FORMAT = 2;
type Persisted = { format: typeof FORMAT; files: Record<string, [number, number, number, number, string]> };

const sameStamp = (a: FileStamp, b: FileStamp): boolean =>
  a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;

/**
 * Content digests of local files (file-digest.ts), remembered by path and stamp so a 6 GB file is
 * hashed once, not on every plan. Persisted as one JSON file (optional).
 *
 * A digest is reused only while size, mtime, ctime and inode are all the ones it was computed with, as
 * git's index does: a file replaced by a rename is a new inode, an edit in place moves ctime even when
 * a tool puts the mtime back (`cp -p`, `touch -r`, an archive restored). And, like git's "racy" rule,
 * the digest of a file modified less than RACY_MS before it was read is not remembered at all: file
 * timestamps are coarse (a few ms on Linux, 1–2 s on some file systems), so a second same-size write in
 * the same tick would keep the stamp; such a file is hashed again until it is older.
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
    private readonly racyMs = RACY_MS,
  ) {}

  private load(): Promise<void> {
    return (this.loading ??= (async () => {
      if (!this.file) return;
      try {
        const persisted = JSON.parse(await readFile(this.file, 'utf8')) as Partial<Persisted>;
        if (persisted.format !== FORMAT || !persisted.files) return;
        const { files } = persisted;
        for (const path in files) {
          const [size, mtimeMs, ctimeMs, ino, digest] = files[path]!;
          this.entries.set(path, { size, mtimeMs, ctimeMs, ino, digest });
        }
      } catch {
        // Missing or unreadable cache: start empty, it is only a cache.
      }
    })());
  }

  /** The digest of the file at `path`, whose `stat` (taken before this call) gave `stamp`. */
  async hash(path: string, stamp: FileStamp, signal?: AbortSignal): Promise<string> {
    await this.load();
    const hit = this.entries.get(path);
    if (hit && sameStamp(hit, stamp)) return hit.digest;
    // Any later write happens after this instant: it gets a different stamp unless the file's
    // timestamps are within a clock tick or two of it.
    const readAt = Date.now();
    const digest = await fileDigest(path, stamp.size, { signal });
    if (readAt - Math.max(stamp.mtimeMs, stamp.ctimeMs) >= this.racyMs) {
      const { size, mtimeMs, ctimeMs, ino } = stamp;
      this.entries.set(path, { size, mtimeMs, ctimeMs, ino, digest });
      this.dirty = true;
    } else if (hit) {
      this.entries.delete(path);
      this.dirty = true;
    }
    return digest;
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
    const files: Persisted['files'] = {};
    for (const [path, e] of this.entries) files[path] = [e.size, e.mtimeMs, e.ctimeMs, e.ino, e.digest];
    await writeFileAtomic(this.file, JSON.stringify({ format: FORMAT, files } satisfies Persisted));
  }
}
