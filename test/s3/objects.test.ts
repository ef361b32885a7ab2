/** Listing, downloading into the cache and JSON loading against a real Ceph RADOS Gateway. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectCache, UnsafeKeyError } from '../../io-managers/s3/cache.ts';
import {
  downloadPrefix,
  downloadToCache,
  listFolderNames,
  listKeys,
  listObjects,
  loadJson,
} from '../../io-managers/s3/objects.ts';
import { countCommands, freshBucket, put, s3SkipReason, testClient } from './helpers.ts';

const skip = s3SkipReason();

describe.skipIf(skip !== '')(`S3 objects on Ceph RGW${skip ? ` — SKIPPED: ${skip}` : ''}`, () => {
  let client: S3Client;
  let counter: ReturnType<typeof countCommands>;
  let bucket: string;
  let cacheDir: string;
  let cache: ObjectCache;

  beforeAll(async () => {
    client = testClient();
    counter = countCommands(client);
    bucket = await freshBucket(client, 'objects');
    cacheDir = await mkdtemp(path.join(tmpdir(), 'cityflow-s3-objects-'));
    cache = new ObjectCache(cacheDir);
  });
  afterAll(async () => {
    client?.destroy();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  it('lists past 1,000 keys (1,100 objects → 2 pages) and filters by extension', async () => {
    const limit = pLimit(32);
    // 1,100 objects: 1,000 .json + 100 .csv (every 11th index), bodies of 1–4 bytes.
    await Promise.all(
      Array.from({ length: 1100 }, (_, i) =>
        limit(() =>
          put(
            client,
            bucket,
            `many/f${String(i).padStart(4, '0')}.${i % 11 === 0 ? 'csv' : 'json'}`,
            String(i),
          ),
        ),
      ),
    );
    counter.reset();
    const keys = await listKeys(client, bucket, 'many/');
    expect(keys).toHaveLength(1100);
    expect(keys[0]).toBe('many/f0000.csv');
    expect(keys[1099]).toBe('many/f1099.json');
    expect(counter.counts.ListObjectsV2Command).toBe(2); // 1,000 per page by default
    // i % 11 === 0 for i in 0..1099 → 100 CSV files.
    expect(await listKeys(client, bucket, 'many/', { extensions: ['.CSV'] })).toHaveLength(100);
    const objs = await listObjects(client, bucket, 'many/', { extensions: ['.json'] });
    expect(objs).toHaveLength(1000);
    // "1" is 1 byte, its ETag is MD5("1") = c4ca4238a0b923820dcc509a6f75849b.
    expect(objs.find((o) => o.key === 'many/f0001.json')).toEqual({
      key: 'many/f0001.json',
      size: 1,
      etag: '"c4ca4238a0b923820dcc509a6f75849b"',
    });
  });

  it('lists folders (CommonPrefixes) with and without a trailing slash', async () => {
    for (const d of ['2025-11-03', '2025-11-04'])
      for (const h of ['01', '02'])
        await put(client, bucket, `api/bikes/dt=${d}/hour=${h}/bikes_data.json`, '{}');
    expect(await listFolderNames(client, bucket, 'api/bikes')).toEqual(['dt=2025-11-03', 'dt=2025-11-04']);
    expect(await listFolderNames(client, bucket, 'api/bikes/dt=2025-11-04/')).toEqual(['hour=01', 'hour=02']);
    expect(await listFolderNames(client, bucket, 'api/nothing')).toEqual([]);
  });

  it('loads JSON straight from the stream', async () => {
    await put(client, bucket, 'doc/report.json', JSON.stringify({ libelle: 'Périphérique', n: [1, 2.5] }));
    expect(await loadJson(client, bucket, 'doc/report.json')).toEqual({
      libelle: 'Périphérique',
      n: [1, 2.5],
    });
    await put(client, bucket, 'doc/broken.json', '{"a":');
    await expect(loadJson(client, bucket, 'doc/broken.json')).rejects.toThrow('is not valid JSON');
  });

  it('reuses the cache: by listed ETag (no request) or by conditional GET (304), re-downloads a changed object', async () => {
    const key = 'cache/dt=2025-11-04/hour=02/weather_data.json';
    await put(client, bucket, key, '{"t":12.5}');
    counter.reset();
    const first = await downloadToCache(client, cache, bucket, key);
    expect(first.transferred).toBe(true);
    expect(first.path).toBe(path.join(cacheDir, 'objects', bucket, key));
    expect(await readFile(first.path, 'utf8')).toBe('{"t":12.5}');
    expect(counter.counts.GetObjectCommand).toBe(1);

    // Known ETag + size from a listing match the sidecar: no request at all.
    counter.reset();
    const byListing = await downloadToCache(client, cache, bucket, key, {
      known: { etag: first.etag, size: 10 },
    });
    expect(byListing.transferred).toBe(false);
    expect(counter.counts).toEqual({});

    // Without listing info: one conditional GET answered 304 Not Modified, no body.
    const conditional = await downloadToCache(client, cache, bucket, key);
    expect(conditional.transferred).toBe(false);
    expect(counter.counts).toEqual({ GetObjectCommand: 1 });

    // Changed remotely (same size, other bytes): the conditional GET returns 200 and replaces the file.
    await put(client, bucket, key, '{"t":13.0}');
    const changed = await downloadToCache(client, cache, bucket, key);
    expect(changed.transferred).toBe(true);
    expect(changed.etag).not.toBe(first.etag);
    expect(await readFile(changed.path, 'utf8')).toBe('{"t":13.0}');
    expect((await cache.readValid(bucket, key))?.etag).toBe(changed.etag);
  });

  it('downloads a prefix in parallel with an extension filter, then reuses every file', async () => {
    for (let h = 0; h < 24; h++) {
      const hh = String(h).padStart(2, '0');
      await put(client, bucket, `day/hour=${hh}/bikes_data.json`, JSON.stringify({ h }));
      await put(client, bucket, `day/hour=${hh}/notes.txt`, 'ignored');
    }
    counter.reset();
    const got = await downloadPrefix(client, cache, bucket, 'day/', {
      extensions: ['.json'],
      concurrency: 6,
    });
    expect(got).toHaveLength(24);
    expect(got.every((o) => o.transferred)).toBe(true);
    expect(counter.counts.GetObjectCommand).toBe(24);
    // Same basename in 24 hour= folders → 24 distinct files.
    expect(new Set(got.map((o) => o.path)).size).toBe(24);
    expect(JSON.parse(await readFile(got[13]!.path, 'utf8'))).toEqual({ h: 13 });

    counter.reset();
    const again = await downloadPrefix(client, cache, bucket, 'day/', { extensions: ['.json'] });
    expect(again.every((o) => !o.transferred)).toBe(true);
    expect(counter.counts).toEqual({ ListObjectsV2Command: 1 });
  });

  it('a truncated body (fault injected below the SDK parser) never becomes a cache file', async () => {
    const key = 'short/data.csv';
    await put(client, bucket, key, 'a;b\n1;2\n3;4\n'); // 12 bytes
    const faulty = testClient({ maxAttempts: 1 });
    // Lowest-priority deserialize middleware sees the raw HTTP response before the SDK parses it:
    // keep Content-Length (12) but deliver only the first 7 bytes, like a connection cut short.
    faulty.middlewareStack.add(
      (next) => async (args) => {
        const out = await next(args);
        const res = out.response as { body: Readable };
        const chunks: Buffer[] = [];
        for await (const c of res.body) chunks.push(c as Buffer);
        res.body = Readable.from([Buffer.concat(chunks).subarray(0, 7)]);
        return out;
      },
      { step: 'deserialize', priority: 'low', name: 'truncateBody' },
    );
    await expect(downloadToCache(faulty, cache, bucket, key)).rejects.toThrow('got 7 bytes, expected 12');
    await expect(readFile(cache.pathFor(bucket, key))).rejects.toThrow(/ENOENT/);
    expect(await cache.readValid(bucket, key)).toBeNull();
    faulty.destroy();
    // The healthy client then caches the full body.
    const ok = await downloadToCache(client, cache, bucket, key);
    expect(await readFile(ok.path, 'utf8')).toBe('a;b\n1;2\n3;4\n');
  });

  it('refuses a prefix holding an escaping key before downloading anything', async () => {
    await put(client, bucket, 'evil/ok.json', '{}');
    await put(client, bucket, 'evil/%2e%2e/%2e%2e/owned.json', '{}');
    counter.reset();
    await expect(downloadPrefix(client, cache, bucket, 'evil/')).rejects.toThrow(UnsafeKeyError);
    expect(counter.counts.GetObjectCommand).toBeUndefined();
    await expect(downloadToCache(client, cache, bucket, 'evil/../../x.json')).rejects.toThrow(
      /Refusing S3 key "evil\/..\/..\/x.json": contains a ".." segment/,
    );
  });
});
