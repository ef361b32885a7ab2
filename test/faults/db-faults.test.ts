/**
 * Database faults. DynamoDB throttling is injected by SDK middleware (DynamoDB Local never throttles;
 * fault injection is the one use of fakes here) and checked against the real DynamoDB Local: every
 * item ends up written exactly once. test/db/dynamodb.test.ts already covers UnprocessedItems on the
 * first two batches and a throttling *exception* thrown above the SDK; this file adds what it lacks:
 * throttling answered at the wire (HTTP 400, below the SDK's own retry layer) on every write and read
 * a chunked store/load makes, UnprocessedKeys on reads, and persistent throttling (the store fails
 * cleanly and the previous value stays readable). Then MongoDB and DynamoDB unreachable through the
 * real CLI: exit 1, the endpoint named, no password, nothing marked materialized.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { IOContext } from '../../engine/io.ts';
import type { DynamoDbIOManager } from '../../io-managers/dynamodb/dynamodb-io-manager.ts';
import { syncToS3 } from '../../io-managers/s3/upload.ts';
import { largeArcMetrics } from '../contract/io-manager-contract.ts';
import { chunkItems, dynamoManagers } from '../db/dynamo-managers.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../servers/dynamodb.ts';
import { freePort } from '../servers/dynamodb.ts';
import { freshBucket, s3SkipReason, testClient } from '../s3/helpers.ts';
import { SAMPLE, scratchProject, startPipeline } from './cli-process.ts';

const suffix = randomUUID().slice(0, 8);
const tables = { metricsTable: `f-metrics-${suffix}`, reportsTable: `f-reports-${suffix}` };
const managers = dynamoManagers(() => inject('dynamoEndpoint'), tables);
const manager = managers.manager.bind(managers);

const ctxFor = (date: string): IOContext => ({
  assetKey: 'comptages_metrics',
  partitionKey: date,
  storage: { database: { table: 'metrics', id: `arcs_${suffix}` } },
});

/** The error DynamoDB sends when it throttles: HTTP 400 with the JSON 1.0 error body. */
function throttledResponse() {
  const body = JSON.stringify({
    __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    message: 'The level of configured provisioned throughput for the table was exceeded.',
  });
  return {
    statusCode: 400,
    reason: 'Bad Request',
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'fault-injected' },
    body: Readable.from([Buffer.from(body)]),
  };
}

interface WireLog {
  /** Requests that reached DynamoDB Local, by operation. */
  sent: Record<string, number>;
  /** Requests answered with an injected throttling error, by operation. */
  throttled: Record<string, number>;
  /** Chunk sort keys (`date#tag#i`) of every PutRequest that reached the server, with counts. */
  chunkPuts: Map<string, number>;
}

/**
 * Below the SDK's retry layer (deserialize step, lowest priority: it wraps the HTTP call itself):
 * `throttle(op, n)` decides per request whether DynamoDB "answers" 400 throttling instead.
 */
function injectWireThrottling(
  client: DynamoDBClient,
  throttle: (op: string, nth: number) => boolean,
): WireLog {
  const log: WireLog = { sent: {}, throttled: {}, chunkPuts: new Map() };
  const seen: Record<string, number> = {};
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const op = (context.commandName ?? 'unknown').replace(/Command$/, '');
      const nth = (seen[op] = (seen[op] ?? 0) + 1);
      if (throttle(op, nth)) {
        log.throttled[op] = (log.throttled[op] ?? 0) + 1;
        return { response: throttledResponse(), output: undefined as never };
      }
      log.sent[op] = (log.sent[op] ?? 0) + 1;
      if (op === 'BatchWriteItem') {
        const body = JSON.parse(String((args.request as { body: string }).body)) as {
          RequestItems: Record<string, { PutRequest?: { Item: { date: { S: string } } } }[]>;
        };
        for (const reqs of Object.values(body.RequestItems))
          for (const r of reqs) {
            const k = r.PutRequest?.Item.date.S;
            if (k) log.chunkPuts.set(k, (log.chunkPuts.get(k) ?? 0) + 1);
          }
      }
      return next(args);
    },
    { step: 'deserialize', priority: 'low', name: `wireThrottle-${randomUUID()}` },
  );
  return log;
}

