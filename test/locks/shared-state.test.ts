/**
 * Two coordinators on "two machines" (each its own STATE_DIR, OUTPUT_DIR and S3 cache) sharing one
 * project through SHARED_STATE=dynamodb: the index and the unit locks in DynamoDB Local, raw input and
 * the stored values in S3 (Ceph RGW, through `ctx.shared`). Real `pipeline materialize` processes on
 * the counts fixture (`per_city`: six partitions whose units take SLOW_MS each), a 2 s lease.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startPipeline, type Finished } from '../faults/cli-process.ts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoIndexBackend } from '../../io-managers/dynamodb/index-backend.ts';
import { DynamoUnitLocks } from '../../io-managers/dynamodb/unit-locks.ts';
import { freshBucket, s3ModeEnv, s3SkipReason, testClient } from '../s3/helpers.ts';
import { removeProject, writeCountsProject } from '../ui/fixture-project.ts';

const LEASE_S = 2;

const CONFIG = `import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { defineAsset, defineSource, staticPartitions } from 'cityflow';
import { defineConfig } from 'cityflow/config';

const rawCounts = defineSource({ key: 'raw_counts', locate: () => ({ prefix: 'counts', match: /\\.csv$/ }) });
const totalBikes = defineAsset({
  key: 'total_bikes',
  schema: z.number(),
  deps: { raw: rawCounts },
  compute: async ({ raw }) => {
    let bikes = 0;
    for (const f of raw.files) for (const row of (await readFile(f.path, 'utf8')).trim().split('\\n').slice(1)) bikes += Math.max(0, Number(row.split(',')[1]));
    return bikes;
  },
});
const perCity = defineAsset({
  key: 'per_city',
  partitions: staticPartitions(['paris', 'lyon', 'lille', 'nice', 'nantes', 'rennes']),
  schema: z.number(),
  deps: { total: totalBikes },
  compute: async ({ total }) => {
    await new Promise((r) => setTimeout(r, Number(process.env.SLOW_MS ?? 0)));
    return total;
  },
});
export default defineConfig((ctx) => ({
  assets: [rawCounts, totalBikes, perCity],
  io: { default: ctx.shared ?? ctx.local },
}));
`;

let dir: string;
let env: NodeJS.ProcessEnv;
let client: DynamoDBClient;
let locks: DynamoUnitLocks;
let index: DynamoIndexBackend;

/** `pipeline <args>` as machine `m` (its own state dir, output dir and cache). */
function pipeline(m: 'a' | 'b', args: string[], extra: NodeJS.ProcessEnv = {}) {
  return startPipeline(
    {
      ...env,
      STATE_DIR: join(dir, `state-${m}`),
      OUTPUT_DIR: join(dir, `output-${m}`),
      S3_CACHE_DIR: join(dir, `cache-${m}`),
      ...extra,
    },
    args,
    dir,
  );
}
const materialize = (m: 'a' | 'b', args: string[], extra?: NodeJS.ProcessEnv) =>
  pipeline(m, ['materialize', '--no-tui', '--json', ...args], extra);
const summary = (r: Finished) =>
  JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
    runId: string;
    materialized: number;
    skipped: number;
    status: string;
  };

