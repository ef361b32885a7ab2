/** syncToS3 skip logic (single-part and multipart ETags) and the daily report layout, on Ceph RGW. */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listObjects } from '../../io-managers/s3/objects.ts';
import { reportObjectKey } from '../../assets/report/layout.ts';
import { s3Mirror } from '../../io-managers/s3/s3-mirror.ts';
import { expectedEtag, syncToS3, type SyncProgress } from '../../io-managers/s3/upload.ts';
import { bytes, countCommands, freshBucket, s3SkipReason, testClient } from './helpers.ts';

const skip = s3SkipReason();
const MiB = 1024 * 1024;

describe('expectedEtag (no server)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cityflow-etag-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('is the MD5 below the part size and md5(concat(part md5s))-N above', async () => {
    const file = path.join(dir, 'f.bin');
    const data = bytes(11 * MiB, 1);
    await writeFile(file, data);
    const md5 = (b: Buffer) => createHash('md5').update(b).digest();
    // Parts of 5 MiB: [0,5), [5,10), [10,11) MiB → 3 parts.
    const parts = [data.subarray(0, 5 * MiB), data.subarray(5 * MiB, 10 * MiB), data.subarray(10 * MiB)];
    const multi = `${createHash('md5')
      .update(Buffer.concat(parts.map(md5)))
      .digest('hex')}-3`;
    expect(await expectedEtag(file, data.length, 5 * MiB)).toBe(multi);
    expect(await expectedEtag(file, data.length, 16 * MiB)).toBe(md5(data).toString('hex'));
  });
});