/** Above the SDK (initialize step): BatchGetItem answers only half of the keys of its first `n` calls. */
function injectUnprocessedKeys(client: DynamoDBClient, n: number): { injected: number } {
  const state = { injected: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'BatchGetItemCommand' || state.injected >= n) return next(args);
      const input = args.input as { RequestItems: Record<string, { Keys: unknown[] }> };
      const [table, req] = Object.entries(input.RequestItems)[0]!;
      if (req.Keys.length < 2) return next(args);
      state.injected++;
      const half = Math.ceil(req.Keys.length / 2);
      const out = await next({
        ...args,
        input: { ...input, RequestItems: { [table]: { ...req, Keys: req.Keys.slice(0, half) } } },
      });
      (out.output as { UnprocessedKeys?: unknown }).UnprocessedKeys = {
        [table]: { ...req, Keys: req.Keys.slice(half) },
      };
      return out;
    },
    { step: 'initialize', name: `unprocessedKeys-${randomUUID()}` },
  );
  return state;
}

const chunkCount = async (m: DynamoDbIOManager, pk: string, date: string): Promise<number> =>
  (await chunkItems(m, tables.metricsTable, pk, date)).length;

beforeAll(async () => {
  await manager().ensureTables();
});
afterAll(() => managers.closeAll());

describe('DynamoDB throttling at the wire (injected below the SDK retry layer)', () => {
  it('throttled BatchWriteItem / UpdateItem / GetItem / BatchGetItem + UnprocessedKeys: every chunk written exactly once', async () => {
    // 3,000 arcs ≈ 1.8 MB of JSON in chunks of 20,000 B → ~90 chunk items in ~4 BatchWriteItem calls.
    const m = manager({ inlineMaxBytes: 0, chunkBytes: 20_000, batch: { baseDelayMs: 5 } });
    // Throttle the 1st and 3rd BatchWriteItem, the first UpdateItem (main item switch), the first
    // GetItem and the first BatchGetItem; everything else reaches DynamoDB Local.
    const wire = injectWireThrottling(
      m.client,
      (op, nth) =>
        (op === 'BatchWriteItem' && (nth === 1 || nth === 3)) ||
        (['UpdateItem', 'GetItem', 'BatchGetItem'].includes(op) && nth === 1),
    );
    const keys = injectUnprocessedKeys(m.client, 2);
    const value = { arcs: largeArcMetrics(3000, 7) };
    const bytes = Buffer.byteLength(JSON.stringify(value));
    const nChunks = Math.ceil(bytes / 20_000);
    const t0 = Date.now();
    await m.store(ctxFor('2025-11-04'), value, 'v1');
    const loaded = await m.load(ctxFor('2025-11-04'));
    console.log(
      `[dynamo wire throttling] ${bytes} B in ${nChunks} chunks; throttled ${JSON.stringify(wire.throttled)}; ` +
        `reached the server ${JSON.stringify(wire.sent)}; UnprocessedKeys injected ${keys.injected}; ${Date.now() - t0} ms`,
    );
    expect(wire.throttled).toEqual({ BatchWriteItem: 2, UpdateItem: 1, GetItem: 1, BatchGetItem: 1 });
    // Exactly once: every chunk PutRequest reached the server one time, and the table holds nChunks.
    expect(wire.chunkPuts.size).toBe(nChunks);
    expect([...wire.chunkPuts.values()].every((n) => n === 1)).toBe(true);
    expect(await chunkCount(m, `arcs_${suffix}`, '2025-11-04')).toBe(nChunks);
    expect(keys.injected).toBe(2); // the first BatchGetItem and the re-send of its unprocessed half
    expect(loaded).toEqual(value);
    expect((await m.stat(ctxFor('2025-11-04')))?.dataVersion).toBe('v1');
  });

  it('persistent throttling: the store fails with a clear error and the previous value stays readable', async () => {
    const m = manager({ inlineMaxBytes: 0, chunkBytes: 20_000 });
    const value1 = { arcs: largeArcMetrics(500, 1) };
    await m.store(ctxFor('2025-11-05'), value1, 'old');
    const before = await chunkCount(m, `arcs_${suffix}`, '2025-11-05');

    // A second manager whose SDK client makes 1 attempt per call, so the batch layer's own retries
    // (maxAttempts 3) are what the wire sees; every BatchWriteItem is throttled.
    const client = new DynamoDBClient({
      region: LOCAL_REGION,
      endpoint: inject('dynamoEndpoint'),
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 1,
    });
    const wire = injectWireThrottling(client, (op) => op === 'BatchWriteItem');
    const throttled = manager({
      client,
      inlineMaxBytes: 0,
      chunkBytes: 20_000,
      batch: { maxAttempts: 3, baseDelayMs: 5, concurrency: 1 },
    });
    const value2 = { arcs: largeArcMetrics(500, 2) };
    const err = (await throttled
      .store(ctxFor('2025-11-05'), value2, 'new')
      .catch((e: unknown) => e)) as Error;
    console.log(
      `[dynamo persistent throttling] BatchWriteItem throttled ${wire.throttled.BatchWriteItem} times, ` +
        `reached the server ${wire.sent.BatchWriteItem ?? 0}; error: ${err.message.slice(0, 160)}`,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/ProvisionedThroughputExceeded/);
    // The first batch: 3 attempts, all throttled; the store stops there.
    expect(wire.throttled.BatchWriteItem).toBe(3);
    expect(wire.sent.BatchWriteItem).toBeUndefined();
    expect(wire.sent.UpdateItem).toBeUndefined(); // the main item was never switched
    expect(await m.load(ctxFor('2025-11-05'))).toEqual(value1);
    expect((await m.stat(ctxFor('2025-11-05')))?.dataVersion).toBe('old');
    expect(await chunkCount(m, `arcs_${suffix}`, '2025-11-05')).toBe(before);
  });
});

