/** S3SourceIO on a real Ceph RADOS Gateway: observe without bodies, cached resolve, folders, fallback. */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalSourceIO } from '../../io-managers/local-source.ts';
import { UnsafeKeyError } from '../../io-managers/s3/cache.ts';
import { createS3Client } from '../../io-managers/s3/client.ts';
import { S3SourceIO } from '../../io-managers/s3/s3-source.ts';
import { freePort } from '../servers/dynamodb.ts';
import { countCommands, freshBucket, put, s3SkipReason, testClient } from './helpers.ts';

const skip = s3SkipReason();
const tmpDirs: string[] = [];
const tempDir = async (label: string): Promise<string> => {
  const d = await mkdtemp(path.join(tmpdir(), `cityflow-${label}-`));
  tmpDirs.push(d);
  return d;
};
afterAll(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

const bikes = (dt: string, hour: string) => `api/bikes/dt=${dt}/hour=${hour}`;

describe.skipIf(skip !== '')(`S3SourceIO on Ceph RGW${skip ? ` — SKIPPED: ${skip}` : ''}`, () => {
  let client: S3Client;
  let counter: ReturnType<typeof countCommands>;
  let bucket: string;
  let source: S3SourceIO;
  let cacheDir: string;

  beforeAll(async () => {
    client = testClient();
    counter = countCommands(client);
    bucket = await freshBucket(client, 'source');
    cacheDir = await tempDir('s3-source-cache');
    source = new S3SourceIO({ client, bucket, prefix: 'cityflow-raw/raw', cacheDir, concurrency: 4 });
    for (const h of ['01', '02', '03'])
      await put(
        client,
        bucket,
        `cityflow-raw/raw/${bikes('2025-11-04', h)}/bikes_data.json`,
        `{"hour":"${h}"}`,
      );
    await put(client, bucket, `cityflow-raw/raw/${bikes('2025-11-04', '02')}/readme.txt`, 'not data');
    await put(
      client,
      bucket,
      `cityflow-raw/raw/${bikes('2025-11-03', '23')}/bikes_data.json`,
      '{"hour":"23"}',
    );
    await put(client, bucket, 'cityflow-raw/raw/batch/chantiers.csv', 'a;b\n1;2\n');
    // Outside the raw prefix: never listed.
    await put(client, bucket, 'elsewhere/api/bikes/x.json', '{}');
  });
  afterAll(() => client?.destroy());

  it('observe: a data version from ETags and sizes, without downloading any body', async () => {
    counter.reset();
    const loc = { prefix: 'api/bikes/dt=2025-11-04', recursive: true, match: /\.json$/ };
    const o1 = await source.observe(loc);
    // 3 hour files, each body `{"hour":"HH"}` = 13 bytes → 39 bytes.
    expect(o1.fileCount).toBe(3);
    expect(o1.bytes).toBe(39);
    expect(counter.counts).toEqual({ ListObjectsV2Command: 1 });
    expect(await source.observe(loc)).toEqual(o1);
    // Same size, other content → new ETag → new data version.
    await put(
      client,
      bucket,
      `cityflow-raw/raw/${bikes('2025-11-04', '03')}/bikes_data.json`,
      '{"hour":"3b"}',
    );
    const o2 = await source.observe(loc);
    expect(o2.bytes).toBe(o1.bytes);
    expect(o2.dataVersion).not.toBe(o1.dataVersion);
    expect(await source.observe({ prefix: 'api/weather' })).toEqual({
      dataVersion: 'empty',
      fileCount: 0,
      bytes: 0,
    });
  });

  it('resolve: local paths mirroring keys, origin s3://bucket/prefix; a second resolve transfers 0 bodies', async () => {
    const loc = { prefix: 'api/bikes/dt=2025-11-04', recursive: true, match: /^bikes_data\.json$/ };
    counter.reset();
    const set = await source.resolve(loc);
    expect(set.origin).toBe(`s3://${bucket}/cityflow-raw/raw`);
    expect(set.files.map((f) => f.key)).toEqual([
      `${bikes('2025-11-04', '01')}/bikes_data.json`,
      `${bikes('2025-11-04', '02')}/bikes_data.json`,
      `${bikes('2025-11-04', '03')}/bikes_data.json`,
    ]);
    expect(set.files[0]!.path).toBe(
      path.join(cacheDir, 'objects', bucket, 'cityflow-raw/raw', set.files[0]!.key),
    );
    expect(await readFile(set.files[2]!.path, 'utf8')).toBe('{"hour":"3b"}');
    expect(counter.counts.GetObjectCommand).toBe(3);

    counter.reset();
    const again = await source.resolve(loc);
    expect(again).toEqual(set);
    expect(counter.counts).toEqual({ ListObjectsV2Command: 1 }); // 0 GETs

    // One object changes: exactly that one is downloaded again.
    await put(
      client,
      bucket,
      `cityflow-raw/raw/${bikes('2025-11-04', '01')}/bikes_data.json`,
      '{"hour":"1b"}',
    );
    counter.reset();
    const third = await source.resolve(loc);
    expect(counter.counts.GetObjectCommand).toBe(1);
    expect(await readFile(third.files[0]!.path, 'utf8')).toBe('{"hour":"1b"}');
  });

  it('resolve: non-recursive lists only the folder itself', async () => {
    const set = await source.resolve({ prefix: 'batch' });
    expect(set.files.map((f) => [f.key, f.size])).toEqual([['batch/chantiers.csv', 8]]);
    expect(await source.resolve({ prefix: 'api/bikes' })).toEqual({
      files: [],
      origin: `s3://${bucket}/cityflow-raw/raw`,
    });
  });

  it('listFolders: dt= partitions and hour= folders', async () => {
    expect(await source.listFolders('api/bikes')).toEqual(['dt=2025-11-03', 'dt=2025-11-04']);
    expect(await source.listFolders('api/bikes/dt=2025-11-04/')).toEqual(['hour=01', 'hour=02', 'hour=03']);
    expect(await source.listFolders('')).toEqual(['api', 'batch']);
  });

  it('an escaping key is refused, not silently served (and never triggers the fallback)', async () => {
    const local = await tempDir('s3-source-local');
    const warnings: string[] = [];
    const guarded = new S3SourceIO({
      client,
      bucket,
      prefix: 'cityflow-raw/raw',
      cacheDir,
      fallback: new LocalSourceIO({ dataDir: local }),
      warn: (m) => warnings.push(m),
    });
    await put(client, bucket, 'cityflow-raw/raw/evil/%2e%2e/%2e%2e/%2e%2e/owned.json', '{}');
    await expect(guarded.resolve({ prefix: 'evil', recursive: true })).rejects.toThrow(UnsafeKeyError);
    expect(warnings).toEqual([]);
    expect(guarded.fallbackReason).toBeUndefined();
  });
});

describe('S3SourceIO fallback when S3 is unreachable (closed port, no server needed)', () => {
  it('warns once, serves the local files, and says so in the origin; never leaks credentials', async () => {
    const port = await freePort(); // bound then released: nothing listens there
    const secret = 'FAKE-SECRET-never-print-me';
    const client = createS3Client({
      region: 'eu-west-3',
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIAFAKEFALLBACK', secretAccessKey: secret },
    });
    const counter = countCommands(client);
    const dataDir = await tempDir('s3-fallback-data');
    const hourDir = path.join(dataDir, 'api/bikes/dt=2025-11-04/hour=02');
    await mkdir(hourDir, { recursive: true });
    await writeFile(path.join(hourDir, 'bikes_data.json'), '{"local":true}');
    const warnings: string[] = [];
    const source = new S3SourceIO({
      client,
      bucket: 'raw-bucket',
      prefix: 'raw',
      cacheDir: await tempDir('s3-fallback-cache'),
      fallback: new LocalSourceIO({ dataDir }),
      warn: (m) => warnings.push(m),
    });
    const loc = { prefix: 'api/bikes/dt=2025-11-04/hour=02' };
    const set = await source.resolve(loc);
    expect(set.files.map((f) => f.key)).toEqual(['api/bikes/dt=2025-11-04/hour=02/bikes_data.json']);
    expect(await readFile(set.files[0]!.path, 'utf8')).toBe('{"local":true}');
    expect(set.origin).toBe(`local:${dataDir} (fallback: S3 unreachable: ECONNREFUSED)`);
    // The client retried (4 attempts) inside one command before giving up.
    expect(counter.counts).toEqual({ ListObjectsV2Command: 1 });

    // Later calls go straight to the fallback: no new S3 request, no second warning.
    expect((await source.observe(loc)).fileCount).toBe(1);
    expect(await source.listFolders('api/bikes')).toEqual(['dt=2025-11-04']);
    expect((await source.resolve(loc)).origin).toContain('(fallback: S3 unreachable: ECONNREFUSED)');
    expect(counter.counts).toEqual({ ListObjectsV2Command: 1 });
    expect(warnings).toEqual([
      'S3 raw input s3://raw-bucket/raw failed after retries (S3 unreachable: ECONNREFUSED); ' +
        'reading raw files from local instead for the rest of this run',
    ]);
    expect(source.fallbackReason).toBe('S3 unreachable: ECONNREFUSED');
    expect(JSON.stringify({ warnings, set })).not.toContain(secret);
    client.destroy();
  });

  it('without a fallback the S3 error propagates', async () => {
    const port = await freePort();
    const client = createS3Client({
      region: 'eu-west-3',
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      maxAttempts: 1,
    });
    const source = new S3SourceIO({
      client,
      bucket: 'b-x',
      prefix: 'raw',
      cacheDir: await tempDir('s3-nofb'),
    });
    await expect(source.resolve({ prefix: 'api' })).rejects.toThrow(/ECONNREFUSED/);
    client.destroy();
  });
});