describe.skipIf(skip !== '')(`syncToS3 and reports on Ceph RGW${skip ? ` — SKIPPED: ${skip}` : ''}`, () => {
  let client: S3Client;
  let counter: ReturnType<typeof countCommands>;
  let bucket: string;
  let dir: string;

  beforeAll(async () => {
    client = testClient();
    counter = countCommands(client);
    bucket = await freshBucket(client, 'upload');
    dir = await mkdtemp(path.join(tmpdir(), 'cityflow-sync-'));
    await mkdir(path.join(dir, 'api/bikes/dt=2025-11-04/hour=02'), { recursive: true });
    await mkdir(path.join(dir, 'batch'), { recursive: true });
    await writeFile(path.join(dir, 'api/bikes/dt=2025-11-04/hour=02/bikes_data.json'), '{"n":1}');
    await writeFile(path.join(dir, 'batch/chantiers.csv'), 'a;b\n1;2\n');
    await writeFile(path.join(dir, 'batch/big.bin'), bytes(11 * MiB, 7));
  });
  afterAll(async () => {
    client?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const opts = { partSize: 5 * MiB };
  const bigSize = 11 * MiB;

  it('dry run counts without uploading', async () => {
    const r = await syncToS3(dir, client, bucket, 'raw', { ...opts, dryRun: true });
    // 7 + 8 bytes + 11 MiB.
    expect(r).toEqual({ uploaded: 3, skipped: 0, bytes: 15 + bigSize });
    expect(await listObjects(client, bucket, 'raw/')).toEqual([]);
  });

  it('uploads everything once (the big file as 3 parts), then skips everything', async () => {
    const events: SyncProgress[] = [];
    const r1 = await syncToS3(dir, client, bucket, 'raw', { ...opts, onProgress: (e) => events.push(e) });
    expect(r1).toEqual({ uploaded: 3, skipped: 0, bytes: 15 + bigSize });
    expect(events.map((e) => [e.key, e.action, e.reason]).sort()).toEqual([
      ['raw/api/bikes/dt=2025-11-04/hour=02/bikes_data.json', 'upload', 'new'],
      ['raw/batch/big.bin', 'upload', 'new'],
      ['raw/batch/chantiers.csv', 'upload', 'new'],
    ]);
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'raw/batch/big.bin' }));
    expect(head.ETag).toMatch(/^"[0-9a-f]{32}-3"$/);
    expect(head.ETag).toBe(`"${await expectedEtag(path.join(dir, 'batch/big.bin'), bigSize, 5 * MiB)}"`);
    const body = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'raw/batch/chantiers.csv' }));
    expect(await body.Body?.transformToString()).toBe('a;b\n1;2\n');

    counter.reset();
    const r2 = await syncToS3(dir, client, bucket, 'raw', opts);
    expect(r2).toEqual({ uploaded: 0, skipped: 3, bytes: 0 });
    expect(counter.counts).toEqual({ ListObjectsV2Command: 1 });
  });

  it('re-uploads a file whose content changed at the same size (ETag differs) or whose size changed', async () => {
    await writeFile(path.join(dir, 'batch/chantiers.csv'), 'a;b\n3;4\n'); // same 8 bytes
    await writeFile(path.join(dir, 'api/bikes/dt=2025-11-04/hour=02/bikes_data.json'), '{"n":10}');
    const events: SyncProgress[] = [];
    const r = await syncToS3(dir, client, bucket, 'raw', { ...opts, onProgress: (e) => events.push(e) });
    expect(r).toEqual({ uploaded: 2, skipped: 1, bytes: 16 });
    expect(Object.fromEntries(events.map((e) => [e.key, e.reason]))).toEqual({
      'raw/api/bikes/dt=2025-11-04/hour=02/bikes_data.json': 'size differs',
      'raw/batch/big.bin': 'same size and etag',
      'raw/batch/chantiers.csv': 'etag differs',
    });
  });

  it('uploads a file linked into the folder (content under the link name); a dangling link is named', async () => {
    const linked = await mkdtemp(path.join(tmpdir(), 'cityflow-sync-links-'));
    try {
      await mkdir(path.join(linked, 'data/batch'), { recursive: true });
      await writeFile(path.join(linked, 'export.csv'), 'x;y\n5;6\n');
      await symlink(path.join(linked, 'export.csv'), path.join(linked, 'data/batch/comptages.csv'));
      const r = await syncToS3(path.join(linked, 'data'), client, bucket, 'linked', opts);
      expect(r).toEqual({ uploaded: 1, skipped: 0, bytes: 8 });
      const body = await client.send(
        new GetObjectCommand({ Bucket: bucket, Key: 'linked/batch/comptages.csv' }),
      );
      expect(await body.Body?.transformToString()).toBe('x;y\n5;6\n');
      await symlink(path.join(linked, 'gone.csv'), path.join(linked, 'data/batch/gone.csv'));
      await expect(syncToS3(path.join(linked, 'data'), client, bucket, 'linked', opts)).rejects.toThrow(
        /batch\/gone\.csv is a symbolic link to a missing file/,
      );
    } finally {
      await rm(linked, { recursive: true, force: true });
    }
  });

  it('publishes copies with s3Mirror at the Paris report keys <prefix>/<date>/daily_report.{json,csv}', async () => {
    const unit = { assetKey: 'daily_report', partitionKey: '2025-11-04' };
    const mirror = (ext: 'json' | 'csv', contentType?: string) =>
      s3Mirror({
        client,
        bucket,
        key: (ctx) => reportObjectKey('reports', ctx.partitionKey, ext),
        ...(contentType && { contentType }),
        what: 'the daily report',
      });
    const out = {
      json: await mirror('json')(unit, { date: '2025-11-04', bikes: { total: 12 } }),
      csv: await mirror('csv', 'text/csv; charset=utf-8')(unit, 'section;key;value\nbikes;total;12\n'),
    };
    expect(out.json).toBe(`s3://${bucket}/reports/2025-11-04/daily_report.json`);
    expect(out.csv).toBe(`s3://${bucket}/reports/2025-11-04/daily_report.csv`);
    const csv = await client.send(
      new GetObjectCommand({ Bucket: bucket, Key: 'reports/2025-11-04/daily_report.csv' }),
    );
    expect(csv.ContentType).toBe('text/csv; charset=utf-8');
    expect(await csv.Body?.transformToString()).toBe('section;key;value\nbikes;total;12\n');
    const json = await client.send(
      new GetObjectCommand({ Bucket: bucket, Key: 'reports/2025-11-04/daily_report.json' }),
    );
    expect(json.ContentType).toBe('application/json; charset=utf-8');
    const text = await json.Body?.transformToString();
    expect(text).toBe(JSON.stringify({ date: '2025-11-04', bikes: { total: 12 } }, null, 2) + '\n');
    expect(() => reportObjectKey('reports', '04/11/2025', 'csv')).toThrow('YYYY-MM-DD');
    expect(reportObjectKey('/reports/', '2025-11-04', 'json')).toBe('reports/2025-11-04/daily_report.json');
    expect(reportObjectKey('', '2025-11-04', 'csv')).toBe('2025-11-04/daily_report.csv');
  });
});