// ------------------------------------------------------------------------------------------------
// Unreachable databases through the real CLI.

const METRIC_ASSETS = [
  'bikes_metrics',
  'traffic_metrics',
  'weather_metrics',
  'chantiers_metrics',
  'referentiel_metrics',
  'comptages_metrics',
  'daily_report',
];

/** Metric/report units the state index marks as materialized (with a dataVersion). */
async function materializedInIndex(stateDir: string): Promise<string[]> {
  const out: string[] = [];
  const dir = path.join(stateDir, 'index');
  for (const f of await readdir(dir).catch(() => [])) {
    const asset = f.replace(/\.json$/, '');
    if (!METRIC_ASSETS.includes(asset)) continue;
    const idx = JSON.parse(await readFile(path.join(dir, f), 'utf8')) as Record<
      string,
      { dataVersion?: string }
    >;
    for (const [p, e] of Object.entries(idx)) if (e.dataVersion) out.push(`${asset}/${p}`);
  }
  return out;
}

async function runLogs(stateDir: string): Promise<string> {
  const dir = path.join(stateDir, 'runs');
  const files = await readdir(dir).catch(() => []);
  return (await Promise.all(files.map((f) => readFile(path.join(dir, f), 'utf8')))).join('\n');
}

async function indexText(stateDir: string): Promise<string> {
  const dir = path.join(stateDir, 'index');
  const files = await readdir(dir).catch(() => []);
  return (await Promise.all(files.map((f) => readFile(path.join(dir, f), 'utf8')))).join('\n');
}

