/** The cache's local rules, no server needed: key refusals, key-mirroring layout, atomic and verified writes. */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { ObjectCache, UnsafeKeyError, assertSafeKey } from '../../io-managers/s3/cache.ts';

const dirs: string[] = [];
async function tempCache(): Promise<ObjectCache> {
  const d = await mkdtemp(path.join(tmpdir(), 'cityflow-s3cache-'));
  dirs.push(d);
  return new ObjectCache(d);
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('key refusals', () => {
  const escaping: Array<[string, string]> = [
    ['../etc/passwd', '".." segment'],
    ['raw/../../etc/passwd', '".." segment'],
    ['raw/api/..', '".." segment'],
    ['/etc/passwd', 'is absolute'],
    ['raw\\..\\..\\win.ini', 'backslash'],
    ['raw/%2e%2e/%2e%2e/etc/passwd', 'URL-encoded'],
    ['raw/%2E%2E/x', 'URL-encoded'],
    ['raw%2f..%2fx', 'URL-encoded'],
    ['raw/..%2F..%2Fx', 'URL-encoded'],
    ['raw%5c..%5cx', 'URL-encoded'],
    ['raw/%00.json', 'URL-encoded'],
    ['raw/a\0b.json', 'NUL'],
    ['C:/Windows/x', 'drive letter'],
    ['raw//x.json', 'empty segment'],
    ['raw/./x.json', '"." segment'],
    ['', 'empty key'],
  ];
  it.each(escaping)('refuses %j (%s)', async (key, why) => {
    expect(() => assertSafeKey(key)).toThrow(UnsafeKeyError);
    expect(() => assertSafeKey(key)).toThrow(why);
    const cache = await tempCache();
    expect(() => cache.pathFor('bucket', key)).toThrow(/Refusing S3 key .* outside the cache directory/);
  });

  it('refuses an escaping bucket name too', async () => {
    const cache = await tempCache();
    expect(() => cache.pathFor('..', 'x.json')).toThrow(UnsafeKeyError);
  });

  it('accepts the real layout, including "=" and dots inside names', async () => {
    const cache = await tempCache();
    const key = 'cityflow-raw/raw/api/bikes/dt=2025-11-04/hour=02/bikes_data.json';
    expect(cache.pathFor('bkt', key)).toBe(path.join(cache.root, 'objects', 'bkt', key));
    expect(() => assertSafeKey('batch/comptages..csv')).not.toThrow();
    expect(() => assertSafeKey('a/...hidden')).not.toThrow();
  });
});

describe('layout and writes', () => {
  it('mirrors the key path, so same basenames in two hour= folders do not collide', async () => {
    const cache = await tempCache();
    const a = await cache.write(
      'b',
      'api/bikes/dt=2025-11-04/hour=01/bikes_data.json',
      Readable.from([Buffer.from('one')]),
      {
        etag: '"e1"',
        expectedSize: 3,
      },
    );
    const b = await cache.write(
      'b',
      'api/bikes/dt=2025-11-04/hour=02/bikes_data.json',
      Readable.from([Buffer.from('two!')]),
      {
        etag: '"e2"',
        expectedSize: 4,
      },
    );
    expect(a).not.toBe(b);
    expect(await readFile(a, 'utf8')).toBe('one');
    expect(await readFile(b, 'utf8')).toBe('two!');
    expect((await cache.readValid('b', 'api/bikes/dt=2025-11-04/hour=01/bikes_data.json'))?.etag).toBe(
      '"e1"',
    );
    expect((await cache.readValid('b', 'api/bikes/dt=2025-11-04/hour=02/bikes_data.json'))?.size).toBe(4);
    // Nothing left in the temp folder.
    expect(await readdir(path.join(cache.root, 'tmp'))).toEqual([]);
  });

  it('a short body never becomes a cache file (and the old good copy survives)', async () => {
    const cache = await tempCache();
    await cache.write('b', 'x.csv', Readable.from([Buffer.from('a;b\n1;2\n')]), {
      etag: '"old"',
      expectedSize: 8,
    });
    const short = Readable.from([Buffer.from('a;b\n')]); // 4 bytes of an announced 8
    await expect(cache.write('b', 'x.csv', short, { etag: '"new"', expectedSize: 8 })).rejects.toThrow(
      'got 4 bytes, expected 8',
    );
    expect(await readFile(cache.pathFor('b', 'x.csv'), 'utf8')).toBe('a;b\n1;2\n');
    // The sidecar of the old copy was removed before the attempt, so the file is no longer trusted.
    expect(await cache.readValid('b', 'x.csv')).toBeNull();
    expect(await readdir(path.join(cache.root, 'tmp'))).toEqual([]);
  });

  it('a body whose stream fails midway leaves no file', async () => {
    const cache = await tempCache();
    const failing = new Readable({
      read() {
        this.push(Buffer.from('partial'));
        this.destroy(new Error('socket hang up'));
      },
    });
    await expect(cache.write('b', 'y.json', failing, { etag: '"e"', expectedSize: 100 })).rejects.toThrow(
      'socket hang up',
    );
    await expect(readFile(cache.pathFor('b', 'y.json'))).rejects.toThrow(/ENOENT/);
    expect(await readdir(path.join(cache.root, 'tmp'))).toEqual([]);
  });

  it('a cached file edited locally (size differs from the sidecar) is not trusted', async () => {
    const cache = await tempCache();
    const p = await cache.write('b', 'z.json', Readable.from([Buffer.from('{"a":1}')]), {
      etag: '"e"',
      expectedSize: 7,
    });
    expect(await cache.readValid('b', 'z.json')).not.toBeNull();
    await writeFile(p, '{"a":12}');
    expect(await cache.readValid('b', 'z.json')).toBeNull();
  });

  it('a cached file altered in place to the same size is not trusted; touched but intact it is', async () => {
    const cache = await tempCache();
    const p = await cache.write('b', 'same.json', Readable.from([Buffer.from('{"a":1}')]), {
      etag: '"e"',
      expectedSize: 7,
    });
    // Same bytes rewritten (mtime moves): hashed again, still valid, and the fast path is refreshed.
    await writeFile(p, '{"a":1}');
    expect(await cache.readValid('b', 'same.json')).toMatchObject({ etag: '"e"', size: 7 });
    // Same size, other content, even with the old mtime put back: a miss (downloaded again).
    const before = await stat(p);
    await writeFile(p, '{"a":9}');
    await utimes(p, before.atime, new Date(before.mtimeMs - 5000));
    expect(await cache.readValid('b', 'same.json')).toBeNull();
  });

  it('a cached file altered in place with its size and exact mtime kept is not trusted (its ctime moved)', async () => {
    const cache = await tempCache();
    const p = await cache.write('b', 'kept.json', Readable.from([Buffer.from('{"a":1}')]), {
      etag: '"e"',
      expectedSize: 7,
    });
    // A whole-millisecond mtime (Node sets times in ms), verified and recorded by a first read.
    const old = new Date(Date.now() - 60_000);
    await utimes(p, old, old);
    expect(await cache.readValid('b', 'kept.json')).not.toBeNull();
    const before = await stat(p);
    await new Promise((r) => setTimeout(r, 20)); // past the kernel's timestamp tick
    await writeFile(p, '{"a":9}');
    await utimes(p, old, old);
    const after = await stat(p);
    expect([after.size, after.mtimeMs, after.ino]).toEqual([before.size, before.mtimeMs, before.ino]);
    expect(await cache.readValid('b', 'kept.json')).toBeNull();
  });

  it('a sidecar from an older version (no digest) is a miss', async () => {
    const cache = await tempCache();
    await cache.write('b', 'old.json', Readable.from([Buffer.from('{}')]), { etag: '"e"', expectedSize: 2 });
    const metaPath = path.join(cache.root, 'meta', 'b', 'old.json.json');
    const {
      sha256: _sha,
      mtimeMs: _m,
      ctimeMs: _c,
      ino: _i,
      ...older
    } = JSON.parse(await readFile(metaPath, 'utf8'));
    await writeFile(metaPath, JSON.stringify(older));
    expect(await cache.readValid('b', 'old.json')).toBeNull();
  });
});

describe('prune (least recently used first, within a byte budget)', () => {
  const put = (cache: ObjectCache, key: string, bytes: number) =>
    cache.write('b', key, Readable.from([Buffer.alloc(bytes, 120)]), { etag: '"e"', expectedSize: bytes });
  const lastUse = async (cache: ObjectCache, key: string, ms: number) => {
    const t = new Date(ms);
    await utimes(path.join(cache.root, 'meta', 'b', `${key}.json`), t, t);
  };

  it('evicts the oldest-used objects until the bodies fit, and a cache hit counts as a use', async () => {
    const cache = await tempCache();
    const t0 = Date.parse('2025-11-01T00:00:00Z');
    // Four objects of 1,000 bytes, last used at t0 + 0 s, 1 s, 2 s, 3 s.
    for (const [i, key] of ['a/1', 'a/2', 'b/3', 'b/4'].entries()) {
      await put(cache, key, 1000);
      await lastUse(cache, key, t0 + i * 1000);
    }
    // Reading a/1 makes it the most recent (its sidecar mtime becomes now).
    expect(await cache.readValid('b', 'a/1')).not.toBeNull();
    // Budget 2,500 bytes: 4,000 → evict a/2 (t0+1 s) then b/3 (t0+2 s) → 2,000 bytes kept.
    const r = await cache.prune({ maxBytes: 2500 });
    expect(r).toEqual({ kept: 2, keptBytes: 2000, removed: 2, removedBytes: 2000, tmpRemoved: 0 });
    expect(await cache.readValid('b', 'a/2')).toBeNull();
    expect(await cache.readValid('b', 'b/3')).toBeNull();
    expect(await cache.readValid('b', 'a/1')).not.toBeNull();
    expect(await cache.readValid('b', 'b/4')).not.toBeNull();
    await expect(readFile(cache.pathFor('b', 'a/2'))).rejects.toThrow(/ENOENT/);
  });

  it('never evicts what the current run used, even over budget; removes temp files of killed runs', async () => {
    const cache = await tempCache();
    const runStart = Date.now() - 60_000;
    await put(cache, 'old', 500);
    await lastUse(cache, 'old', runStart - 3600_000);
    await put(cache, 'used-now', 800); // written by this run: mtime now
    await mkdir(path.join(cache.root, 'tmp'), { recursive: true });
    const stale = path.join(cache.root, 'tmp', 'killed.part');
    const fresh = path.join(cache.root, 'tmp', 'in-flight.part');
    await writeFile(stale, 'x');
    await writeFile(fresh, 'y');
    const twoHoursAgo = new Date(Date.now() - 7200_000);
    await utimes(stale, twoHoursAgo, twoHoursAgo);
    const r = await cache.prune({ maxBytes: 100, protectSince: runStart });
    // 1,300 > 100: 'old' goes; 'used-now' is protected, so 800 bytes stay over the budget.
    expect(r).toEqual({ kept: 1, keptBytes: 800, removed: 1, removedBytes: 500, tmpRemoved: 1 });
    expect(await readdir(path.join(cache.root, 'tmp'))).toEqual(['in-flight.part']);
    expect(await cache.readValid('b', 'used-now')).not.toBeNull();
  });
});
