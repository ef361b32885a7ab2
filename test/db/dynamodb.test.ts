/**
 * DynamoDB IO manager against DynamoDB Local: the stored item layout, chunking limits, stale-chunk
 * cleanup, timestamps, refused values, and (by client middleware, the only fakes here) UnprocessedItems
 * and throttling faults, which DynamoDB Local never produces by itself.
 */
import { randomUUID } from 'node:crypto';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, type BatchWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IOContext } from '../../engine/io.ts';
import { batchWriteAll } from '../../io-managers/dynamodb/batch.ts';
import { DynamoDbIOManager } from '../../io-managers/dynamodb/dynamodb-io-manager.ts';
import { newWriteTag } from '../../io-managers/chunking.ts';
import { freePort } from '../servers/dynamodb.ts';
import { expectLoadsNeverMixDuringOverwrite, largeArcMetrics } from '../contract/io-manager-contract.ts';
import { chunkItems as chunkItemsOf, dynamoManagers } from './dynamo-managers.ts';
import { dynamoForTests, LOCAL_REGION, type TestServer } from './servers.ts';

let server: TestServer;
const suffix = randomUUID().slice(0, 8);
const tables = { metricsTable: `t-metrics-${suffix}`, reportsTable: `t-reports-${suffix}` };
const managers = dynamoManagers(() => server.address, tables);
const manager = managers.manager.bind(managers);

const bikes = (date: string): IOContext => ({
  assetKey: 'bikes_metrics',
  partitionKey: date,
  storage: { database: { id: `bikes_${suffix}` } },
});

const chunkItems = (m: DynamoDbIOManager, pk: string, date: string) =>
  chunkItemsOf(m, tables.metricsTable, pk, date);

async function indexItem(
  m: DynamoDbIOManager,
  pk: string,
  date: string,
): Promise<Record<string, unknown> | undefined> {
  const out = await m.doc.send(
    new GetCommand({ TableName: tables.metricsTable, Key: { metric_type: pk, date }, ConsistentRead: true }),
  );
  return out.Item;
}

beforeAll(async () => {
  server = await dynamoForTests();
  await manager().ensureTables();
});

afterAll(async () => {
  await managers.closeAll();
  await server?.stop();
});