describe('unreachable databases through the CLI', () => {
  const roots: string[] = [];
  afterAll(async () => {
    for (const r of roots) await rm(r, { recursive: true, force: true });
  });
  it('MongoDB on a closed port: exit 1, the host and the real reason named, password never printed, nothing materialized', async () => {
    const { root, env } = await scratchProject('cityflow-mongo-down-');
    roots.push(root);
    const port = await freePort();
    const password = 'S3cr3t-M0ng0-pw';
    const t0 = Date.now();
    const r = await startPipeline(
      { ...env, DATABASE_TYPE: 'mongodb', MONGODB_URL: `mongodb://user:${password}@127.0.0.1:${port}/` },
      ['materialize', '--all', '--json'],
    ).done;
    const ms = Date.now() - t0;
    const failed = r.stderr.split('\n').filter((l) => l.includes('✗ failed'));
    const materialized = await materializedInIndex(path.join(root, 'state'));
    console.log(
      `[mongo down] exit ${r.code} after ${ms} ms; ${failed.length} failed units; first: ${failed[0]?.slice(0, 200)}`,
    );
    expect(r.code).toBe(1);
    expect(failed.length).toBeGreaterThan(0);
    for (const l of failed)
      expect(l).toContain(
        `MongoDB unreachable at 127.0.0.1:${port} (mongodb://user:****@127.0.0.1:${port}/) during ensureIndexes: connect ECONNREFUSED 127.0.0.1:${port}`,
      );
    const everything = [
      r.stdout,
      r.stderr,
      await runLogs(path.join(root, 'state')),
      await indexText(path.join(root, 'state')),
    ];
    for (const t of everything) expect(t).not.toContain(password);
    expect(materialized).toEqual([]);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toMatchObject({ status: 'failed' });
  }, 60_000);

  const skip = s3SkipReason();
  it.skipIf(skip !== '')(
    `DynamoDB on a closed port (AWS mode, S3 on the real gateway): exit 1, endpoint named, no secret${skip ? ` — SKIPPED: ${skip}` : ''}`,
    async () => {
      const s3 = testClient();
      const bucket = await freshBucket(s3, 'dyn-down');
      await syncToS3(SAMPLE, s3, bucket, 'raw');
      s3.destroy();
      const { root, env } = await scratchProject('cityflow-dynamo-down-');
      roots.push(root);
      const port = await freePort();
      const token = 'FAKE-SESSION-TOKEN-dyn-down-7f3a';
      const t0 = Date.now();
      const r = await startPipeline(
        {
          ...env,
          AWS_EXECUTION_ENV: 'x',
          SHARED_STATE: 'local', // the metrics store down mid-run, not the shared index
          AWS_REGION: 'eu-west-3',
          AWS_ACCESS_KEY_ID: inject('s3AccessKeyId'),
          AWS_SECRET_ACCESS_KEY: inject('s3SecretAccessKey'),
          AWS_SESSION_TOKEN: token,
          AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${port}`,
          S3_ENDPOINT_URL: inject('s3Endpoint'),
          S3_FORCE_PATH_STYLE: 'true',
          S3_RAW_BUCKET: bucket,
          S3_RAW_PREFIX: 'raw',
          S3_REPORTS_BUCKET: bucket,
          S3_CACHE_DIR: path.join(root, 's3-cache'),
        },
        ['materialize', '--all', '--partition', '2025-11-04', '--json'], // one day: 9 units
      ).done;
      const ms = Date.now() - t0;
      const failed = r.stderr.split('\n').filter((l) => l.includes('✗ failed'));
      console.log(
        `[dynamo down] exit ${r.code} after ${ms} ms; ${failed.length} failed units; first: ${failed[0]?.slice(0, 220)}`,
      );
      expect(r.code).toBe(1);
      expect(failed.length).toBeGreaterThan(0);
      for (const l of failed)
        expect(l).toContain(`DynamoDB unreachable at http://127.0.0.1:${port} (region eu-west-3)`);
      const everything = [
        r.stdout,
        r.stderr,
        await runLogs(path.join(root, 'state')),
        await indexText(path.join(root, 'state')),
      ];
      for (const t of everything) {
        expect(t).not.toContain(inject('s3SecretAccessKey'));
        expect(t).not.toContain(token);
      }
      expect(r.stderr).not.toMatch(/warning: S3 raw input/); // S3 itself worked
      expect(await materializedInIndex(path.join(root, 'state'))).toEqual([]);
    },
    90_000,
  );
});
