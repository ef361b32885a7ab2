/**
 * Listings at scale (issue 14): in S3 mode a run lists each source prefix once (paginated), shared by
 * planning and execution, so the number of LIST requests does not grow with the number of hourly
 * folders; a no-op run downloads no body. Counted at the wire, through a proxy in front of Ceph RGW,
 * on the real `pipeline` command (Paris config, generated hourly raw data).
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { daysFrom, hourlyRawFiles } from '../../bench/hourly-raw.ts';
import { S3SourceIO } from '../../io-managers/s3/s3-source.ts';
import { FaultProxy, type RequestRecord } from '../faults/fault-proxy.ts';
import { startPipeline } from '../faults/cli-process.ts';
import { countCommands, freshBucket, put, s3ModeEnv, s3SkipReason, testClient } from './helpers.ts';

const skip = s3SkipReason();
const tmpDirs: string[] = [];
afterAll(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

const isList = (r: RequestRecord) => r.method === 'GET' && /(^|&)list-type=2(&|$)/.test(r.query);
const isObjectGet = (r: RequestRecord) => r.method === 'GET' && !r.query.includes('list-type=');

interface Summary {
  status?: string;
  materialized?: number;
  rawInput?: {
    listRequests: number;
    listed: number;
    downloaded: number;
    downloadedBytes: number;
    fromCache: number;
  };
}

describe.skipIf(skip !== '')(`listings at scale on Ceph RGW${skip ? ` — SKIPPED: ${skip}` : ''}`, () => {
  let client: S3Client;
  let proxy: FaultProxy;

  beforeAll(async () => {
    client = testClient();
    proxy = await FaultProxy.start(inject('s3Endpoint'));
  });
  afterAll(async () => {
    client?.destroy();
    await proxy?.close();
  });

  /** A bucket holding `days` days of hourly raw data under `raw/`, and a project (output, state, cache). */
  async function project(days: number) {
    const bucket = await freshBucket(client, `scale${days}`);
    const files = hourlyRawFiles(daysFrom('2025-03-01', days));
    await pLimit(16).map(files, (f) => put(client, bucket, `raw/${f.key}`, f.body));
    const root = await mkdtemp(path.join(tmpdir(), 'cityflow-listings-'));
    tmpDirs.push(root);
    await mkdir(path.join(root, 'data')); // DATA_DIR: the fallback, empty (S3_FALLBACK=off anyway)
    const env: NodeJS.ProcessEnv = {
      ...s3ModeEnv({ PATH: process.env.PATH, HOME: root, CI: 'true' }, bucket, proxy.url),
      DATA_DIR: path.join(root, 'data'),
      OUTPUT_DIR: path.join(root, 'output'),
      STATE_DIR: path.join(root, 'state'),
      S3_CACHE_DIR: path.join(root, 'cache'),
      S3_FALLBACK: 'off',
    };
    return { bucket, files, env };
  }

  /** One `materialize --all --json` run: its summary, stderr, and the requests it sent to the bucket. */
  async function run(p: { bucket: string; env: NodeJS.ProcessEnv }) {
    proxy.resetLog();
    const r = await startPipeline(p.env, ['materialize', '--all', '--json']).done;
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) || '{}') as Summary;
    const mine = proxy.requests.filter((q) => q.path.startsWith(`/${p.bucket}`));
    return {
      ...r,
      summary,
      lists: mine.filter(isList).length,
      gets: mine.filter(isObjectGet).filter((q) => q.path.startsWith(`/${p.bucket}/raw/`)).length,
    };
  }

  it('LIST requests per run do not grow with the hours (1 vs 4 days); the no-op run downloads 0 bodies', async () => {
    const lists: number[] = [];
    for (const days of [1, 4]) {
      const p = await project(days);
      const first = await run(p);
      expect(first.code, first.stderr).toBe(0);
      expect(first.summary.status).toBe('success');
      // Each hourly file is downloaded once: planning and execution share one listing.
      expect(first.gets).toBe(p.files.length);
      expect(first.summary.rawInput).toMatchObject({ downloaded: p.files.length, fromCache: 0 });

      const noop = await run(p);
      expect(noop.code, noop.stderr).toBe(0);
      expect(noop.summary.materialized).toBe(0);
      expect(noop.gets).toBe(0);
      expect(noop.summary.rawInput).toEqual({
        listRequests: expect.any(Number),
        listed: p.files.length,
        downloaded: 0,
        downloadedBytes: 0,
        fromCache: 0,
      });
      // The text summary (stderr with --json) says the same.
      expect(noop.stderr).toContain(
        `Raw input from S3: ${p.files.length} objects listed (${noop.summary.rawInput!.listRequests} LIST requests), ` +
          '0 downloaded (0 B), 0 served from the cache',
      );
      // Per-folder listing sent one LIST per hourly folder and source (72 a day, twice when computing).
      expect(first.lists).toBeLessThanOrEqual(6);
      expect(noop.lists).toBeLessThanOrEqual(6);
      // The no-op run listed early what the first one listed, found objects, and so sent no preflight
      // request of its own (`MaxKeys: 1`); the first run did.
      expect(noop.lists).toBe(first.lists - 1);
      lists.push(first.lists);

      if (days === 4) {
        // One hourly object changes (same size, new ETag): exactly its units run, and only it is downloaded.
        const changed = p.files.find((f) => f.key === 'api/bikes/dt=2025-03-02/hour=10/bikes_data.csv')!;
        const cells = changed.body.trimEnd().split('\n')[1]!.split(';');
        cells[4] = String((Number(cells[4]) + 1) % 10) + cells[4]!.slice(1);
        const body = changed.body.replace(changed.body.trimEnd().split('\n')[1]!, cells.join(';'));
        expect(body.length).toBe(changed.body.length);
        expect(body).not.toBe(changed.body);
        await put(client, p.bucket, `raw/${changed.key}`, body);
        const plan = await startPipeline(p.env, ['plan', '--all', '--json']).done;
        const units = (
          JSON.parse(plan.stdout) as { units: { asset: string; partition: string; decision: string }[] }
        ).units;
        const toRun = units.filter((u) => u.decision === 'run');
        expect(toRun.filter((u) => u.asset === 'bikes_metrics').map((u) => u.partition)).toEqual([
          '2025-03-02',
        ]);
        expect(
          toRun.every((u) => ['bikes_metrics', 'daily_report', 'daily_report_csv'].includes(u.asset)),
        ).toBe(true);
        const after = await run(p);
        expect(after.code, after.stderr).toBe(0);
        expect(after.summary.materialized).toBe(toRun.length);
        expect(after.gets).toBe(1);
      }
    }
    expect(new Set(lists).size).toBe(1); // the same count for 24 and 96 hours
  }, 300_000); // five pipeline runs and 360 uploads, on a shared machine
});

