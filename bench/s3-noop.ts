/**
 * `npm run bench:s3-noop`: a no-op `pipeline materialize --all` over a year of hourly raw data, in S3
 * mode (Ceph RGW on 127.0.0.1) and in local mode, with the number of LIST and GET requests.
 *
 * Starts its own Ceph RGW, uploads DAYS (365) days × 24 hours × 3 sources of small generated files
 * (bench/hourly-raw.ts: 26,280 objects) once, writes the same files to a local DATA_DIR, runs one
 * computing `materialize --all` per mode (everything is built; in S3 mode every body is downloaded
 * into the cache), then RUNS (3) no-op runs per mode, each a fresh `pipeline` process timed from spawn
 * to exit. The no-op runs in S3 mode talk to the gateway directly; one more goes through a counting
 * proxy (test/faults/fault-proxy.ts) for the LIST and GET figures. Target: S3 no-op ≤ 2 s, 0 GET.
 *
 * BENCH_CLI=/path/to/pipeline/bin.mjs runs another checkout's CLI instead. COMPARE_CLI=/path/to/bin.mjs
 * adds, after the S3 no-op runs, COMPARE_RUNS (1) no-op runs of that CLI on the same state, cache and bucket (e.g. a
 * copy of the tree before the listings change: its LIST count is the "before" figure).
 */
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import pLimit from 'p-limit';
import { createS3Client } from '../io-managers/s3/client.ts';
import { FaultProxy } from '../test/faults/fault-proxy.ts';
import { startCeph } from '../test/servers/ceph.ts';
import { daysFrom, hourlyRawFiles } from './hourly-raw.ts';

const DAYS = Number(process.env.DAYS ?? 365);
const RUNS = Number(process.env.RUNS ?? 3);
const BIN = resolve(process.env.BENCH_CLI ?? join(import.meta.dirname, '..', 'pipeline', 'bin.mjs'));
const COMPARE = process.env.COMPARE_CLI ? resolve(process.env.COMPARE_CLI) : undefined;
const COMPARE_RUNS = Number(process.env.COMPARE_RUNS ?? 1);
/** GNU time, when there, gives each run's CPU time (user + sys): on a loaded machine, the steadier figure. */
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const BUCKET = 'noop';

const load = (): string => loadavg()[0]!.toFixed(1);
const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

interface Summary {
  status?: string;
  materialized?: number;
  skipped?: number;
  durationMs?: number;
  rawInput?: { listRequests: number; listed: number; downloaded: number; fromCache: number };
}

