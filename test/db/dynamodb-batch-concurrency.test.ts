import { randomUUID } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchWriteAll, DEFAULT_BATCH_CONCURRENCY } from '../../io-managers/dynamodb/batch.ts';
import { DynamoDbIOManager } from '../../io-managers/dynamodb/dynamodb-io-manager.ts';
import { dynamoForTests, LOCAL_CREDENTIALS, LOCAL_REGION, type TestServer } from './servers.ts';
import { countInFlight } from '../servers/in-flight.ts';

let server: TestServer;
let m: DynamoDbIOManager;
const suffix = randomUUID().slice(0, 8);
const table = `t-conc-${suffix}`;

beforeAll(async () => {
  server = await dynamoForTests();
  m = new DynamoDbIOManager({
    endpoint: server.address,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    metricsTable: table,
    reportsTable: `${table}-reports`,
  });
  await m.ensureTables();
});

afterAll(async () => {
  await m?.close();
  await server?.stop();
});

describe('batchWriteAll concurrency', () => {
  it(`keeps DEFAULT_BATCH_CONCURRENCY (${DEFAULT_BATCH_CONCURRENCY}) BatchWriteItem requests in flight by default`, async () => {
    const inFlight = countInFlight(m.client, 'BatchWriteItemCommand');
    // 500 items = 20 batches of 25: more batches than the default allows at once.
    const items = Array.from({ length: 500 }, (_, i) => ({
      PutRequest: { Item: { metric_type: `conc_${suffix}`, date: `d${String(i).padStart(3, '0')}`, n: i } },
    }));
    const stats = await batchWriteAll(m.doc, table, items);
    expect(DEFAULT_BATCH_CONCURRENCY).toBe(8);
    expect(inFlight.peak).toBe(DEFAULT_BATCH_CONCURRENCY);
    expect(stats).toEqual({ items: 500, requests: 20, retries: 0 });
    const out = await m.doc.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'metric_type = :pk',
        ExpressionAttributeValues: { ':pk': `conc_${suffix}` },
        Select: 'COUNT',
      }),
    );
    expect(out.Count).toBe(500);
  });
});
