/**
 * AWS mode through the queue: raw input from S3 (Ceph RGW), metrics and reports in DynamoDB Local,
 * reports mirrored to S3, units computed by two `pipeline worker` processes (the shared state of AWS
 * mode: index and unit locks in DynamoDB, intermediates in S3), Redis with a password. Same metric values as the local in-process run; the
 * Redis password and the S3 secret appear in nothing printed or recorded.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { StorageMeta } from '../../engine/index.ts';
import { DynamoDbIOManager } from '../../io-managers/dynamodb/dynamodb-io-manager.ts';
import { scratchProject } from '../faults/cli-process.ts';
import { freshBucket, s3SkipReason, testClient } from '../s3/helpers.ts';
import { startRedis, type RunningRedis } from '../servers/redis.ts';
import { files, start, startWorker, stop, summary } from './helpers.ts';

const PASSWORD = 'r3dis-Secret-pw';
let redis: RunningRedis;
let root: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD });
  ({ root, env } = await scratchProject('cityflow-queue-aws-'));
}, 60_000);
afterAll(async () => {
  await redis?.close();
  await rm(root, { recursive: true, force: true });
});

describe.skipIf(!!s3SkipReason())('AWS mode through the queue', () => {
  it('2 workers: the metric values of a local run, no secret anywhere', async () => {
    const ref = await start(['materialize', '--all', '--json', '--no-tui'], env).done;
    expect(ref.code, ref.stderr).toBe(0);
    const local = await files(join(root, 'output'));

    const s3 = testClient();
    const rawBucket = await freshBucket(s3, 'raw');
    const reportsBucket = await freshBucket(s3, 'reports');
    const suffix = Math.random().toString(36).slice(2, 8);
    const aws: NodeJS.ProcessEnv = {
      ...env,
      DATA_DIR: join(root, 'no-local-raw'), // the raw data must come from S3
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
      REDIS_URL: redis.url,
      CITYFLOW_QUEUE: 'aws',
    };
    await mkdir(aws.DATA_DIR!, { recursive: true });
    const up = await start(['upload', '--no-tui'], { ...aws, DATA_DIR: join(root, 'data') }).done;
    expect(up.code, up.stderr).toBe(0);
    const setup = await start(['setup'], aws).done;
    expect(setup.code, setup.stderr).toBe(0);

    const workers = await Promise.all([1, 2].map(() => startWorker(aws, undefined, 2)));
    const run = await start(['materialize', '--all', '--json', '--no-tui'], { ...aws, EXECUTOR: 'queue' })
      .done;
    const stopped = await Promise.all(workers.map(stop));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/AWS mode: AWS_EXECUTION_ENV=AWS_EC2/);
    expect(run.stderr).not.toMatch(/fallback/i);
    expect(summary(run).status).toBe('success');
    for (const s of stopped) expect(s.code, s.stderr).toBe(0);
    expect(stopped.every((s) => /: start /.test(s.stderr))).toBe(true);

    // Every metric and report value in DynamoDB equals the local run's file.
    const dynamo = new DynamoDbIOManager({
      region: 'eu-west-3',
      endpoint: inject('dynamoEndpoint'),
      metricsTable: aws.DYNAMODB_METRICS_TABLE!,
      reportsTable: aws.DYNAMODB_REPORTS_TABLE!,
      credentials: { accessKeyId: inject('s3AccessKeyId'), secretAccessKey: inject('s3SecretAccessKey') },
    });
    let compared = 0;
    try {
      for (const [path, text] of local) {
        const m = /^(\w+_metrics|daily_report)\/(\d{4}-\d{2}-\d{2})\.json$/.exec(path);
        if (!m) continue;
        const [, asset, day] = m as unknown as [string, string, string];
        const storage: StorageMeta =
          asset === 'daily_report'
            ? { database: { table: 'reports', id: 'daily_report_{partition}' } }
            : { database: { table: 'metrics', id: asset.replace('_metrics', '') } };
        expect(await dynamo.load({ assetKey: asset, partitionKey: day, storage }), path).toEqual(
          JSON.parse(text),
        );
        compared++;
      }
    } finally {
      dynamo.client.destroy();
      s3.destroy();
    }
    expect(compared).toBeGreaterThanOrEqual(50);

    // No secret in what was printed, logged or recorded.
    const state = await files(aws.STATE_DIR!);
    const shown = await start(['env'], aws).done;
    const texts = [run.stdout, run.stderr, shown.stdout, ...stopped.map((s) => s.stderr), ...state.values()];
    for (const t of texts) {
      expect(t).not.toContain(PASSWORD);
      expect(t).not.toContain(inject('s3SecretAccessKey'));
    }
    expect(shown.stdout).toContain(`REDIS_URL=redis://:****@127.0.0.1:${redis.port}`);
    expect([...(await readdir(join(aws.STATE_DIR!, 'runs')))].length).toBe(1);
    expect(await readFile(join(aws.STATE_DIR!, 'runs', `${summary(run).runId}.jsonl`), 'utf8')).toMatch(
      /"type":"materialized"/,
    );
  }, 300_000);
});
