/**
 * Batch-write speed on the local test servers (started and stopped here):
 *   npx tsx bench/db-writes.ts [items]
 * DynamoDB: BatchWriteItem in 25-item batches with 8 in flight vs one PutItem per item.
 * MongoDB: unordered bulkWrite upserts of 1,000 with 4 in flight vs one updateOne upsert per item.
 * Items are arc-metric-sized rows (~600 bytes). Prints items/s and the speed-up.
 */
import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { batchWriteAll } from '../io-managers/dynamodb/batch.ts';
import { DynamoDbIOManager } from '../io-managers/dynamodb/dynamodb-io-manager.ts';
import { bulkUpsertByKeys, upsertOperation } from '../io-managers/mongodb/bulk.ts';
import { MongoDbIOManager } from '../io-managers/mongodb/mongodb-io-manager.ts';
import { largeArcMetrics } from '../test/contract/io-manager-contract.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoLocal } from '../test/servers/dynamodb.ts';
import { startMongo } from '../test/servers/mongo.ts';

const N = Number(process.argv[2] ?? 3400);
const rows = largeArcMetrics(N).map((r) => ({
  ...r,
  identifiant_arc: String(r.identifiant_arc),
  date: '2025-11-04',
}));

async function timed(label: string, n: number, fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  const s = (performance.now() - t0) / 1000;
  const rate = n / s;
  console.log(
    `${label.padEnd(48)} ${String(n).padStart(6)} items  ${s.toFixed(2).padStart(7)} s  ${rate.toFixed(0).padStart(7)} items/s`,
  );
  return rate;
}

async function benchDynamo(): Promise<void> {
  const server = await startDynamoLocal();
  const table = `bench-${randomUUID().slice(0, 8)}`;
  const m = new DynamoDbIOManager({
    endpoint: server.endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    metricsTable: table,
    reportsTable: `${table}-reports`,
  });
  try {
    await m.ensureTables();
    const item = (r: (typeof rows)[number], run: string) => ({
      ...r,
      metric_type: `arc#${run}#${r.identifiant_arc}`,
    });
    // Warm the JVM up first, so neither variant pays for JIT compilation.
    await batchWriteAll(
      m.doc,
      table,
      rows.map((r) => ({ PutRequest: { Item: item(r, 'warmup') } })),
      { concurrency: 8 },
    );
    const single = await timed('DynamoDB one PutItem per item', N, async () => {
      for (const r of rows) await m.doc.send(new PutCommand({ TableName: table, Item: item(r, 'single') }));
    });
    const batched = await timed('DynamoDB BatchWriteItem 25/batch, 8 in flight', N, async () => {
      await batchWriteAll(
        m.doc,
        table,
        rows.map((r) => ({ PutRequest: { Item: item(r, 'batch') } })),
        { concurrency: 8 },
      );
    });
    console.log(`DynamoDB speed-up: ${(batched / single).toFixed(1)}x\n`);
  } finally {
    await m.close();
    await server.stop();
  }
}

async function benchMongo(): Promise<void> {
  const server = await startMongo();
  const m = new MongoDbIOManager({ url: server.url, database: `bench_${randomUUID().slice(0, 8)}` });
  try {
    // Each variant upserts N new keys into its own empty collection (CongoDB's cost grows with size).
    const collFor = async (name: string) => {
      const c = m.client.db(m.databaseName).collection(name);
      await c.createIndex({ identifiant_arc: 1, date: 1, run: 1 }, { unique: true });
      return c;
    };
    const coll = await collFor('arc_rows_single');
    const bulkColl = await collFor('arc_rows_bulk');
    const now = new Date();
    const single = await timed(`MongoDB (${server.kind}) one updateOne upsert per item`, N, async () => {
      for (const r of rows) {
        const op = upsertOperation({ ...r, run: 'single' }, ['identifiant_arc', 'date', 'run'], now);
        if ('updateOne' in op)
          await coll.updateOne(op.updateOne.filter, op.updateOne.update, { upsert: true });
      }
    });
    const batched = await timed(`MongoDB (${server.kind}) bulkWrite 1000/batch, 4 in flight`, N, async () => {
      await bulkUpsertByKeys(
        bulkColl,
        rows.map((r) => ({ ...r, run: 'batch' })),
        ['identifiant_arc', 'date', 'run'],
      );
    });
    console.log(`MongoDB speed-up: ${(batched / single).toFixed(1)}x`);
  } finally {
    await m.client
      .db(m.databaseName)
      .dropDatabase()
      .catch(() => {});
    await m.close();
    await server.stop();
  }
}

await benchDynamo();
await benchMongo();
