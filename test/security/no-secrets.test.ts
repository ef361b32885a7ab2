/**
 * Credentials never appear in anything CityFlow prints or writes. Two real runs with recognisable
 * secrets set:
 * - AWS mode against the real servers (S3 on Ceph RGW, DynamoDB Local): the S3 secret must be the
 *   test server's real one for requests to succeed; a distinctive AWS_SESSION_TOKEN is sent too
 *   (RGW and DynamoDB Local ignore it) and the full access key id must not show either;
 * - MongoDB mode with a password in MONGODB_URL (PLAIN auth: the test server accepts any password).
 * - every credential-bearing setting planted at once (userinfo and tlsCertificateKeyFilePassword= in
 *   MONGODB_URL, userinfo in S3_ENDPOINT_URL and AWS_ENDPOINT_URL_DYNAMODB, the AWS keys): a MongoDB run,
 *   `env`, config errors, and MongoDB, DynamoDB and S3 on closed ports (errors in the index and run log).
 * Then EVERY output is searched: stdout and stderr of setup / materialize / env / plan / runs /
 * runs show, every file under STATE_DIR (run logs, index, hash cache), OUTPUT_DIR (values,
 * quarantine, report CSVs), S3_CACHE_DIR, and the report objects published to S3.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { listKeys } from '../../io-managers/s3/objects.ts';
import { syncToS3 } from '../../io-managers/s3/upload.ts';
import { SAMPLE, scratchProject, startPipeline, type Finished } from '../faults/cli-process.ts';
import { freshBucket, s3SkipReason, testClient } from '../s3/helpers.ts';
import { rm } from 'node:fs/promises';
import { freePort } from '../servers/dynamodb.ts';

const skip = s3SkipReason();
const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

/** Every file under `dir` as [relative path, text]. */
async function allFiles(dir: string): Promise<[string, string][]> {
  const out: [string, string][] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push([path.relative(dir, p), await readFile(p, 'latin1')]);
    }
  };
  await walk(dir);
  return out;
}

interface Searched {
  /** Named texts: `materialize stdout`, `state/runs/…jsonl`… */
  texts: [string, string][];
  bytes: number;
}

function leaks(searched: Searched, secrets: string[]): string[] {
  const found: string[] = [];
  for (const [name, text] of searched.texts)
    for (const s of secrets) if (text.includes(s)) found.push(`${s} in ${name}`);
  return found;
}

async function runAll(env: NodeJS.ProcessEnv, commands: string[][]): Promise<Map<string, Finished>> {
  const out = new Map<string, Finished>();
  for (const args of commands) out.set(args.join(' '), await startPipeline(env, args).done);
  return out;
}

async function collect(env: NodeJS.ProcessEnv, runs: Map<string, Finished>): Promise<Searched> {
  const texts: [string, string][] = [];
  for (const [cmd, r] of runs) texts.push([`${cmd} stdout`, r.stdout], [`${cmd} stderr`, r.stderr]);
  for (const dir of [env.STATE_DIR, env.OUTPUT_DIR, env.S3_CACHE_DIR])
    if (dir) for (const [f, t] of await allFiles(dir)) texts.push([path.join(path.basename(dir), f), t]);
  return { texts, bytes: texts.reduce((a, [, t]) => a + t.length, 0) };
}

const runIdOf = (r: Finished | undefined): string =>
  (JSON.parse(r?.stdout.trim().split('\n').at(-1) ?? '{}') as { runId?: string }).runId ?? '';

