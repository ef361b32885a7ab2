/**
 * The local download cache for S3 objects: where a key lives on disk, its ETag/size sidecar, and
 * atomic writes that never leave a short or half-written file under a real name.
 *
 * Layout (the key path is mirrored, so `hour=01/x.json` and `hour=02/x.json` never collide):
 *   <cacheDir>/objects/<bucket>/<key>          the body
 *   <cacheDir>/meta/<bucket>/<key>.json        { etag, size, key, bucket, fetchedAt, sha256, mtimeMs, ctimeMs, ino }
 *   <cacheDir>/tmp/                            temp files, renamed into place (same filesystem)
 * Bodies and sidecars live in separate trees so no S3 key (e.g. one ending in `.json`) can collide
 * with another key's sidecar.
 *
 * Integrity: the SHA-256 of a body is computed as it is downloaded and kept in its sidecar with the
 * body's mtime, ctime and inode. A hit whose size, mtime, ctime and inode still match is trusted (the
 * cheap path, as git's index does; ctime catches an edit whose mtime was put back); when any of them
 * changed, the body is hashed again and a mismatch (a cached file altered in place, even to the same
 * size) makes it a miss: downloaded again, never used.
 *
 * Size: `prune` evicts least-recently-used objects (a sidecar's mtime is its last use: set when written,
 * refreshed on every cache hit) until the bodies fit a byte budget, and records what it left in
 * `<cacheDir>/usage.json` (`pruneNeeded`: a process that downloaded nothing need not walk the cache).
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { readStreamFor } from '../read-stream.ts';

/** Raised when a key or bucket would resolve outside the cache directory; never retried, never a fallback. */
export class UnsafeKeyError extends Error {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`Refusing S3 key ${JSON.stringify(key)}: ${reason} (it would resolve outside the cache directory)`);
    this.name = 'UnsafeKeyError';
  }
}

export interface CacheMeta {
  bucket: string;
  key: string;
  etag: string;
  size: number;
  fetchedAt: string;
  /** SHA-256 (hex) of the body as downloaded; a sidecar without it (older versions) is a miss. */
  sha256?: string;
  /** The body file's mtime, ctime and inode when last verified. */
  mtimeMs?: number;
  ctimeMs?: number;
  ino?: number;
}

/** `%2e`, `%2f`, `%5c`, `%00` (any case): encoded dot, slash, backslash or NUL. */
const ENCODED_DANGER = /%(2e|2f|5c|00)/i;

/** Throws UnsafeKeyError unless `key` is a plain relative path of safe segments. */
export function assertSafeKey(key: string): void {
  const refuse = (reason: string): never => {
    throw new UnsafeKeyError(key, reason);
  };
  if (key === '') refuse('empty key');
  if (key.includes('\0')) refuse('contains a NUL byte');
  if (key.includes('\\')) refuse('contains a backslash');
  if (ENCODED_DANGER.test(key)) refuse('contains a URL-encoded dot, slash, backslash or NUL');
  if (key.startsWith('/')) refuse('is absolute');
  if (/^[A-Za-z]:/.test(key)) refuse('starts with a drive letter');
  for (const seg of key.split('/')) {
    if (seg === '..') refuse('contains a ".." segment');
    if (seg === '.') refuse('contains a "." segment');
    if (seg === '') refuse('contains an empty segment ("//" or a trailing "/")');
  }
}

export interface PruneResult {
  kept: number;
  keptBytes: number;
  removed: number;
  removedBytes: number;
  /** Temp files of killed runs removed. */
  tmpRemoved: number;
}

/** `<cacheDir>/usage.json`, written by every prune: what it left. */
interface CacheUsage {
  keptBytes: number;
  kept: number;
  at: string;
}

const STALE_TMP_MS = 3600_000;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

export class ObjectCache {
  readonly root: string;
  /** Downloads in progress, by object version: concurrent readers of one object share one GET. */
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(cacheDir: string) {
    this.root = path.resolve(cacheDir);
  }

  /**
   * Runs `fetch` once for concurrent callers with the same `id` (e.g. 30 days' units reading one batch
   * file on a cold cache: one download, not 30).
   */
  once<T>(id: string, fetch: () => Promise<T>): Promise<T> {
    let p = this.inFlight.get(id) as Promise<T> | undefined;
    if (!p) {
      p = fetch().finally(() => this.inFlight.delete(id));
      this.inFlight.set(id, p);
    }
    return p;
  }

