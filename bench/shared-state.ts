/**
 * The shared state on DynamoDB Local: the time to take a run's unit locks, flush N index records
 * (fenced transactions of ≤ 99 records), read them back (one Query per asset, paginated) and release,
 * for N = 100, 1,000 and 10,000 records (10 assets × N/10 partitions). Against the local index files
 * for comparison. Run: npx tsx bench/shared-state.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  acquireUnitLocks,
  LocalIndexBackend,
  unitSet,
  type AssetIndex,
  type IndexBackend,
} from '../engine/index.ts';
import { DynamoIndexBackend } from '../io-managers/dynamodb/index-backend.ts';
import { ensureStateTables } from '../io-managers/dynamodb/state-tables.ts';
import { DynamoUnitLocks } from '../io-managers/dynamodb/unit-locks.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoLocal } from '../test/servers/dynamodb.ts';

const server = await startDynamoLocal();
const client = new DynamoDBClient({
  endpoint: server.endpoint,
  region: LOCAL_REGION,
  credentials: LOCAL_CREDENTIALS,
});
const doc = DynamoDBDocumentClient.from(client, { unmarshallOptions: { wrapNumbers: (s) => Number(s) } });
await ensureStateTables(client, ['bench-index', 'bench-locks']);
const dir = await mkdtemp(join(tmpdir(), 'cityflow-bench-state-'));
const record = (i: number) => ({
  dataVersion: `sha256:${i.toString(16).padStart(64, '0')}`,
  codeVersion: 'mod:0123456789abcdef',
  inputVersions: { 'raw@2025-01-01': 'sha256:abc' },
  runId: '20260101T000000000Z-abcdef',
  at: '2026-01-01T00:00:00.000Z',
  metadata: { bytes: 1234, durationMs: 12, location: 's3://bucket/x/y.json', dataVersion: 'sha256:x' },
});
const ms = (t: number) => `${(performance.now() - t).toFixed(0)} ms`;

console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} (2 cores shared)`,
);
for (const n of [100, 1_000, 10_000]) {
  const assets = Array.from({ length: 10 }, (_, a) => `asset_${n}_${a}`);
  const changes = new Map<string, AssetIndex>(
    assets.map((a, ai) => [
      a,
      Object.fromEntries(
        Array.from({ length: n / 10 }, (_, p) => [`2025-${String(p).padStart(4, '0')}`, record(ai * n + p)]),
      ),
    ]),
  );
  const units = unitSet(
    [...changes].flatMap(([asset, recs]) => Object.keys(recs).map((partition) => ({ asset, partition }))),
  );
  const runId = `20260101T000000000Z-${n}`;

  const locks = new DynamoUnitLocks({ doc, table: 'bench-locks', leaseMs: 30_000 });
  const dyn: IndexBackend = new DynamoIndexBackend({ doc, table: 'bench-index', locksTable: 'bench-locks' });
  let t = performance.now();
  const release = await locks.acquire(runId, units, { onWait: () => {} });
  const tLock = ms(t);
  t = performance.now();
  await dyn.write(changes, release.fence);
  const tFlush = ms(t);
  t = performance.now();
  const back = await dyn.load(assets);
  const tLoad = ms(t);
  t = performance.now();
  await release();
  const tRelease = ms(t);
  if ([...back.values()].reduce((s, r) => s + Object.keys(r).length, 0) !== n)
    throw new Error('lost records');

  const local: IndexBackend = new LocalIndexBackend(dir);
  t = performance.now();
  const releaseLocal = await acquireUnitLocks(join(dir, 'locks'), runId, units, {
    what: 'unit locks',
    onWait: () => {},
  });
  const lLock = ms(t);
  t = performance.now();
  await local.write(changes);
  const lFlush = ms(t);
  t = performance.now();
  await local.load(assets);
  const lLoad = ms(t);
  await releaseLocal();
  console.log(
    `${String(n).padStart(6)} records: DynamoDB Local lock ${tLock} · flush ${tFlush} · load ${tLoad} · release ${tRelease}` +
      `   |   local files lock ${lLock} · flush ${lFlush} · load ${lLoad}`,
  );
}
client.destroy();
await server.stop();
await rm(dir, { recursive: true, force: true });
