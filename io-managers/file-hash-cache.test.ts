import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileHashCache } from './file-hash-cache.ts';

describe('FileHashCache', () => {
  let dir = '';
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('concurrent first calls are all answered from the persisted cache (one load, nothing re-hashed)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cityflow-hash-cache-'));
    const files = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const path = join(dir, `f${i}.csv`);
        await writeFile(path, `row ${i}\n`);
        const st = await stat(path);
        return { path, size: st.size, mtimeMs: st.mtimeMs };
      }),
    );
    // Recorded digests that are not the files' real ones: a recomputed digest would show.
    const cacheFile = join(dir, 'hashes.json');
    await writeFile(
      cacheFile,
      JSON.stringify(
        Object.fromEntries(
          files.map((f, i) => [f.path, { size: f.size, mtimeMs: f.mtimeMs, sha256: `cached-${i}` }]),
        ),
      ),
    );
    const before = (await stat(cacheFile)).mtimeMs;
    const cache = new FileHashCache(cacheFile, 0);
    const got = await Promise.all(files.map((f) => cache.hash(f.path, f.size, f.mtimeMs)));
    expect(got).toEqual(files.map((_, i) => `cached-${i}`));
    await cache.flush({ force: true });
    expect((await stat(cacheFile)).mtimeMs).toBe(before); // nothing new: not rewritten
  });

  it('a changed file (size or modification time) is hashed again', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cityflow-hash-cache-'));
    const path = join(dir, 'a.csv');
    await writeFile(path, 'abc');
    const st = await stat(path);
    const cacheFile = join(dir, 'hashes.json');
    await writeFile(
      cacheFile,
      JSON.stringify({ [path]: { size: 3, mtimeMs: st.mtimeMs, sha256: 'cached' } }),
    );
    const cache = new FileHashCache(cacheFile, 0);
    expect(await cache.hash(path, 3, st.mtimeMs)).toBe('cached');
    expect(await cache.hash(path, 3, st.mtimeMs + 1)).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});