describe('DynamoDbIOManager layout', () => {
  it('stores a small metric inline as a native map in the SPEC §4.4 item shape', async () => {
    const m = manager();
    const value = {
      metrics: [{ id_compteur: '100047545', total_jour: 1234, moyenne_horaire: 51.416 }],
      frequentation_index: 0.42,
    };
    const res = await m.store(bikes('2025-11-04'), value, 'dv1');
    expect(res.location).toBe(`dynamodb://${tables.metricsTable}/bikes_${suffix}/2025-11-04`);
    const item = await indexItem(m, `bikes_${suffix}`, '2025-11-04');
    expect(item).toMatchObject({
      metric_type: `bikes_${suffix}`,
      date: '2025-11-04',
      metrics: value,
      data_version: 'dv1',
      layout: 'inline',
      chunks: 0,
      bytes: Buffer.byteLength(JSON.stringify(value)),
    });
    expect(item?.timestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('puts reports in the reports table under report_id daily_report_<date>', async () => {
    const m = manager();
    const ctx: IOContext = {
      assetKey: 'daily_report',
      partitionKey: `2031-01-0${suffix.length % 9}`,
      storage: { database: { table: 'reports', id: 'daily_report_{partition}' } },
    };
    await m.store(ctx, { date: ctx.partitionKey, summary: { total_velos_paris: 7 } }, 'rep1');
    const out = await m.doc.send(
      new GetCommand({
        TableName: tables.reportsTable,
        Key: { report_id: `daily_report_${ctx.partitionKey}`, date: ctx.partitionKey },
      }),
    );
    expect(out.Item?.report).toEqual({ date: ctx.partitionKey, summary: { total_velos_paris: 7 } });
  });

  it('chunks a ~2 MB value into items under the 400 KB limit and deletes the old chunks when it shrinks', async () => {
    const m = manager();
    const big = { metrics: largeArcMetrics() };
    const bytes = Buffer.byteLength(JSON.stringify(big));
    await m.store(bikes('2025-11-05'), big, 'big1');
    const first = await chunkItems(m, `bikes_${suffix}`, '2025-11-05');
    // 350,000-byte chunks: ceil(bytes / 350000) items, each at most 350,000 bytes of payload.
    expect(first).toHaveLength(Math.ceil(bytes / 350_000));
    for (const c of first) expect((c.chunk as Uint8Array).length).toBeLessThanOrEqual(350_000);
    const idx = await indexItem(m, `bikes_${suffix}`, '2025-11-05');
    expect(idx).toMatchObject({ layout: 'chunked', chunks: first.length, bytes });
    expect(idx).not.toHaveProperty('metrics');

    const smaller = { metrics: largeArcMetrics(700) }; // ~0.4 MB: 2 chunks
    await m.store(bikes('2025-11-05'), smaller, 'big2');
    const second = await chunkItems(m, `bikes_${suffix}`, '2025-11-05');
    const tag = (await indexItem(m, `bikes_${suffix}`, '2025-11-05'))?.write_tag as string;
    expect(second).toHaveLength(Math.ceil(Buffer.byteLength(JSON.stringify(smaller)) / 350_000));
    for (const c of second) expect(String(c.date)).toContain(`#${tag}#`);
    expect(await m.load(bikes('2025-11-05'))).toEqual(smaller);

    // Back to a small value: inline again, no chunk left behind.
    await m.store(bikes('2025-11-05'), { tiny: true }, 'big3');
    expect(await chunkItems(m, `bikes_${suffix}`, '2025-11-05')).toHaveLength(0);
    expect(await m.load(bikes('2025-11-05'))).toEqual({ tiny: true });
  });

  it('ignores chunks of interrupted writes and ages them out', async () => {
    const m = manager({ inlineMaxBytes: 0, chunkBytes: 1000 });
    const pk = `bikes_${suffix}`;
    const date = '2025-11-06';
    const oldTag = newWriteTag(Date.now() - 60 * 60_000); // an hour ago: an orphan of a killed run
    const recentTag = newWriteTag(Date.now()); // could be a concurrent writer: left alone
    for (const tag of [oldTag, recentTag])
      await m.doc.send(
        new PutCommand({
          TableName: tables.metricsTable,
          Item: {
            metric_type: `${pk}#chunk`,
            date: `${date}#${tag}#000000`,
            chunk_index: 0,
            chunk: Buffer.from('garbage'),
          },
        }),
      );
    const value = { arcs: largeArcMetrics(10) };
    await m.store(bikes(date), value, 'o1');
    expect(await m.load(bikes(date))).toEqual(value);
    const tags = new Set((await chunkItems(m, pk, date)).map((c) => String(c.date).split('#')[1]));
    const current = (await indexItem(m, pk, date))?.write_tag as string;
    expect([...tags].sort()).toEqual([current, recentTag].sort());
  });

  it('keeps created_at across re-runs and refreshes updated_at', async () => {
    const m = manager();
    await m.store(bikes('2025-11-07'), { v: 1 }, 'c1');
    const a = await indexItem(m, `bikes_${suffix}`, '2025-11-07');
    await new Promise((r) => setTimeout(r, 15));
    await m.store(bikes('2025-11-07'), { v: 2 }, 'c2');
    const b = await indexItem(m, `bikes_${suffix}`, '2025-11-07');
    expect(b?.created_at).toBe(a?.created_at);
    expect(String(b?.updated_at) > String(a?.updated_at)).toBe(true);
  });

  it('refuses NaN and Infinity naming the field path, and stores nothing', async () => {
    const m = manager();
    const ctx = bikes('2025-11-08');
    await expect(m.store(ctx, { metrics: [{ a: 1 }, { debit_max: Number.NaN }] }, 'n1')).rejects.toThrow(
      /\$\.metrics\[1\]\.debit_max is NaN/,
    );
    await expect(m.store(ctx, { g: { 'taux occupation': -Infinity } }, 'n2')).rejects.toThrow(
      /\$\.g\["taux occupation"\] is -Infinity/,
    );
    expect(await m.stat(ctx)).toBeNull();
  });

  it('keeps doubles beyond DynamoDB number range exact by storing the JSON text', async () => {
    const m = manager();
    const value = { max: Number.MAX_VALUE, min: 5e-324, safe: 2 ** 53 + 2, third: 1 / 3 };
    await m.store(bikes('2025-11-09'), value, 'x1');
    expect((await indexItem(m, `bikes_${suffix}`, '2025-11-09'))?.layout).toBe('chunked');
    expect(await m.load(bikes('2025-11-09'))).toEqual(value);
    // In range: native numbers, still exact (0.1 + 0.2 = 0.30000000000000004).
    await m.store(bikes('2025-11-10'), { third: 1 / 3, sum: 0.1 + 0.2, big: 2 ** 53 + 2 }, 'x2');
    expect((await indexItem(m, `bikes_${suffix}`, '2025-11-10'))?.layout).toBe('inline');
    expect(await m.load(bikes('2025-11-10'))).toEqual({ third: 1 / 3, sum: 0.1 + 0.2, big: 2 ** 53 + 2 });
  });

  it('a load racing an overwrite sees the old value or the new one, never a mix', async () => {
    const m = manager({ inlineMaxBytes: 0, chunkBytes: 5_000 });
    await expectLoadsNeverMixDuringOverwrite(m, bikes('2025-11-11'));
  });
});

describe('DynamoDB batch writes under faults (injected by client middleware)', () => {
  it('retries partial UnprocessedItems until every chunk is written exactly once', async () => {
    const m = manager({ inlineMaxBytes: 0, chunkBytes: 2_000, batch: { concurrency: 3, baseDelayMs: 5 } });
    const forwarded = new Map<string, number>();
    let injected = 0;
    m.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'BatchWriteItemCommand') return next(args);
        const input = args.input as BatchWriteCommandInput;
        const [table, reqs] = Object.entries(input.RequestItems ?? {})[0] ?? [];
        if (!table || !reqs) return next(args);
        // The first two multi-item batches: send only the first half, report the rest as unprocessed.
        const cut = injected < 2 && reqs.length > 1 ? Math.floor(reqs.length / 2) : reqs.length;
        if (cut < reqs.length) injected++;
        const sent = reqs.slice(0, cut);
        for (const r of sent) {
          const k = String(r.PutRequest?.Item?.date ?? r.DeleteRequest?.Key?.date);
          forwarded.set(k, (forwarded.get(k) ?? 0) + 1);
        }
        const out = await next({ ...args, input: { ...input, RequestItems: { [table]: sent } } });
        if (cut < reqs.length) {
          const o = out.output as { UnprocessedItems?: Record<string, unknown[]> };
          o.UnprocessedItems = { [table]: [...(o.UnprocessedItems?.[table] ?? []), ...reqs.slice(cut)] };
        }
        return out;
      },
      { step: 'initialize', name: 'injectUnprocessedItems' },
    );
    const value = { arcs: largeArcMetrics(300, 3) }; // ~180 KB / 2,000 B: ~90 chunks, 4 batches
    const nChunks = Math.ceil(Buffer.byteLength(JSON.stringify(value)) / 2_000);
    await m.store(bikes('2025-11-12'), value, 'f1');
    expect(injected).toBe(2);
    expect(forwarded.size).toBe(nChunks);
    expect([...forwarded.values()].every((n) => n === 1)).toBe(true);
    expect(await chunkItems(m, `bikes_${suffix}`, '2025-11-12')).toHaveLength(nChunks);
    expect(await m.load(bikes('2025-11-12'))).toEqual(value);
  });

  it('re-sends a batch rejected by throttling', async () => {
    const m = manager();
    let throttled = 0;
    m.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'BatchWriteItemCommand' && throttled < 2) {
          throttled++;
          throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
            name: 'ProvisionedThroughputExceededException',
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'injectThrottling' },
    );
    const items = Array.from({ length: 30 }, (_, i) => ({
      PutRequest: {
        Item: { metric_type: `throttle_${suffix}`, date: `d${String(i).padStart(2, '0')}`, n: i },
      },
    }));
    const stats = await batchWriteAll(m.doc, tables.metricsTable, items, { baseDelayMs: 5 });
    expect(throttled).toBe(2);
    expect(stats.retries).toBe(2);
    const out = await m.doc.send(
      new QueryCommand({
        TableName: tables.metricsTable,
        KeyConditionExpression: 'metric_type = :pk',
        ExpressionAttributeValues: { ':pk': `throttle_${suffix}` },
      }),
    );
    expect(out.Items?.map((i) => i.n).sort((a, b) => a - b)).toEqual(items.map((_, i) => i));
  });
});