/** The run id of the first run found holding an entry in the lock table. */
async function lockTaken(): Promise<string> {
  for (let i = 0; i < 400; i++) {
    const [e] = await locks.entries();
    if (e) return e.runId;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no run took its unit locks');
}
/** A run's [run_started, run_finished] times, from machine `m`'s run log. */
async function span(m: 'a' | 'b', runId: string): Promise<[number, number]> {
  const events = (await readFile(join(dir, `state-${m}`, 'runs', `${runId}.jsonl`), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; at: string });
  const at = (t: string) => Date.parse(events.find((e) => e.type === t)!.at);
  return [at('run_started'), at('run_finished')];
}
const perCity = async () => (await index.load(['per_city'])).get('per_city')!;

const skip = s3SkipReason();

beforeAll(async () => {
  if (skip) return;
  dir = await writeCountsProject('cityflow-shared-', CONFIG);
  const s3 = testClient();
  const bucket = await freshBucket(s3, 'shared');
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: 'raw/counts/today.csv', Body: 'station,bikes\nA,3\nB,5\n' }),
  );
  s3.destroy();
  const suffix = bucket.slice(-8);
  env = {
    ...s3ModeEnv({ PATH: process.env.PATH, HOME: dir, CI: 'true' }, bucket, inject('s3Endpoint')),
    DATA_DIR: join(dir, 'no-local-raw'),
    S3_FALLBACK: 'off',
    SHARED_STATE: 'dynamodb',
    AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
    DYNAMODB_INDEX_TABLE: `cf-index-${suffix}`,
    DYNAMODB_LOCKS_TABLE: `cf-locks-${suffix}`,
    UNIT_LOCK_LEASE_SECONDS: String(LEASE_S),
  };
  await mkdir(env.DATA_DIR!, { recursive: true });
  // DynamoDB Local keeps one database per access key and region: the pipeline's.
  client = new DynamoDBClient({
    endpoint: inject('dynamoEndpoint'),
    region: env.AWS_REGION,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
  });
  const doc = DynamoDBDocumentClient.from(client, { unmarshallOptions: { wrapNumbers: (s) => Number(s) } });
  locks = new DynamoUnitLocks({ doc, table: env.DYNAMODB_LOCKS_TABLE!, leaseMs: LEASE_S * 1000 });
  index = new DynamoIndexBackend({
    doc,
    table: env.DYNAMODB_INDEX_TABLE!,
    locksTable: env.DYNAMODB_LOCKS_TABLE!,
  });
  const setup = await pipeline('a', ['setup']).done;
  expect(setup.code, setup.stderr).toBe(0);
  expect(setup.stdout).toContain(
    `Created the shared-state DynamoDB tables: ${env.DYNAMODB_INDEX_TABLE}, ${env.DYNAMODB_LOCKS_TABLE}`,
  );
  // The upstream unit once, on machine a: both machines plan from its record and read its value from S3.
  const r = await materialize('a', ['--select', 'total_bikes']).done;
  expect(r.code, r.stderr).toBe(0);
}, 120_000);
afterAll(async () => {
  client?.destroy();
  if (dir) await removeProject(dir);
});