/** One `pipeline materialize --all --json` process: wall time, CPU time and its JSON summary. */
async function materialize(
  env: NodeJS.ProcessEnv,
  bin = BIN,
): Promise<{ ms: number; cpu: string; summary: Summary }> {
  const t0 = performance.now();
  const cmd = [process.execPath, bin, 'materialize', '--all', '--json'];
  const child = spawn(TIME ?? cmd[0]!, TIME ? ['-f', 'cpu %U %S', ...cmd] : cmd.slice(1), {
    env,
    cwd: dirname(dirname(bin)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  const ms = performance.now() - t0;
  if (code !== 0 && code !== 1) throw new Error(`pipeline exited with ${code}:\n${stderr}`);
  const times = /^cpu ([\d.]+) ([\d.]+)$/m.exec(stderr);
  const cpu = times ? `, CPU ${(Number(times[1]) + Number(times[2])).toFixed(2)} s` : '';
  return { ms, cpu, summary: JSON.parse(stdout.trim().split('\n').at(-1) || '{}') as Summary };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const ceph = await startCeph();
const dir = await mkdtemp(join(tmpdir(), 'cityflow-s3noop-'));
let proxy: FaultProxy | undefined;
try {
  const files = hourlyRawFiles(daysFrom('2025-01-01', DAYS));
  console.log(
    `${DAYS} days × 24 hours × 3 sources = ${files.length.toLocaleString('en')} raw objects; ` +
      `CLI ${BIN}; Node ${process.version}`,
  );

  const admin = createS3Client({
    region: 'us-east-1', // CreateBucket: the gateway refuses other location constraints
    endpoint: ceph.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey },
  });
  let t0 = performance.now();
  await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await pLimit(32).map(files, (f) =>
    admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: `raw/${f.key}`, Body: f.body })),
  );
  admin.destroy();
  console.log(`uploaded to Ceph in ${secs(performance.now() - t0)} (load ${load()})`);
  const dataDir = join(dir, 'data');
  await pLimit(32).map(files, async (f) => {
    await mkdir(dirname(join(dataDir, f.key)), { recursive: true });
    await writeFile(join(dataDir, f.key), f.body);
  });

  const base = (mode: string): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: dir,
    CI: 'true',
    DATA_DIR: dataDir,
    OUTPUT_DIR: join(dir, `${mode}-output`),
    STATE_DIR: join(dir, `${mode}-state`),
  });
  const s3Env = (endpoint: string): NodeJS.ProcessEnv => ({
    ...base('s3'),
    USE_S3: 'true',
    S3_FALLBACK: 'off',
    AWS_REGION: 'eu-west-3',
    AWS_ACCESS_KEY_ID: ceph.accessKeyId,
    AWS_SECRET_ACCESS_KEY: ceph.secretAccessKey,
    S3_ENDPOINT_URL: endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    S3_RAW_BUCKET: BUCKET,
    S3_RAW_PREFIX: 'raw',
    S3_REPORTS_BUCKET: BUCKET,
    S3_REPORTS_PREFIX: 'reports',
    S3_CACHE_DIR: join(dir, 's3-cache'),
  });

  proxy = await FaultProxy.start(ceph.endpoint);
  const counted = (label: string) => {
    const lists = proxy!.count((r) => r.method === 'GET' && r.query.includes('list-type=2'));
    const gets = proxy!.count((r) => r.method === 'GET' && !r.query.includes('list-type='));
    const heads = proxy!.count((r) => r.method === 'HEAD');
    const puts = proxy!.count((r) => r.method === 'PUT');
    console.log(`  ${label}: LIST ${lists}, GET ${gets}, HEAD ${heads}, PUT ${puts}`);
    return { lists, gets };
  };

  for (const mode of ['s3', 'local'] as const) {
    const env = mode === 's3' ? s3Env(ceph.endpoint) : base('local');
    console.log(`\n${mode === 's3' ? 'S3 mode (Ceph RGW, loopback)' : 'local mode (DATA_DIR)'}`);
    if (mode === 's3') proxy.resetLog();
    t0 = performance.now();
    const first = await materialize(mode === 's3' ? s3Env(proxy.url) : env);
    console.log(
      `  first run (computes everything): ${secs(first.ms)}, ${first.summary.materialized} units materialized, ` +
        `status ${first.summary.status}${first.summary.rawInput ? `, raw input ${JSON.stringify(first.summary.rawInput)}` : ''}`,
    );
    if (mode === 's3') counted('first run');
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await materialize(env);
      times.push(r.ms);
      console.log(
        `  no-op run ${i + 1}: ${secs(r.ms)}${r.cpu} (engine ${r.summary.durationMs} ms, materialized ${r.summary.materialized}, ` +
          `skipped ${r.summary.skipped}, load ${load()})`,
      );
    }
    if (mode === 's3') {
      proxy.resetLog();
      const r = await materialize(s3Env(proxy.url));
      console.log(
        `  no-op through the counting proxy: ${secs(r.ms)}, raw input ${JSON.stringify(r.summary.rawInput)}`,
      );
      const { gets } = counted('no-op requests');
      console.log(`  GET bodies ${gets} (target 0)`);
      if (COMPARE) {
        console.log(`  compared with ${COMPARE}:`);
        for (let i = 0; i < COMPARE_RUNS; i++) {
          proxy.resetLog();
          const c = await materialize(i === 0 ? s3Env(proxy.url) : env, COMPARE);
          console.log(
            `  no-op run ${i + 1}: ${secs(c.ms)}${c.cpu} (engine ${c.summary.durationMs} ms, materialized ` +
              `${c.summary.materialized}, load ${load()})${i === 0 ? ' through the counting proxy' : ''}`,
          );
          if (i === 0) counted('requests');
        }
      }
    }
    console.log(
      `  → no-op median ${secs(median(times))} of ${RUNS}${mode === 's3' ? ' (target ≤ 2 s)' : ''}`,
    );
  }
} finally {
  await proxy?.close();
  await ceph.stop();
  await rm(dir, { recursive: true, force: true });
}
