/**
 * Batch-write speed on the local test servers (started and stopped here):
 *   npm run bench:db [-- items]    (LATENCY_MS=2 DYNAMO_CONCURRENCY=4,8,16,32 by default)
 * DynamoDB: BatchWriteItem in 25-item batches with C in flight vs one PutItem per item.
 * MongoDB: unordered bulkWrite upserts of 1,000 with 4 in flight vs one updateOne upsert per item.
 * Items are arc-metric-sized rows (~600 bytes). Prints items/s and the speed-up.
 * Each comparison runs twice: on loopback (no latency at all) and through bench/latency-proxy.ts with
 * LATENCY_MS one way per chunk (2 ms → 4 ms round trip, a client in the same region as the database).
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { batchWriteAll, DEFAULT_BATCH_CONCURRENCY } from '../io-managers/dynamodb/batch.ts';
import { DynamoDbIOManager } from '../io-managers/dynamodb/dynamodb-io-manager.ts';
import { bulkUpsertByKeys, upsertOperation } from '../io-managers/mongodb/bulk.ts';
import { MongoDbIOManager } from '../io-managers/mongodb/mongodb-io-manager.ts';
import { largeArcMetrics } from '../test/contract/io-manager-contract.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoLocal } from '../test/servers/dynamodb.ts';
import { startMongo } from '../test/servers/mongo.ts';
import { startLatencyProxy, type LatencyProxy } from './latency-proxy.ts';

const N = Number(process.argv[2] ?? 3400);
const LATENCY_MS = Number(process.env.LATENCY_MS ?? 2);
const DYNAMO_CONCURRENCY = (process.env.DYNAMO_CONCURRENCY ?? '4,8,16,32').split(',').map(Number);
const rows = largeArcMetrics(N).map((r) => ({
  ...r,
  identifiant_arc: String(r.identifiant_arc),
  date: '2025-11-04',
}));

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

async function timed(label: string, n: number, fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  const s = (performance.now() - t0) / 1000;
  const rate = n / s;
  console.log(
    `  ${label.padEnd(46)} ${String(n).padStart(6)} items  ${s.toFixed(2).padStart(7)} s  ${rate.toFixed(0).padStart(7)} items/s`,
  );
  return rate;
}

/** Runs `pass` on loopback, then through a latency proxy in front of the same server. */
async function loopbackAndLatency(
  host: string,
  port: number,
  pass: (network: string, target: { host: string; port: number }) => Promise<void>,
): Promise<void> {
  await pass(`loopback, no latency (load ${load()})`, { host, port });
  let proxy: LatencyProxy | undefined;
  try {
    proxy = await startLatencyProxy({ targetHost: host, targetPort: port, oneWayMs: LATENCY_MS });
    await pass(
      `simulated latency ${LATENCY_MS} ms one way (${2 * LATENCY_MS} ms RTT) (load ${load()})`,
      proxy,
    );
  } finally {
    await proxy?.close();
  }
}

async function benchDynamo(): Promise<void> {
  const server = await startDynamoLocal();
  const table = `bench-${randomUUID().slice(0, 8)}`;
  const managerAt = (host: string, port: number) =>
    new DynamoDbIOManager({
      endpoint: `http://${host}:${port}`,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      metricsTable: table,
      reportsTable: `${table}-reports`,
    });
  const url = new URL(server.endpoint);
  const setup = managerAt(url.hostname, Number(url.port));
  try {
    await setup.ensureTables();
    const item = (r: (typeof rows)[number], run: string) => ({
      ...r,
      metric_type: `arc#${run}#${r.identifiant_arc}`,
    });
    // Warm the JVM up first, so no variant pays for JIT compilation.
    await batchWriteAll(
      setup.doc,
      table,
      rows.map((r) => ({ PutRequest: { Item: item(r, 'warmup') } })),
      { concurrency: 8 },
    );
    let run = 0;
    await loopbackAndLatency(url.hostname, Number(url.port), async (network, target) => {
      console.log(`DynamoDB Local, ${network}`);
      const m = managerAt(target.host, target.port);
      try {
        const r0 = `r${++run}`;
        const single = await timed('one PutItem per item', N, async () => {
          for (const r of rows) await m.doc.send(new PutCommand({ TableName: table, Item: item(r, r0) }));
        });
        for (const c of DYNAMO_CONCURRENCY) {
          const rc = `r${++run}`;
          const batched = await timed(
            `BatchWriteItem 25/batch, ${c} in flight${c === DEFAULT_BATCH_CONCURRENCY ? ' (default)' : ''}`,
            N,
            async () => {
              await batchWriteAll(
                m.doc,
                table,
                rows.map((r) => ({ PutRequest: { Item: item(r, rc) } })),
                { concurrency: c },
              );
            },
          );
          console.log(`  → speed-up ${(batched / single).toFixed(1)}× (target ≥ 10×)`);
        }
      } finally {
        await m.close();
      }
    });
  } finally {
    await setup.close();
    await server.stop();
  }
}

async function benchMongo(): Promise<void> {
  const server = await startMongo();
  const database = `bench_${randomUUID().slice(0, 8)}`;
  const url = new URL(server.url);
  let run = 0;
  try {
    await loopbackAndLatency(url.hostname, Number(url.port), async (network, target) => {
      console.log(`MongoDB (${server.kind}), ${network}`);
      const m = new MongoDbIOManager({
        url: `mongodb://${target.host}:${target.port}/?directConnection=true`,
        database,
      });
      try {
        // Each variant upserts N new keys into its own empty collection (CongoDB's cost grows with size).
        const collFor = async (name: string) => {
          const c = m.client.db(m.databaseName).collection(`${name}_${++run}`);
          await c.createIndex({ identifiant_arc: 1, date: 1, run: 1 }, { unique: true });
          return c;
        };
        const coll = await collFor('arc_rows_single');
        const bulkColl = await collFor('arc_rows_bulk');
        const now = new Date();
        const single = await timed('one updateOne upsert per item', N, async () => {
          for (const r of rows) {
            const op = upsertOperation({ ...r, run: 'single' }, ['identifiant_arc', 'date', 'run'], now);
            if ('updateOne' in op)
              await coll.updateOne(op.updateOne.filter, op.updateOne.update, { upsert: true });
          }
        });
        const batched = await timed('bulkWrite 1000/batch, 4 in flight', N, async () => {
          await bulkUpsertByKeys(
            bulkColl,
            rows.map((r) => ({ ...r, run: 'batch' })),
            ['identifiant_arc', 'date', 'run'],
          );
        });
        console.log(`  → speed-up ${(batched / single).toFixed(1)}× (target ≥ 10×)`);
      } finally {
        await m.close();
      }
    });
  } finally {
    const m = new MongoDbIOManager({ url: server.url, database });
    await m.client
      .db(database)
      .dropDatabase()
      .catch(() => {});
    await m.close();
    await server.stop();
  }
}

console.log(`${N} arc-metric rows per variant`);
if (process.env.ONLY !== 'mongo') await benchDynamo();
if (process.env.ONLY !== 'dynamo') await benchMongo();
