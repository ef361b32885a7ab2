/** The cache's local rules, no server needed: key refusals, key-mirroring layout, atomic and verified writes. */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
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
});