  private inside(tree: 'objects' | 'meta', bucket: string, key: string, suffix = ''): string {
    assertSafeKey(bucket);
    if (bucket.includes('/')) throw new UnsafeKeyError(bucket, 'bucket names cannot contain "/"');
    assertSafeKey(key);
    const base = path.join(this.root, tree, bucket);
    const p = path.resolve(base, key + suffix);
    // Belt and braces: whatever the checks above missed, the resolved path must stay inside.
    if (!p.startsWith(base + path.sep)) throw new UnsafeKeyError(key, 'resolves outside its bucket folder');
    return p;
  }

  /** Local path of the body of `s3://bucket/key`. Throws UnsafeKeyError for escaping keys. */
  pathFor(bucket: string, key: string): string {
    return this.inside('objects', bucket, key);
  }

  private metaPathFor(bucket: string, key: string): string {
    return this.inside('meta', bucket, key, '.json');
  }

  /**
   * The sidecar, or null when absent/corrupt, when the body is missing or has another size, or when its
   * content no longer has the digest recorded at download (checked when its mtime, ctime or inode moved).
   */
  async readValid(bucket: string, key: string): Promise<CacheMeta | null> {
    let meta: CacheMeta;
    const metaPath = this.metaPathFor(bucket, key);
    try {
      meta = JSON.parse(await readFile(metaPath, 'utf8')) as CacheMeta;
    } catch {
      return null;
    }
    if (typeof meta.etag !== 'string' || typeof meta.size !== 'number' || typeof meta.sha256 !== 'string')
      return null;
    const body = this.pathFor(bucket, key);
    try {
      const st = await stat(body);
      if (!st.isFile() || st.size !== meta.size) return null;
      if (st.mtimeMs !== meta.mtimeMs || st.ctimeMs !== meta.ctimeMs || st.ino !== meta.ino) {
        if ((await sha256Of(body, st.size)) !== meta.sha256) return null;
        meta = { ...meta, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino };
        await writeFileAtomic(metaPath, JSON.stringify(meta) + '\n', path.join(this.root, 'tmp'));
      }
    } catch {
      return null;
    }
    const now = new Date();
    await utimes(this.metaPathFor(bucket, key), now, now).catch(() => undefined); // last use, for prune
    return meta;
  }

  /**
   * Evicts least-recently-used objects until the cached bodies total at most `maxBytes`. Objects used
   * since `protectSince` (ms epoch; e.g. the current run's start) are never evicted, so the budget may
   * be exceeded by what the run itself needs. Temp files older than an hour (left by a killed run) are
   * removed too. The sidecar goes first: a crash in between leaves a body without sidecar, which is
   * simply downloaded again, never trusted.
   */
  async prune(opts: { maxBytes: number; protectSince?: number; now?: number }): Promise<PruneResult> {
    const now = opts.now ?? Date.now();
    const entries: { meta: string; body: string; size: number; lastUsed: number }[] = [];
    const metaRoot = path.join(this.root, 'meta');
    const objectsRoot = path.join(this.root, 'objects');
    for (const meta of await filesUnder(metaRoot)) {
      if (!meta.endsWith('.json')) continue;
      const body = path.join(objectsRoot, path.relative(metaRoot, meta).slice(0, -'.json'.length));
      const [m, b] = await Promise.all([stat(meta).catch(() => null), stat(body).catch(() => null)]);
      if (!m) continue;
      entries.push({ meta, body, size: b?.isFile() ? b.size : 0, lastUsed: m.mtimeMs });
    }
    const result: PruneResult = {
      kept: entries.length,
      keptBytes: 0,
      removed: 0,
      removedBytes: 0,
      tmpRemoved: 0,
    };
    result.keptBytes = entries.reduce((sum, e) => sum + e.size, 0);
    entries.sort((a, b) => a.lastUsed - b.lastUsed);
    for (const e of entries) {
      if (result.keptBytes <= opts.maxBytes) break;
      if (opts.protectSince !== undefined && e.lastUsed >= opts.protectSince) break;
      await rm(e.meta, { force: true });
      await rm(e.body, { force: true });
      result.kept--;
      result.keptBytes -= e.size;
      result.removed++;
      result.removedBytes += e.size;
    }
    for (const tmp of await filesUnder(path.join(this.root, 'tmp'))) {
      const st = await stat(tmp).catch(() => null);
      if (st && now - st.mtimeMs > STALE_TMP_MS) {
        await rm(tmp, { force: true });
        result.tmpRemoved++;
      }
    }
    const usage: CacheUsage = {
      keptBytes: result.keptBytes,
      kept: result.kept,
      at: new Date(now).toISOString(),
    };
    await mkdir(path.join(this.root, 'tmp'), { recursive: true });
    await writeFileAtomic(this.usagePath, JSON.stringify(usage) + '\n', path.join(this.root, 'tmp'));
    return result;
  }

