/**
 * The same bundled sample materialized in local mode, in AWS mode (raw from S3 on Ceph RGW, metrics in
 * DynamoDB Local, reports mirrored to S3) and in MongoDB mode gives identical metric values.
 * Everything goes through the real `pipeline` CLI, as a user would run it.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { StorageMeta } from '../engine/index.ts';
import { DynamoDbIOManager } from '../io-managers/dynamodb/dynamodb-io-manager.ts';
import { MongoDbIOManager } from '../io-managers/mongodb/mongodb-io-manager.ts';
import { scratchProject, startPipeline } from './faults/cli-process.ts';
import { freshBucket, s3SkipReason, testClient } from './s3/helpers.ts';

const METRICS = [
  'bikes_metrics',
  'traffic_metrics',
  'weather_metrics',
  'chantiers_metrics',
  'referentiel_metrics',
  'comptages_metrics',
];
/** Where each asset is expected in the databases, written out here (not taken from the assets). */
const STORAGE: Record<string, StorageMeta> = Object.fromEntries(
  METRICS.map((k) => [k, { database: { table: 'metrics', id: k.replace('_metrics', '') } }]),
);
STORAGE.daily_report = { database: { table: 'reports', id: 'daily_report_{partition}' } };

let root: string;
let localEnv: NodeJS.ProcessEnv;
const local = new Map<string, unknown>(); // "asset/day" → value
let days: string[] = [];

async function pipeline(env: NodeJS.ProcessEnv, ...args: string[]) {
  const r = await startPipeline(env, args).done;
  return r;
}

beforeAll(async () => {
  const p = await scratchProject('cityflow-modes-');
  root = p.root;
  localEnv = p.env;
  const r = await pipeline(localEnv, 'materialize', '--all', '--json');
  expect(r.code, r.stderr).toBe(0);
  days = (await readdir(join(root, 'output', 'bikes_metrics')))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, 10))
    .sort();
  expect(days.length).toBe(8);
  for (const asset of [...METRICS, 'daily_report']) {
    for (const d of days)
      local.set(
        `${asset}/${d}`,
        JSON.parse(await readFile(join(root, 'output', asset, `${d}.json`), 'utf8')),
      );
  }
}, 180_000);
afterAll(() => rm(root, { recursive: true, force: true }));