describe.skipIf(skip !== '')(`S3SourceIO listOncePerRun${skip ? ` — SKIPPED: ${skip}` : ''}`, () => {
  let client: S3Client;
  let counter: ReturnType<typeof countCommands>;
  let bucket: string;
  let source: S3SourceIO;
  let cacheDir: string;

  beforeAll(async () => {
    client = testClient();
    counter = countCommands(client);
    bucket = await freshBucket(client, 'listonce');
    // 1,440 hourly files of bikes and weather, and 5 more keys below.
    const files = hourlyRawFiles(daysFrom('2025-01-01', 30)).filter((f) => !f.key.startsWith('api/traffic'));
    await pLimit(16).map(files, (f) => put(client, bucket, `raw/${f.key}`, f.body));
    await put(client, bucket, 'raw/api/bikes/dt=2025-01-01/hour=00/readme.txt', 'not data');
    await put(client, bucket, 'raw/api/bikes/dt=2025-01-01/', ''); // a folder placeholder
    await put(client, bucket, 'raw/api/bikes/dt=2025-02-01/', ''); // an empty folder
    // Keys sorting between the ranges a listing is cut into: a folder before `bikes/` (`!` < `/`), a
    // file directly in `api/` after every `bikes/` key (`0` > `/`).
    await put(client, bucket, 'raw/api/bikes!/x.csv', 'a;b\n');
    await put(client, bucket, 'raw/api/bikes0.csv', 'a;b\n');
    cacheDir = await mkdtemp(path.join(tmpdir(), 'cityflow-listonce-'));
    tmpDirs.push(cacheDir);
    source = new S3SourceIO({ client, bucket, prefix: 'raw', cacheDir, listOncePerRun: true });
  });
  afterAll(() => client?.destroy());

  const hour = (day: string, hh: string) => ({
    prefix: `api/bikes/dt=${day}/hour=${hh}`,
    match: /\.(json|jsonl|csv)$/i,
  });

  it('answers folders, observations and resolves from one paginated listing per source prefix', async () => {
    counter.reset();
    expect(await source.listFolders('api')).toEqual(['bikes', 'bikes!', 'weather']);
    // `api/`: one request for its folders, then each folder's range (< 1,000 keys: one page each).
    expect(counter.counts.ListObjectsV2Command).toBe(4);
    // Every file exactly once, though the ranges' pages overlap.
    expect(await source.observe({ prefix: 'api', recursive: true })).toMatchObject({ fileCount: 1440 + 3 });
    expect((await source.resolve({ prefix: 'api' })).files.map((f) => f.key)).toEqual(['api/bikes0.csv']);
    expect(await source.listFolders('api/bikes')).toEqual([
      ...daysFrom('2025-01-01', 30).map((d) => `dt=${d}`),
      'dt=2025-02-01',
    ]);
    expect((await source.listFolders('api/bikes/dt=2025-01-01')).length).toBe(24);
    const obs = await Promise.all(
      daysFrom('2025-01-01', 30).flatMap((d) => ['00', '13', '23'].map((h) => source.observe(hour(d, h)))),
    );
    expect(obs.every((o) => o.fileCount === 1)).toBe(true);
    expect(await source.observe({ prefix: 'api/bikes/dt=2025-02-01' })).toMatchObject({ fileCount: 0 });
    // Not recursive: only the folder's own files, placeholders and other names left out.
    const set = await source.resolve({ prefix: 'api/bikes/dt=2025-01-01/hour=00' });
    expect(set.files.map((f) => f.key)).toEqual([
      'api/bikes/dt=2025-01-01/hour=00/bikes_data.csv',
      'api/bikes/dt=2025-01-01/hour=00/readme.txt',
    ]);
    const recursive = await source.resolve({ prefix: 'api/weather/dt=2025-01-02', recursive: true });
    expect(recursive.files).toHaveLength(24);
    expect(counter.counts.ListObjectsV2Command).toBe(4); // no LIST after the first listing
    expect(counter.counts.GetObjectCommand).toBe(27);
    expect(source.stats()).toMatchObject({ listRequests: 4, listed: 1445, downloaded: 27, fromCache: 0 });

    // A new object is not seen within the run (planning and execution agree), but after newRun().
    await put(client, bucket, 'raw/api/bikes/dt=2025-01-01/hour=00/more.csv', 'a;b\n');
    expect((await source.observe(hour('2025-01-01', '00'))).fileCount).toBe(1);
    source.newRun();
    counter.reset();
    expect((await source.observe(hour('2025-01-01', '00'))).fileCount).toBe(2);
    // The source prefix alone (api/bikes/) is listed now: its 31 day folders in 8 ranges of one page.
    expect(counter.counts).toEqual({ ListObjectsV2Command: 1 + 8 });
  });

  it('records the roots a run listed; the next run lists them before it is asked, once', async () => {
    await source.saveListingRoots();
    const recorded = JSON.parse(await readFile(path.join(cacheDir, 'listings.json'), 'utf8')) as unknown;
    expect(recorded).toEqual({ [bucket]: ['raw/api/bikes/'] });
    const next = new S3SourceIO({ client, bucket, prefix: 'raw', cacheDir, listOncePerRun: true });
    counter.reset();
    next.prefetch();
    await vi.waitFor(() => expect(next.stats().listRequests).toBe(1 + 8), { timeout: 10_000 });
    expect((await next.observe(hour('2025-01-01', '00'))).fileCount).toBe(2);
    expect((await next.observe(hour('2025-01-30', '23'))).fileCount).toBe(1);
    expect(counter.counts).toEqual({ ListObjectsV2Command: 1 + 8 }); // the questions sent none
    expect(await next.listedObjects()).toBe(true); // what the preflight check would ask
    // A source with another prefix prefetches nothing of this one's.
    const other = new S3SourceIO({ client, bucket, prefix: 'elsewhere', cacheDir, listOncePerRun: true });
    other.prefetch();
    await new Promise((r) => setTimeout(r, 200));
    expect(other.stats().listRequests).toBe(0);
    expect(await other.listedObjects()).toBe(false); // the preflight check then sends its request
  });
});