  /**
   * The listing roots the last run of `bucket` used (`<cacheDir>/listings.json`), for the next run to
   * start listing them early (RunListings.prefetch); empty when none are on record.
   */
  listingRoots(bucket: string): string[] {
    try {
      const all = JSON.parse(readFileSync(this.listingsPath, 'utf8')) as Record<string, unknown>;
      const roots = all[bucket];
      return Array.isArray(roots) ? roots.filter((r): r is string => typeof r === 'string') : [];
    } catch {
      return [];
    }
  }

  /** Records the listing roots a run of `bucket` used (see listingRoots); no write when they are on record. */
  async saveListingRoots(bucket: string, roots: readonly string[]): Promise<void> {
    let all: Record<string, unknown> = {};
    try {
      all = JSON.parse(await readFile(this.listingsPath, 'utf8')) as Record<string, unknown>;
    } catch {
      // None yet, or unreadable: rewritten.
    }
    const sorted = [...roots].sort();
    if (JSON.stringify(all[bucket]) === JSON.stringify(sorted)) return;
    all[bucket] = sorted;
    await mkdir(path.join(this.root, 'tmp'), { recursive: true });
    await writeFileAtomic(this.listingsPath, JSON.stringify(all) + '\n', path.join(this.root, 'tmp'));
  }

  private get listingsPath(): string {
    return path.join(this.root, 'listings.json');
  }

  private get usagePath(): string {
    return path.join(this.root, 'usage.json');
  }

  /**
   * Whether `prune({ maxBytes })` could evict anything, for a process that downloaded nothing (the
   * cache only grows by downloads): false when the last prune left at most `maxBytes`; true when it
   * left more (its run's own objects were protected), when the budget shrank below what it left, or
   * when no prune is on record. Saves a no-op run walking every cached file (26,280 for a year of
   * hourly data: ≈ 1.6 s of stat calls).
   */
  async pruneNeeded(maxBytes: number): Promise<boolean> {
    try {
      const usage = JSON.parse(await readFile(this.usagePath, 'utf8')) as Partial<CacheUsage>;
      return typeof usage.keptBytes !== 'number' || usage.keptBytes > maxBytes;
    } catch {
      return true;
    }
  }

  /**
   * Streams `body` to a temp file, fsyncs, checks the byte count against `expectedSize` (a short
   * body never becomes a cache file), renames it over the cached path, then writes the sidecar
   * (also atomically). The sidecar is removed first so a crash in between leaves no stale pairing.
   */
  async write(
    bucket: string,
    key: string,
    body: Readable,
    info: { etag: string; expectedSize: number },
  ): Promise<string> {
    const finalPath = this.pathFor(bucket, key);
    const metaPath = this.metaPathFor(bucket, key);
    const tmpDir = path.join(this.root, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    await mkdir(path.dirname(finalPath), { recursive: true });
    await rm(metaPath, { force: true });
    const tmp = path.join(tmpDir, `${randomUUID()}.part`);
    // The temp file is opened (and later closed) here rather than by a write stream inside a
    // pipeline: a stream destroyed by a body error may finish opening its file *after* the catch
    // below removed it, leaving a stray .part in tmp/.
    const fh = await open(tmp, 'w');
    const digest = createHash('sha256');
    try {
      let written = 0;
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          written += chunk.length;
          digest.update(chunk);
          await fh.write(chunk); // awaiting each write is the backpressure
        }
        if (written !== info.expectedSize) {
          throw new Error(
            `Short or long download of s3://${bucket}/${key}: got ${written} bytes, expected ${info.expectedSize}`,
          );
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, finalPath);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    const st = await stat(finalPath);
    const meta: CacheMeta = {
      bucket,
      key,
      etag: info.etag,
      size: info.expectedSize,
      fetchedAt: new Date().toISOString(),
      sha256: digest.digest('hex'),
      mtimeMs: st.mtimeMs,
      ctimeMs: st.ctimeMs,
      ino: st.ino,
    };
    await writeFileAtomic(metaPath, JSON.stringify(meta) + '\n', tmpDir);
    return finalPath;
  }
}

async function writeFileAtomic(file: string, content: string, tmpDir: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = path.join(tmpDir, `${randomUUID()}.meta`);
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(content);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function sha256Of(file: string, size: number): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of readStreamFor(file, size)) h.update(chunk as Buffer);
  return h.digest('hex');
}