describe('DynamoDB setup and failures', () => {
  it('ensureTables is idempotent and tables are ACTIVE with the SPEC key schema', async () => {
    const m = manager();
    expect(await m.ensureTables()).toEqual({ created: [] });
    const d = await m.client.send(new DescribeTableCommand({ TableName: tables.reportsTable }));
    expect(d.Table?.TableStatus).toBe('ACTIVE');
    expect(d.Table?.KeySchema).toEqual([
      { AttributeName: 'report_id', KeyType: 'HASH' },
      { AttributeName: 'date', KeyType: 'RANGE' },
    ]);
    expect(d.Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
  });

  it('an unreachable endpoint gives an error naming it, without credentials', async () => {
    const port = await freePort(); // nothing listens there
    const m = new DynamoDbIOManager({
      endpoint: `http://127.0.0.1:${port}`,
      region: LOCAL_REGION,
      credentials: { accessKeyId: 'AKIDLEAKCHECK', secretAccessKey: 'secret-must-not-leak' },
      ...tables,
    });
    managers.track(m);
    const err = (await m.stat(bikes('2025-11-04')).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain(`DynamoDB unreachable at http://127.0.0.1:${port}`);
    expect(err.message).not.toMatch(/secret-must-not-leak|AKIDLEAKCHECK/);
  });
});
