/** How many GETs a prefix download keeps in flight by default, against a real Ceph RADOS Gateway. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectCache } from '../../io-managers/s3/cache.ts';
import { DEFAULT_DOWNLOAD_CONCURRENCY, downloadPrefix } from '../../io-managers/s3/objects.ts';
import { freshBucket, put, s3SkipReason, testClient } from './helpers.ts';
import { countInFlight } from '../servers/in-flight.ts';

const skip = s3SkipReason();

describe.skipIf(skip !== '')(`S3 download concurrency${skip ? ` — SKIPPED: ${skip}` : ''}`, () => {
  let client: S3Client;
  let bucket: string;
  let cacheDir: string;

  beforeAll(async () => {
    client = testClient();
    bucket = await freshBucket(client, 'concurrency');
    cacheDir = await mkdtemp(path.join(tmpdir(), 'cityflow-s3-conc-'));
  });
  afterAll(async () => {
    client?.destroy();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  it(`keeps DEFAULT_DOWNLOAD_CONCURRENCY (${DEFAULT_DOWNLOAD_CONCURRENCY}) GETs in flight, never more`, async () => {
    // 40 objects: more than the default allows at once.
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => put(client, bucket, `c/o${i}.json`, `{"i":${i}}`)),
    );
    const inFlight = countInFlight(client, 'GetObjectCommand');
    const got = await downloadPrefix(client, new ObjectCache(cacheDir), bucket, 'c/');
    expect(DEFAULT_DOWNLOAD_CONCURRENCY).toBe(16);
    expect(inFlight.peak).toBe(DEFAULT_DOWNLOAD_CONCURRENCY);
    expect(got.filter((o) => o.transferred)).toHaveLength(40);
  });

  it('concurrent readers of one object on a cold cache share one GET', async () => {
    await put(client, bucket, 'shared/batch.csv', 'a;b\n1;2\n');
    const cache = new ObjectCache(await mkdtemp(path.join(tmpdir(), 'cityflow-s3-shared-')));
    const fresh = testClient();
    const gets = countInFlight(fresh, 'GetObjectCommand');
    const all = await Promise.all(
      Array.from({ length: 10 }, () => downloadPrefix(fresh, cache, bucket, 'shared/')),
    );
    fresh.destroy();
    expect(gets.total).toBe(1);
    expect(new Set(all.map((got) => got[0]!.path)).size).toBe(1);
    await rm(cache.root, { recursive: true, force: true });
  });
});
