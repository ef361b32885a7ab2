import { randomUUID } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchWriteAll, DEFAULT_BATCH_CONCURRENCY } from '../../io-managers/dynamodb/batch.ts';
import { DynamoDbIOManager } from '../../io-managers/dynamodb/dynamodb-io-manager.ts';
import { dynamoForTests, LOCAL_CREDENTIALS, LOCAL_REGION, type TestServer } from './servers.ts';

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
    let inFlight = 0;
    let peak = 0;
    m.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'BatchWriteItemCommand') return next(args);
        inFlight++;
        peak = Math.max(peak, inFlight);
        try {
          // Hold each request a little so all allowed requests overlap even on a busy machine.
          await new Promise((r) => setTimeout(r, 20));
          return await next(args);
        } finally {
          inFlight--;
        }
      },
      { step: 'initialize', name: 'countInFlight' },
    );
    // 500 items = 20 batches of 25: more batches than the default allows at once.
    const items = Array.from({ length: 500 }, (_, i) => ({
      PutRequest: { Item: { metric_type: `conc_${suffix}`, date: `d${String(i).padStart(3, '0')}`, n: i } },
    }));
    const stats = await batchWriteAll(m.doc, table, items);
    expect(DEFAULT_BATCH_CONCURRENCY).toBe(8);
    expect(peak).toBe(DEFAULT_BATCH_CONCURRENCY);
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
