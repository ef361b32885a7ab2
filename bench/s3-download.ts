/**
 * S3 cold download of 100 objects: sequential (concurrency 1) vs parallel (p-limit, default 8), then a
 * warm pass that must transfer 0 bodies. Starts its own Ceph RADOS Gateway on 127.0.0.1 (like the tests).
 * Run: npx tsx bench/s3-download.ts   (OBJECTS=100 SIZE_KB=256 by default)
 */
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { ObjectCache } from '../io-managers/s3/cache.ts';
import { createS3Client } from '../io-managers/s3/client.ts';
import { downloadPrefix } from '../io-managers/s3/objects.ts';
import { startCeph } from '../test/servers/ceph.ts';

const OBJECTS = Number(process.env.OBJECTS ?? 100);
const SIZE = Number(process.env.SIZE_KB ?? 256) * 1024;

const ceph = await startCeph();
const dir = await mkdtemp(join(tmpdir(), 'cityflow-s3bench-'));
try {
  const creds = { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey };
  const admin = createS3Client({
    region: 'us-east-1',
    endpoint: ceph.endpoint,
    forcePathStyle: true,
    credentials: creds,
  });
  await admin.send(new CreateBucketCommand({ Bucket: 'bench' }));
  admin.destroy();
  const client = createS3Client({
    region: 'eu-west-3',
    endpoint: ceph.endpoint,
    forcePathStyle: true,
    credentials: creds,
  });
  const body = randomBytes(SIZE);
  await pLimit(8).map(
    Array.from({ length: OBJECTS }, (_, i) => i),
    (i) =>
      client.send(
        new PutObjectCommand({
          Bucket: 'bench',
          Key: `raw/api/bikes/dt=2025-11-04/hour=${String(i).padStart(3, '0')}/b.json`,
          Body: body,
        }),
      ),
  );
  const time = async (label: string, cacheDir: string, concurrency?: number) => {
    const t0 = performance.now();
    const got = await downloadPrefix(client, new ObjectCache(cacheDir), 'bench', 'raw/', { concurrency });
    const ms = performance.now() - t0;
    const transferred = got.filter((o) => o.transferred).length;
    console.log(
      `${label.padEnd(28)} ${ms.toFixed(0).padStart(6)} ms  ${got.length} objects, ${transferred} bodies transferred`,
    );
    return ms;
  };
  const seq = await time('cold, sequential (1)', join(dir, 'seq'), 1);
  const par = await time('cold, parallel (default 8)', join(dir, 'par'));
  await time('warm, same cache', join(dir, 'par'));
  console.log(
    `speed-up parallel vs sequential: ${(seq / par).toFixed(1)}× (target ≥ 4×) · ${OBJECTS} × ${SIZE / 1024} KB`,
  );
  client.destroy();
} finally {
  await ceph.stop();
  await rm(dir, { recursive: true, force: true });
}