describe.skipIf(!!skip)('two coordinators on two machines, SHARED_STATE=dynamodb', () => {
  it('disjoint units: both runs go on at the same time, the shared index keeps both', async () => {
    const t0 = Date.now();
    const a = materialize('a', ['--select', 'per_city', '--partition', 'paris'], { SLOW_MS: '2500' });
    const b = materialize('b', ['--select', 'per_city', '--partition', 'lyon'], { SLOW_MS: '2500' });
    const [ra, rb] = await Promise.all([a.done, b.done]);
    const wall = Date.now() - t0;
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    expect(ra.stderr + rb.stderr).not.toMatch(/waiting for run/);
    const [sa, sb] = [summary(ra), summary(rb)];
    expect([sa.materialized, sb.materialized]).toEqual([1, 1]);
    const idx = await perCity();
    expect(idx.paris?.runId).toBe(sa.runId);
    expect(idx.lyon?.runId).toBe(sb.runId);
    // Overlap in time (from each machine's own run log), not one after the other.
    const [la, lb] = [await span('a', sa.runId), await span('b', sb.runId)];
    const overlapMs = Math.min(la[1], lb[1]) - Math.max(la[0], lb[0]);
    expect(overlapMs, JSON.stringify([la, lb])).toBeGreaterThan(1500);
    expect(await locks.entries()).toEqual([]);
    console.log(
      `disjoint runs on two machines: overlapped ${overlapMs} ms (each unit 2500 ms), both done in ${wall} ms`,
    );
  }, 60_000);

  it('the same units: the second waits, saying for whom, then plans again from the shared index and skips them', async () => {
    // Long enough for the second process to start and plan while the first holds the units.
    const a = materialize('a', ['--select', 'per_city'], { SLOW_MS: '8000', PIPELINE_CONCURRENCY: '4' });
    const holder = await lockTaken();
    const b = materialize('b', ['--select', 'per_city'], { SLOW_MS: '0' });
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    const [sa, sb] = [summary(ra), summary(rb)];
    expect(holder).toBe(sa.runId);
    expect(sa.materialized).toBe(4); // paris and lyon were built above
    expect(sb).toMatchObject({ materialized: 0, status: 'success' });
    expect(rb.stderr).toMatch(
      new RegExp(
        `waiting for run ${sa.runId} \\(pid ${a.child.pid} on .+\\) to release the unit locks of [1-4] unit\\(s\\) this run builds: per_city\\[`,
      ),
    );
    expect(rb.stderr).toMatch(
      /planned again under the unit locks: [1-4] unit\(s\) were built meanwhile by another run, 0 left to build/,
    );
    const idx = await perCity();
    for (const p of ['lille', 'nice', 'nantes', 'rennes']) expect(idx[p]?.runId, p).toBe(sa.runId);
  }, 60_000);

  it('a coordinator killed with SIGKILL: its units are taken over once its lease runs out', async () => {
    const a = materialize('a', ['--select', 'per_city', '--force'], { SLOW_MS: '60000' });
    const killed = await lockTaken();
    a.child.kill('SIGKILL');
    expect((await a.done).signal).toBe('SIGKILL');
    const t0 = Date.now();
    const b = materialize('b', ['--select', 'per_city', '--force'], { SLOW_MS: '0' });
    const rb = await b.done;
    expect(rb.code, rb.stderr).toBe(0);
    expect(summary(rb).materialized).toBe(6);
    expect(rb.stderr).toMatch(
      new RegExp(
        `took over the unit locks of run ${killed} \\(pid ${a.child.pid} on .+\\) in DynamoDB table cf-locks-\\w+: its lease ran out`,
      ),
    );
    expect(await locks.entries()).toEqual([]);
    console.log(
      `SIGKILLed coordinator: the other machine's run took over and finished in ${Date.now() - t0} ms (lease ${LEASE_S} s)`,
    );
  }, 60_000);

  it('fencing: a coordinator paused past its lease, whose units were taken over, fails its index write and leaves the other run’s records intact', async () => {
    const a = materialize('a', ['--select', 'per_city', '--partition', 'nice', '--force'], {
      SLOW_MS: '3000',
    });
    const paused = await lockTaken();
    a.child.kill('SIGSTOP');
    try {
      const rb = await materialize('b', ['--select', 'per_city', '--partition', 'nice', '--force'], {
        SLOW_MS: '0',
      }).done;
      expect(rb.code, rb.stderr).toBe(0);
      expect(rb.stderr).toContain(`took over the unit locks of run ${paused}`);
      const sb = summary(rb);
      expect(sb.materialized).toBe(1);
      expect((await perCity()).nice?.runId).toBe(sb.runId);
      a.child.kill('SIGCONT');
      const ra = await a.done;
      expect(ra.code, ra.stderr).toBe(1);
      expect(ra.stderr).toMatch(
        new RegExp(
          `run ${paused} no longer holds its unit locks in DynamoDB table cf-locks-\\w+ \\(fencing token \\d+\\): its lease ran out .*index record\\(s\\) were not written, so that run's records stay intact`,
        ),
      );
      expect(ra.stderr).not.toMatch(/^\s+at /m); // one line, no stack
      console.log(
        `paused coordinator after SIGCONT:\n${ra.stderr
          .split('\n')
          .filter((l) => /lock/.test(l))
          .join('\n')}`,
      );
      const idx = await perCity();
      expect(idx.nice?.runId).toBe(sb.runId);
    } finally {
      a.child.kill('SIGCONT');
      a.child.kill('SIGKILL');
    }
  }, 60_000);
});