describe('credentials never appear in any output', () => {
  it.skipIf(skip !== '')(
    `AWS mode (S3 on Ceph RGW, DynamoDB Local) with a session token set${skip ? ` — SKIPPED: ${skip}` : ''}`,
    async () => {
      const s3 = testClient();
      const bucket = await freshBucket(s3, 'secrets');
      await syncToS3(SAMPLE, s3, bucket, 'raw');
      const { root, env: base } = await scratchProject('cityflow-secrets-aws-');
      roots.push(root);
      const suffix = Math.random().toString(36).slice(2, 8);
      const secret = inject('s3SecretAccessKey');
      const accessKeyId = inject('s3AccessKeyId');
      const token = 'FAKE-SESSION-TOKEN-cityflow-0xDEADBEEF-never-print';
      const env: NodeJS.ProcessEnv = {
        ...base,
        DATA_DIR: path.join(root, 'no-local-raw'),
        AWS_EXECUTION_ENV: 'AWS_EC2',
        AWS_REGION: 'eu-west-3',
        AWS_ACCESS_KEY_ID: accessKeyId,
        AWS_SECRET_ACCESS_KEY: secret,
        AWS_SESSION_TOKEN: token,
        S3_ENDPOINT_URL: inject('s3Endpoint'),
        S3_FORCE_PATH_STYLE: 'true',
        S3_RAW_BUCKET: bucket,
        S3_RAW_PREFIX: 'raw',
        S3_REPORTS_BUCKET: bucket,
        S3_CACHE_DIR: path.join(root, 's3-cache'),
        AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
        DYNAMODB_METRICS_TABLE: `sec-metrics-${suffix}`,
        DYNAMODB_REPORTS_TABLE: `sec-reports-${suffix}`,
        DYNAMODB_INDEX_TABLE: `sec-index-${suffix}`,
        DYNAMODB_LOCKS_TABLE: `sec-locks-${suffix}`,
      };
      // Two days of the sample keep it short; every asset runs.
      const runs = await runAll(env, [
        ['setup'],
        ['materialize', '--all', '--from', '2025-11-03', '--to', '2025-11-04', '--json'],
        ['env'],
        ['plan', '--all'],
        ['runs'],
      ]);
      const mat = runs.get('materialize --all --from 2025-11-03 --to 2025-11-04 --json');
      expect(mat?.code, mat?.stderr).toBe(0);
      expect(mat?.stderr).not.toMatch(/\(fallback: /); // really served by S3
      const id = runIdOf(mat);
      const show = await startPipeline(env, ['runs', 'show', id, '--no-tui']).done;
      runs.set('runs show', show);
      expect(show.code, show.stderr).toBe(0);
      const envOut = runs.get('env')!.stdout;
      expect(envOut).toMatch(/AWS_SESSION_TOKEN\W+\*{4}/);
      expect(envOut).toMatch(/AWS_SECRET_ACCESS_KEY\W+\*{4}/);

      const searched = await collect(env, runs);
      const reportKeys = await listKeys(s3, bucket, 'reports/');
      for (const k of reportKeys) {
        const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: k }));
        searched.texts.push([`s3://${bucket}/${k}`, await body.Body!.transformToString()]);
      }
      s3.destroy();
      const found = leaks(searched, [secret, token, accessKeyId]);
      console.log(
        `[no secrets, AWS] searched ${searched.texts.length} outputs, ${searched.bytes} characters ` +
          `(${reportKeys.length} report objects); leaks: ${found.length}`,
      );
      expect(reportKeys.length).toBe(6); // 2 days × daily_report.{json,csv,html}
      expect(searched.texts.some(([n]) => n.includes('_quarantine'))).toBe(true);
      expect(found).toEqual([]);
      // Control: the search does see what the runs wrote (the bucket name is in logs and index).
      expect(leaks(searched, [bucket]).length).toBeGreaterThan(5);
    },
    120_000,
  );

  it('MongoDB mode with a password in MONGODB_URL', async () => {
    const { root, env: base } = await scratchProject('cityflow-secrets-mongo-');
    roots.push(root);
    const password = 'S3cr3t-M0ng0-pw';
    const hostPort = new URL(inject('mongoUrl')).host;
    const env: NodeJS.ProcessEnv = {
      ...base,
      DATABASE_TYPE: 'mongodb',
      // PLAIN: the test server (CongoDB) accepts any credentials this way; the driver sends them.
      MONGODB_URL: `mongodb://cityflow:${password}@${hostPort}/?authMechanism=PLAIN&authSource=%24external`,
      MONGODB_DATABASE: `sec_${Math.random().toString(36).slice(2, 8)}`,
    };
    const runs = await runAll(env, [
      ['setup'],
      ['materialize', '--all', '--json'],
      ['env'],
      ['runs'],
      ['why', 'daily_report'],
    ]);
    const mat = runs.get('materialize --all --json');
    expect(mat?.code, mat?.stderr).toBe(0);
    const show = await startPipeline(env, ['runs', 'show', runIdOf(mat), '--no-tui']).done;
    runs.set('runs show', show);
    expect(show.code, show.stderr).toBe(0);
    expect(runs.get('env')!.stdout).toContain(`mongodb://cityflow:****@${hostPort}/`);
    const searched = await collect(env, runs);
    const found = leaks(searched, [password]);
    console.log(
      `[no secrets, MongoDB] searched ${searched.texts.length} outputs, ${searched.bytes} characters; leaks: ${found.length}`,
    );
    expect(found).toEqual([]);
    expect(leaks(searched, [env.MONGODB_DATABASE!]).length).toBeGreaterThan(0); // control
  }, 90_000);
  it('every credential-bearing setting planted: MongoDB run, env, config errors, failing connections', async () => {
    const { root, env: base } = await scratchProject('cityflow-secrets-all-');
    roots.push(root);
    const planted = {
      mongoUser: 'Pl4nted-Mongo-User-Pw',
      tlsKey: 'Pl4nted-Tls-Key-Pw',
      s3Endpoint: 'Pl4nted-S3-Endpoint-Pw',
      dynamoEndpoint: 'Pl4nted-Dynamo-Endpoint-Pw',
      badUrl: 'Pl4nted-Bad-Url-Pw',
      awsSecret: 'Pl4nted-Aws-Secret-Access-Key',
      awsToken: 'Pl4nted-Aws-Session-Token',
      awsKeyId: 'AKIAPL4NTEDKEYID0001',
    };
    const hostPort = new URL(inject('mongoUrl')).host;
    const closed = await freePort();
    const mongoUrl = (host: string) =>
      `mongodb://cityflow:${planted.mongoUser}@${host}/?authMechanism=PLAIN&authSource=%24external` +
      `&tlsCertificateKeyFilePassword=${planted.tlsKey}`;
    const common: NodeJS.ProcessEnv = {
      ...base,
      AWS_REGION: 'eu-west-3',
      AWS_ACCESS_KEY_ID: planted.awsKeyId,
      AWS_SECRET_ACCESS_KEY: planted.awsSecret,
      AWS_SESSION_TOKEN: planted.awsToken,
      S3_ENDPOINT_URL: `http://s3user:${planted.s3Endpoint}@127.0.0.1:${closed}`,
      AWS_ENDPOINT_URL_DYNAMODB: `http://dynuser:${planted.dynamoEndpoint}@127.0.0.1:${closed}`,
      MONGODB_URL: mongoUrl(hostPort),
      MONGODB_DATABASE: `sec_${Math.random().toString(36).slice(2, 8)}`,
    };
    /** Each scenario writes its own STATE_DIR / OUTPUT_DIR / S3_CACHE_DIR under root. */
    const scenario = (name: string, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
      ...common,
      STATE_DIR: path.join(root, name, 'state'),
      OUTPUT_DIR: path.join(root, name, 'output'),
      S3_CACHE_DIR: path.join(root, name, 's3-cache'),
      ...extra,
    });
    const day = ['--partition', '2025-11-03'];
    const scenarios: [string, NodeJS.ProcessEnv, string[][]][] = [
      [
        'mongo',
        scenario('mongo', { DATABASE_TYPE: 'mongodb' }),
        [['setup'], ['materialize', '--all', ...day, '--json'], ['env'], ['runs'], ['why', 'daily_report']],
      ],
      [
        'mongo-down',
        scenario('mongo-down', { DATABASE_TYPE: 'mongodb', MONGODB_URL: mongoUrl(`127.0.0.1:${closed}`) }),
        [
          ['materialize', '--all', ...day, '--json'],
          ['why', 'bikes_metrics', ...day],
        ],
      ],
      [
        'dynamo-down',
        scenario('dynamo-down', { DATABASE_TYPE: 'dynamodb' }),
        [['materialize', '--select', 'bikes_metrics', ...day, '--json'], ['env']],
      ],
      [
        's3-down',
        scenario('s3-down', {
          USE_S3: 'true',
          S3_RAW_BUCKET: 'cityflow-raw',
          S3_REPORTS_BUCKET: 'cityflow-rep',
        }),
        [['materialize', '--select', 'bikes_metrics', ...day, '--json'], ['env']],
      ],
      [
        'config-error',
        scenario('config-error', { S3_ENDPOINT_URL: `ftp//s3user:${planted.badUrl}@host` }),
        [['env'], ['materialize', '--all']],
      ],
      [
        'config-error-mongo',
        scenario('config-error-mongo', {
          DATABASE_TYPE: 'mongodb',
          MONGODB_URL: `mongo://cityflow:${planted.badUrl}@host/?tlsCertificateKeyFilePassword=${planted.tlsKey}`,
        }),
        [['env']],
      ],
    ];
    const searched: Searched = { texts: [], bytes: 0 };
    const codes: Record<string, (number | null)[]> = {};
    for (const [name, env, commands] of scenarios) {
      const runs = await runAll(env, commands);
      codes[name] = [...runs.values()].map((r) => r.code);
      const mat = [...runs.entries()].find(([k]) => k.startsWith('materialize') && k.endsWith('--json'));
      const id = mat ? runIdOf(mat[1]) : '';
      if (id)
        runs.set('runs show', await startPipeline(env, ['runs', 'show', id, '--no-tui', '--verbose']).done);
      const got = await collect(env, runs);
      searched.texts.push(...got.texts.map(([n, t]): [string, string] => [`${name}: ${n}`, t]));
      searched.bytes += got.bytes;
    }
    const found = leaks(searched, Object.values(planted));
    console.log(
      `[no secrets, all settings] exit codes ${JSON.stringify(codes)}; searched ${searched.texts.length} ` +
        `outputs, ${searched.bytes} characters; leaks: ${found.length}${found.length ? `: ${found.join('; ')}` : ''}`,
    );
    expect(codes.mongo).toEqual([0, 0, 0, 0, 0]);
    expect(codes['mongo-down']![0]).toBe(1);
    expect(codes['dynamo-down']![0]).toBe(1);
    expect(codes['config-error']).toEqual([2, 2]);
    expect(codes['config-error-mongo']).toEqual([2]);
    expect(found).toEqual([]);
    // Controls: the search sees the masked settings where they are printed, and the failures recorded.
    const all = searched.texts.map(([, t]) => t).join('\n');
    expect(all).toContain(`mongodb://cityflow:****@127.0.0.1:${closed}/?authMechanism=PLAIN`);
    expect(all).toContain('tlsCertificateKeyFilePassword=****');
    expect(all).toContain(`http://s3user:****@127.0.0.1:${closed}`); // mode line and env
    expect(all).toContain(`DynamoDB unreachable at http://dynuser:****@127.0.0.1:${closed}`);
    expect(all).toContain('S3_ENDPOINT_URL (got "ftp//s3user:****@host")');
    expect(searched.texts.filter(([n]) => /mongo-down: .*index/.test(n)).length).toBeGreaterThan(0);
  }, 180_000);
});
