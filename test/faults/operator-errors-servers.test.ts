/**
 * Mistakes and failures a person must be able to act on, against the real servers (DynamoDB Local,
 * Ceph RGW, the fault proxy in front of it), through the real `pipeline` CLI:
 * - materializing into DynamoDB before `pipeline setup`: one message naming the missing tables and the
 *   command to run, exit 2, nothing computed (it used to fail 40 units with "non-existent table");
 * - an S3 raw prefix without any object (a typo in S3_RAW_PREFIX, data not uploaded): exit 2 naming the
 *   bucket and prefix (it used to plan "today" from no data, exit 0);
 * - the S3 publish of the daily report refused: the failed unit says it was the S3 publish, names the
 *   object, and the local report file is kept; the next run publishes it.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { syncToS3 } from '../../io-managers/s3/upload.ts';
import { freshBucket, s3ModeEnv, s3SkipReason, testClient } from '../s3/helpers.ts';
import { SAMPLE, scratchProject, snapshot, startPipeline, type Finished } from './cli-process.ts';
import { FaultProxy } from './fault-proxy.ts';
import { rm } from 'node:fs/promises';

const DAY = '2025-11-03';
const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

const lines = (r: Finished, marker: string): string[] =>
  (r.stdout + r.stderr).split('\n').filter((l) => l.includes(marker));

describe('DynamoDB before `pipeline setup`', () => {
  it('materialize: exit 2 naming the missing tables and `pipeline setup`, nothing computed; after setup it runs', async () => {
    const { root, env: base } = await scratchProject('cityflow-no-setup-');
    roots.push(root);
    const suffix = Math.random().toString(36).slice(2, 8);
    const endpoint = inject('dynamoEndpoint');
    const env: NodeJS.ProcessEnv = {
      ...base,
      DATABASE_TYPE: 'dynamodb',
      AWS_REGION: 'eu-west-3',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: endpoint,
      DYNAMODB_METRICS_TABLE: `nosetup-metrics-${suffix}`,
      DYNAMODB_REPORTS_TABLE: `nosetup-reports-${suffix}`,
    };
    const t0 = Date.now();
    const r = await startPipeline(env, ['materialize', '--all', '--partition', DAY, '--json']).done;
    const ms = Date.now() - t0;
    console.log(
      `[no setup] exit ${r.code} after ${ms} ms: ${r.stderr.split('\n').find((l) => l.startsWith('pipeline:'))}`,
    );
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      `pipeline: DynamoDB tables nosetup-metrics-${suffix}, nosetup-reports-${suffix} do not exist at ` +
        `${endpoint} (region eu-west-3): run \`pipeline setup\` first (it creates them). Nothing was computed.`,
    );
    expect(lines(r, '✗ failed')).toEqual([]);
    expect(lines(r, 'started')).toEqual([]);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    // Nothing computed: no output value, no index entry, no run log.
    const out = await snapshot(env.OUTPUT_DIR!);
    expect([...out.keys()].filter((k) => !k.startsWith('.'))).toEqual([]);
    expect(await readdir(path.join(env.STATE_DIR!, 'index')).catch(() => [])).toEqual([]);

    const setup = await startPipeline(env, ['setup']).done;
    expect(setup.code, setup.stderr).toBe(0);
    const after = await startPipeline(env, ['materialize', '--all', '--partition', DAY, '--json']).done;
    expect(after.code, after.stderr).toBe(0);
    expect(JSON.parse(after.stdout.trim().split('\n').at(-1)!)).toMatchObject({
      status: 'success',
      failed: 0,
    });
  }, 90_000);
});

const skip = s3SkipReason();

describe.skipIf(skip !== '')(`S3 raw prefix and report publish${skip ? ` — SKIPPED: ${skip}` : ''}`, () => {
  let s3: S3Client;
  let bucket: string;
  let proxy: FaultProxy;
  let s3Env: NodeJS.ProcessEnv;
  let root: string;

  beforeAll(async () => {
    s3 = testClient();
    bucket = await freshBucket(s3, 'operator');
    await syncToS3(SAMPLE, s3, bucket, 'raw');
    proxy = await FaultProxy.start(inject('s3Endpoint'));
    const p = await scratchProject('cityflow-operator-s3-');
    root = p.root;
    roots.push(root);
    s3Env = { ...s3ModeEnv(p.env, bucket, proxy.url), S3_CACHE_DIR: path.join(p.root, 's3-cache') };
  }, 120_000);
  afterAll(async () => {
    s3?.destroy();
    await proxy?.close();
  });

  it('a raw prefix without any object: exit 2 naming the bucket and prefix, even with DATA_DIR present', async () => {
    for (const args of [
      ['materialize', '--all', '--json'],
      ['plan', '--all'],
    ]) {
      const r = await startPipeline({ ...s3Env, S3_RAW_PREFIX: 'raww' }, args).done;
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(
        `S3_RAW_BUCKET / S3_RAW_PREFIX: no object at all under s3://${bucket}/raww/ at ${proxy.url}. Nothing was run`,
      );
      expect(r.stderr).toContain(`S3_RAW_PREFIX=raww`);
      expect(lines(r, 'started')).toEqual([]);
    }
    expect(await snapshot(s3Env.OUTPUT_DIR!)).toEqual(new Map());
  }, 60_000);

  it('the S3 publish of the report refused: the unit says so and names the object, the local file is kept, the next run publishes', async () => {
    const env = {
      ...s3Env,
      OUTPUT_DIR: path.join(root, 'publish-output'),
      STATE_DIR: path.join(root, 'publish-state'),
    };
    const reportPut = (r: { method: string; path: string }) =>
      r.method === 'PUT' && r.path.startsWith(`/${bucket}/reports/`);
    proxy.inject({ match: reportPut, fault: { kind: 'status', status: 403, code: 'AccessDenied' } });
    const r = await startPipeline(env, ['materialize', '--all', '--partition', DAY, '--json']).done;
    proxy.clearFaults();
    const failed = lines(r, '✗ failed');
    console.log(`[report publish refused] exit ${r.code}; ${failed.length} failed: ${failed[0]}`);
    expect(r.code).toBe(1);
    expect(failed).toHaveLength(1);
    const local = path.join(env.OUTPUT_DIR, 'daily_report', `${DAY}.json`);
    expect(failed[0]).toContain(
      `daily_report[${DAY}] attempt=1: S3 publish of the daily report to s3://${bucket}/reports/${DAY}/daily_report.json ` +
        `failed (S3 AccessDenied (HTTP 403)); daily_report[${DAY}] is stored at ${local} and kept there`,
    );
    const kept = JSON.parse(await readFile(local, 'utf8')) as { date?: string };
    expect(kept).toMatchObject({ date: DAY });

    const again = await startPipeline(env, ['materialize', '--all', '--partition', DAY, '--json']).done;
    expect(again.code, again.stderr).toBe(0);
    const obj = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: `reports/${DAY}/daily_report.json` }),
    );
    expect(JSON.parse(await obj.Body!.transformToString())).toEqual(kept);
  }, 90_000);
});
