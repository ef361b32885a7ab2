import { mkdtemp, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileHashCache } from './file-hash-cache.ts';
import type { FileStamp } from './local-files.ts';

const SHA256_ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const SHA256_XYZ = '3608bca1e44ea6c4d268eb6db02260269892c0b42b86bbf1e77a6fa16c3c9282';

const stampOf = async (path: string): Promise<FileStamp> => {
  const { size, mtimeMs, ctimeMs, ino } = await stat(path);
  return { size, mtimeMs, ctimeMs, ino };
};

/** A cache file as FileHashCache writes it. */
const cacheText = (entries: Record<string, FileStamp & { digest: string }>): string =>
  JSON.stringify({
    format: 2,
    files: Object.fromEntries(
      Object.entries(entries).map(([path, e]) => [path, [e.size, e.mtimeMs, e.ctimeMs, e.ino, e.digest]]),
    ),
  });

describe('FileHashCache', () => {
  let dir = '';
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('concurrent first calls are all answered from the persisted cache (one load, nothing re-hashed)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cityflow-hash-cache-'));
    const files = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const path = join(dir, `f${i}.csv`);
        await writeFile(path, `row ${i}\n`);
        return { path, stamp: await stampOf(path) };
      }),
    );
    // Recorded digests that are not the files' real ones: a recomputed digest would show.
    const cacheFile = join(dir, 'hashes.json');
    await writeFile(
      cacheFile,
      cacheText(Object.fromEntries(files.map((f, i) => [f.path, { ...f.stamp, digest: `cached-${i}` }]))),
    );
    const before = (await stat(cacheFile)).mtimeMs;
    const cache = new FileHashCache(cacheFile, 0);
    const got = await Promise.all(files.map((f) => cache.hash(f.path, f.stamp)));
    expect(got).toEqual(files.map((_, i) => `cached-${i}`));
    await cache.flush({ force: true });
    expect((await stat(cacheFile)).mtimeMs).toBe(before); // nothing new: not rewritten
  });

  it('a file whose size, mtime, ctime or inode moved is hashed again', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cityflow-hash-cache-'));
    const path = join(dir, 'a.csv');
    await writeFile(path, 'abc');
    const stamp = await stampOf(path);
    const cacheFile = join(dir, 'hashes.json');
    await writeFile(cacheFile, cacheText({ [path]: { ...stamp, digest: 'cached' } }));
    const cache = new FileHashCache(cacheFile, 0, 0);
    expect(await cache.hash(path, stamp)).toBe('cached');
    for (const moved of ['size', 'mtimeMs', 'ctimeMs', 'ino'] as const)
      expect(await cache.hash(path, { ...stamp, [moved]: stamp[moved] + 1 })).toBe(SHA256_ABC);
  });

  it('a cache file of the older format (size and mtime only) is not trusted: hashed again', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cityflow-hash-cache-'));
    const path = join(dir, 'a.csv');
    await writeFile(path, 'abc');
    const stamp = await stampOf(path);
    const cacheFile = join(dir, 'hashes.json');
    await writeFile(
      cacheFile,
      JSON.stringify({ [path]: { size: stamp.size, mtimeMs: stamp.mtimeMs, sha256: 'cached' } }),
    );
    expect(await new FileHashCache(cacheFile, 0, 0).hash(path, stamp)).toBe(SHA256_ABC);
  });

  it('an edit keeping size and mtime is seen: in place (ctime moves) and by a rename (inode)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cityflow-hash-cache-'));
    const path = join(dir, 'a.csv');
    await writeFile(path, 'abc');
    const old = new Date(Date.now() - 60_000);
    await utimes(path, old, old);
    const cache = new FileHashCache(join(dir, 'hashes.json'), 0, 0);
    const first = await stampOf(path);
    expect(await cache.hash(path, first)).toBe(SHA256_ABC);

    // In place, same size, mtime put back (cp -p, touch -r, an archive restored): ctime moves.
    await new Promise((r) => setTimeout(r, 20)); // past the kernel's timestamp tick
    await writeFile(path, 'xyz');
    await utimes(path, old, old);
    let now = await stampOf(path);
    expect([now.size, now.mtimeMs]).toEqual([first.size, first.mtimeMs]);
    expect(await cache.hash(path, now)).toBe(SHA256_XYZ);

    // Replaced by a rename from a file with the same size and times: a new inode.
    const other = join(dir, 'b.csv');
    await writeFile(other, 'abc');
    await utimes(other, old, old);
    await rename(other, path);
    now = await stampOf(path);
    expect([now.size, now.mtimeMs]).toEqual([first.size, first.mtimeMs]);
    expect(await cache.hash(path, now)).toBe(SHA256_ABC);
  });

  it('the digest of a file changed just before it was read is not remembered (racy: coarse timestamps)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cityflow-hash-cache-'));
    const fresh = join(dir, 'fresh.csv');
    const settled = join(dir, 'settled.csv');
    await writeFile(fresh, 'abc');
    await writeFile(settled, 'abc');
    const cacheFile = join(dir, 'hashes.json');
    // Within the last minute counts as racy here; the settled file is judged against a 0 ms window.
    const racy = new FileHashCache(cacheFile, 0, 60_000);
    expect(await racy.hash(fresh, await stampOf(fresh))).toBe(SHA256_ABC);
    await racy.flush({ force: true });
    await expect(readFile(cacheFile, 'utf8')).rejects.toThrow(/ENOENT/); // nothing to remember
    const settledCache = new FileHashCache(cacheFile, 0, 0);
    await settledCache.hash(settled, await stampOf(settled));
    await settledCache.flush({ force: true });
    const written = JSON.parse(await readFile(cacheFile, 'utf8')) as { files: object };
    expect(Object.keys(written.files)).toEqual([settled]);

    // A remembered entry whose file is hashed again while racy is forgotten, not kept stale.
    const stamp = await stampOf(settled);
    await writeFile(cacheFile, cacheText({ [settled]: { ...stamp, digest: 'cached' } }));
    const again = new FileHashCache(cacheFile, 0, 60_000);
    expect(await again.hash(settled, { ...stamp, ctimeMs: stamp.ctimeMs + 1 })).toBe(SHA256_ABC);
    await again.flush({ force: true });
    expect(JSON.parse(await readFile(cacheFile, 'utf8'))).toEqual({ format: 2, files: {} });
  });
});
