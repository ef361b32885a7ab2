/**
 * S3 cold download of 100 objects: sequential (concurrency 1) vs parallel (p-limit), then a warm pass
 * that must transfer 0 bodies. Starts its own Ceph RADOS Gateway on 127.0.0.1 (like the tests).
 * Two network settings, same gateway and objects:
 *   - loopback: no latency at all; gateway and client share the same cores, so this is CPU-bound;
 *   - simulated latency: the same gateway behind bench/latency-proxy.ts, LATENCY_MS one way per chunk
 *     (5 ms → 10 ms round trip, a client in the same region as its bucket sees 10–30 ms to first byte).
 * Run: npx tsx bench/s3-download.ts   (OBJECTS=100 SIZE_KB=256 LATENCY_MS=5 CONCURRENCY=8,16,32 by default)
 */
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { ObjectCache } from '../io-managers/s3/cache.ts';
import { createS3Client } from '../io-managers/s3/client.ts';
import { DEFAULT_DOWNLOAD_CONCURRENCY, downloadPrefix } from '../io-managers/s3/objects.ts';
import { startCeph } from '../test/servers/ceph.ts';
import { startLatencyProxy } from './latency-proxy.ts';

const OBJECTS = Number(process.env.OBJECTS ?? 100);
const SIZE = Number(process.env.SIZE_KB ?? 256) * 1024;
const LATENCY_MS = Number(process.env.LATENCY_MS ?? 5);
const CONCURRENCIES = (process.env.CONCURRENCY ?? '8,16,32').split(',').map(Number);

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const ceph = await startCeph();
const dir = await mkdtemp(join(tmpdir(), 'cityflow-s3bench-'));
// us-east-1 for CreateBucket: the gateway refuses other location constraints.
const clientFor = (endpoint: string, region = 'eu-west-3'): S3Client =>
  createS3Client({
    region,
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey },
  });
try {
  const admin = clientFor(ceph.endpoint, 'us-east-1');
  await admin.send(new CreateBucketCommand({ Bucket: 'bench' }));
  const body = randomBytes(SIZE);
  await pLimit(8).map(
    Array.from({ length: OBJECTS }, (_, i) => i),
    (i) =>
      admin.send(
        new PutObjectCommand({
          Bucket: 'bench',
          Key: `raw/api/bikes/dt=2025-11-04/hour=${String(i).padStart(3, '0')}/b.json`,
          Body: body,
        }),
      ),
  );
  admin.destroy();

  let run = 0;
  /** One pass with a fresh client (no warm sockets carried over from the previous pass). */
  const time = async (label: string, endpoint: string, cacheDir: string, concurrency: number) => {
    const client = clientFor(endpoint);
    const t0 = performance.now();
    const got = await downloadPrefix(client, new ObjectCache(cacheDir), 'bench', 'raw/', { concurrency });
    const ms = performance.now() - t0;
    client.destroy();
    const transferred = got.filter((o) => o.transferred).length;
    console.log(
      `  ${label.padEnd(26)} ${ms.toFixed(0).padStart(6)} ms  ${got.length} objects, ${transferred} bodies transferred`,
    );
    return ms;
  };
  const passes = async (network: string, endpoint: string): Promise<void> => {
    console.log(`${network} (load ${load()})`);
    const seq = await time('cold, sequential (1)', endpoint, join(dir, `${++run}`), 1);
    for (const c of CONCURRENCIES) {
      const cache = join(dir, `${++run}`);
      const par = await time(
        `cold, parallel (${c}${c === DEFAULT_DOWNLOAD_CONCURRENCY ? ', default' : ''})`,
        endpoint,
        cache,
        c,
      );
      console.log(`  → speed-up ${(seq / par).toFixed(1)}× (target ≥ 4×)`);
      await time(`warm, same cache (${c})`, endpoint, cache, c);
    }
  };

  console.log(`${OBJECTS} objects × ${SIZE / 1024} KB, Ceph RGW on 127.0.0.1`);
  await passes('loopback, no latency', ceph.endpoint);
  const url = new URL(ceph.endpoint);
  const proxy = await startLatencyProxy({
    targetHost: url.hostname,
    targetPort: Number(url.port),
    oneWayMs: LATENCY_MS,
  });
  try {
    await passes(`simulated latency ${LATENCY_MS} ms one way (${2 * LATENCY_MS} ms RTT)`, proxy.url);
  } finally {
    await proxy.close();
  }
} finally {
  await ceph.stop();
  await rm(dir, { recursive: true, force: true });
}