describe.skipIf(!!s3SkipReason())('AWS mode: raw from S3, metrics in DynamoDB, reports in S3', () => {
  it('gives the same metric values as local mode, and publishes the report JSON + CSV + HTML page to S3', async () => {
    const s3 = testClient();
    const rawBucket = await freshBucket(s3, 'raw');
    const reportsBucket = await freshBucket(s3, 'reports');
    const suffix = Math.random().toString(36).slice(2, 8);
    const aws: NodeJS.ProcessEnv = {
      ...localEnv,
      DATA_DIR: join(root, 'no-local-raw'), // proves the raw data came from S3, not from a fallback
      OUTPUT_DIR: join(root, 'aws-output'),
      STATE_DIR: join(root, 'aws-state'),
      AWS_EXECUTION_ENV: 'AWS_EC2',
      AWS_REGION: 'eu-west-3',
      AWS_ACCESS_KEY_ID: inject('s3AccessKeyId'),
      AWS_SECRET_ACCESS_KEY: inject('s3SecretAccessKey'),
      S3_ENDPOINT_URL: inject('s3Endpoint'),
      S3_FORCE_PATH_STYLE: 'true',
      S3_RAW_BUCKET: rawBucket,
      S3_RAW_PREFIX: 'cityflow-raw/raw',
      S3_REPORTS_BUCKET: reportsBucket,
      S3_CACHE_DIR: join(root, 's3-cache'),
      AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
      DYNAMODB_METRICS_TABLE: `cf-metrics-${suffix}`,
      DYNAMODB_INDEX_TABLE: `cf-index-${suffix}`,
      DYNAMODB_LOCKS_TABLE: `cf-locks-${suffix}`,
      DYNAMODB_REPORTS_TABLE: `cf-reports-${suffix}`,
    };
    await mkdir(aws.DATA_DIR!, { recursive: true });
    const up = await pipeline({ ...aws, DATA_DIR: join(root, 'data') }, 'upload');
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/Uploaded \d+ files/);
    const setup = await pipeline(aws, 'setup');
    expect(setup.code, setup.stderr).toBe(0);
    const run = await pipeline(aws, 'materialize', '--all', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/AWS mode: AWS_EXECUTION_ENV=AWS_EC2/);
    expect(run.stderr).not.toMatch(/fallback/i);

    const dynamo = new DynamoDbIOManager({
      region: 'eu-west-3',
      endpoint: inject('dynamoEndpoint'),
      metricsTable: aws.DYNAMODB_METRICS_TABLE!,
      reportsTable: aws.DYNAMODB_REPORTS_TABLE!,
      credentials: { accessKeyId: inject('s3AccessKeyId'), secretAccessKey: inject('s3SecretAccessKey') },
    });
    try {
      for (const [k, expected] of local) {
        const [asset, day] = k.split('/') as [string, string];
        const got = await dynamo.load({ assetKey: asset, partitionKey: day, storage: STORAGE[asset]! });
        expect(got, k).toEqual(expected);
      }
    } finally {
      dynamo.client.destroy();
    }
    // Shared state (the AWS-mode default): the road-count intermediates are Arrow streams in S3, byte for
    // byte the local run's files, and not in OUTPUT_DIR.
    for (const day of days) {
      const arrow = await s3.send(
        new GetObjectCommand({
          Bucket: reportsBucket,
          Key: `intermediates/comptages_arc_days/${day}.arrows`,
        }),
      );
      const bytes = Buffer.from(await arrow.Body!.transformToByteArray());
      expect(
        bytes.equals(await readFile(join(root, 'output', 'comptages_arc_days', `${day}.arrows`))),
        day,
      ).toBe(true);
    }
    expect(await readdir(join(aws.OUTPUT_DIR!, 'comptages_arc_days')).catch(() => [])).toEqual([]);
    const last = days.at(-1)!;
    const body = async (key: string) =>
      (await s3.send(new GetObjectCommand({ Bucket: reportsBucket, Key: key }))).Body!.transformToString();
    expect(JSON.parse(await body(`reports/${last}/daily_report.json`))).toEqual(
      local.get(`daily_report/${last}`),
    );
    const csvLines = (await body(`reports/${last}/daily_report.csv`)).split('\n');
    const localCsv = (await readFile(join(root, 'output', 'daily_report_csv', `${last}.csv`), 'utf8')).split(
      '\n',
    );
    expect(csvLines.filter((l, i) => l !== localCsv[i])).toEqual([]);
    expect(csvLines.length).toBe(localCsv.length);
    // The report page of every day, next to its JSON and CSV: the very document `pipeline report --html`
    // writes (its week chart included, whatever order the run stored the days in), served as HTML.
    for (const day of days) {
      const page = await s3.send(
        new GetObjectCommand({ Bucket: reportsBucket, Key: `reports/${day}/daily_report.html` }),
      );
      expect(page.ContentType).toBe('text/html; charset=utf-8');
      const html = await page.Body!.transformToString();
      const cli = await pipeline(aws, 'report', '--html', day);
      expect(cli.code, cli.stderr).toBe(0);
      expect(html.length, day).toBeGreaterThan(10_000);
      expect(html === cli.stdout, `${day}: published page differs from pipeline report --html`).toBe(true);
      expect(html).not.toMatch(/<script/i);
    }
    // The secret key never shows in what the run printed or logged.
    const secret = inject('s3SecretAccessKey');
    const logs = await Promise.all(
      (await readdir(join(root, 'aws-state', 'runs'))).map((f) =>
        readFile(join(root, 'aws-state', 'runs', f), 'utf8'),
      ),
    );
    const env = await pipeline(aws, 'env');
    for (const text of [run.stdout, run.stderr, up.stdout, up.stderr, env.stdout, ...logs])
      expect(text).not.toContain(secret);
    s3.destroy();
  }, 300_000);
});

describe('MongoDB mode', () => {
  it('gives the same metric values as local mode', async () => {
    const database = `cityflow_e2e_${Math.random().toString(36).slice(2, 8)}`;
    const env: NodeJS.ProcessEnv = {
      ...localEnv,
      OUTPUT_DIR: join(root, 'mongo-output'),
      STATE_DIR: join(root, 'mongo-state'),
      DATABASE_TYPE: 'mongodb',
      MONGODB_URL: inject('mongoUrl'),
      MONGODB_DATABASE: database,
    };
    const run = await pipeline(env, 'materialize', '--all', '--json');
    expect(run.code, run.stderr).toBe(0);
    const mongo = new MongoDbIOManager({ url: inject('mongoUrl'), database });
    try {
      for (const [k, expected] of local) {
        const [asset, day] = k.split('/') as [string, string];
        expect(await mongo.load({ assetKey: asset, partitionKey: day, storage: STORAGE[asset]! }), k).toEqual(
          expected,
        );
      }
    } finally {
      await mongo.close();
    }
  }, 300_000);
});
