/**
 * S3 faults at the wire: a real fault-injecting proxy (fault-proxy.ts) in front of the real Ceph
 * gateway serves HTTP 500, 503 SlowDown, dropped and reset connections, bodies shorter than their
 * Content-Length, and a closed port. Checked against S3SourceIO and the real `pipeline` CLI:
 * retries happen (counted at the proxy), no cache file is ever corrupt (every cached body matches its
 * sidecar's size and its MD5 ETag), persistent failure falls back to local files with exactly one
 * warning, and the run log says which source served each unit.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LocalSourceIO } from '../../io-managers/local-source.ts';
import { createS3Client } from '../../io-managers/s3/client.ts';
import { S3SourceIO } from '../../io-managers/s3/s3-source.ts';
import { syncToS3 } from '../../io-managers/s3/upload.ts';
import { freshBucket, put, s3ModeEnv, s3SkipReason, testClient } from '../s3/helpers.ts';
import { SAMPLE, scratchProject, startPipeline } from './cli-process.ts';
import { FaultProxy, type RequestInfo, type RequestRecord } from './fault-proxy.ts';

const skip = s3SkipReason();
const tmpDirs: string[] = [];
const tempDir = async (label: string): Promise<string> => {
  const d = await mkdtemp(path.join(tmpdir(), `cityflow-fault-${label}-`));
  tmpDirs.push(d);
  return d;
};

/** Object GETs (not listings) whose key contains `part`. */
const getOf =
  (part: string) =>
  (r: RequestInfo): boolean =>
    r.method === 'GET' && !r.query.includes('list-type') && r.path.includes(part);
/** Any request for the raw prefix `raw/` (object GETs and listings), not the report uploads. */
const isRaw = (r: RequestInfo): boolean => r.path.includes('/raw/') || /(^|&)prefix=raw/.test(r.query);
const isRawGet = (r: RequestInfo): boolean =>
  isRaw(r) && r.method === 'GET' && !r.query.includes('list-type');
const isList = (r: RequestInfo): boolean => r.method === 'GET' && r.query.includes('list-type');

/** Milliseconds between consecutive requests (the client's backoff, as seen at the wire). */
const gaps = (rs: RequestRecord[]): number[] => rs.slice(1).map((r, i) => r.atMs - rs[i]!.atMs);

export interface CacheAudit {
  files: number;
  bytes: number;
  /** Bodies whose size or MD5 differs from their sidecar, or without a sidecar. */
  corrupt: string[];
  /** Temp files left in `<cache>/tmp`. */
  leftovers: number;
}

/**
 * Every body under `<cache>/objects` must have a sidecar whose size matches and whose ETag is the
 * body's MD5 (single-part uploads: the S3 ETag is the MD5 of the bytes).
 */
export async function auditCache(cacheDir: string): Promise<CacheAudit> {
  const audit: CacheAudit = { files: 0, bytes: 0, corrupt: [], leftovers: 0 };
  const objects = path.join(cacheDir, 'objects');
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        await walk(p);
        continue;
      }
      const rel = path.relative(objects, p);
      const body = await readFile(p);
      audit.files++;
      audit.bytes += body.length;
      const meta = await readFile(path.join(cacheDir, 'meta', `${rel}.json`), 'utf8')
        .then((t) => JSON.parse(t) as { etag: string; size: number })
        .catch(() => null);
      const md5 = createHash('md5').update(body).digest('hex');
      if (!meta || meta.size !== body.length || meta.etag.replace(/"/g, '') !== md5) audit.corrupt.push(rel);
    }
  };
  await walk(objects);
  audit.leftovers = (await readdir(path.join(cacheDir, 'tmp')).catch(() => [])).length;
  return audit;
}

afterAll(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

describe.skipIf(skip !== '')(`S3SourceIO behind a fault proxy${skip ? ` — SKIPPED: ${skip}` : ''}`, () => {
  let direct: S3Client;
  let bucket: string;
  let proxy: FaultProxy;
  const clients: S3Client[] = [];
  const hourBody = (h: string): string => JSON.stringify({ hour: h, pad: 'x'.repeat(4000) });
  const hourKey = (h: string): string => `raw/api/bikes/dt=2025-11-04/hour=${h}/bikes_data.json`;

  const proxiedClient = (maxAttempts?: number): S3Client => {
    const c = createS3Client({
      region: 'eu-west-3',
      endpoint: proxy.url,
      forcePathStyle: true,
      credentials: { accessKeyId: inject('s3AccessKeyId'), secretAccessKey: inject('s3SecretAccessKey') },
      ...(maxAttempts !== undefined && { maxAttempts }),
    });
    clients.push(c);
    return c;
  };

  const source = async (
    label: string,
    opts: { fallbackDir?: string; client?: S3Client } = {},
  ): Promise<{ src: S3SourceIO; cacheDir: string; warnings: string[] }> => {
    const cacheDir = await tempDir(`${label}-cache`);
    const warnings: string[] = [];
    const src = new S3SourceIO({
      client: opts.client ?? proxiedClient(),
      bucket,
      prefix: 'raw',
      cacheDir,
      concurrency: 4,
      ...(opts.fallbackDir && { fallback: new LocalSourceIO({ dataDir: opts.fallbackDir }) }),
      warn: (m) => warnings.push(m),
    });
    return { src, cacheDir, warnings };
  };

  beforeAll(async () => {
    direct = testClient();
    bucket = await freshBucket(direct, 'faults');
    for (const h of ['01', '02', '03', '04']) await put(direct, bucket, hourKey(h), hourBody(h));
    proxy = await FaultProxy.start(inject('s3Endpoint'));
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    direct?.destroy();
    await proxy?.close();
  });

  it('HTTP 500 then 503 SlowDown on a GET: retried with backoff at the wire, then served from S3', async () => {
    proxy.clearFaults();
    proxy.resetLog();
    proxy
      .inject({
        match: getOf('hour=02'),
        times: 1,
        fault: { kind: 'status', status: 500, code: 'InternalError' },
      })
      .inject({
        match: getOf('hour=02'),
        times: 1,
        fault: { kind: 'status', status: 503, code: 'SlowDown' },
      });
    const { src, cacheDir, warnings } = await source('status', { fallbackDir: await tempDir('empty') });
    const set = await src.resolve({ prefix: 'api/bikes/dt=2025-11-04', recursive: true });
    const attempts = proxy.requests.filter(getOf('hour=02'));
    console.log(
      `[500+503] GETs of hour=02 seen at the proxy: ${attempts.length} (faults: ${attempts.map((r) => r.status).join(', ')}); ` +
        `backoff gaps ms: ${gaps(attempts).join(', ')}; total requests ${proxy.count()}`,
    );
    // 1 answered 500, 1 answered 503, the 3rd forwarded to Ceph (200).
    expect(attempts.map((r) => r.status)).toEqual([500, 503, 200]);
    expect(proxy.count(getOf('hour=01'))).toBe(1);
    expect(set.origin).toBe(`s3://${bucket}/raw`);
    expect(await readFile(set.files[1]!.path, 'utf8')).toBe(hourBody('02'));
    expect(warnings).toEqual([]);
    const audit = await auditCache(cacheDir);
    expect(audit).toEqual({ files: 4, bytes: 4 * hourBody('01').length, corrupt: [], leftovers: 0 });
  });

  it('503 SlowDown on the listing: retried, the listing then succeeds', async () => {
    proxy.clearFaults();
    proxy.resetLog();
    proxy.inject({ match: isList, times: 2, fault: { kind: 'status', status: 503, code: 'SlowDown' } });
    const { src } = await source('list503');
    const obs = await src.observe({ prefix: 'api/bikes/dt=2025-11-04', recursive: true });
    const lists = proxy.requests.filter(isList);
    console.log(`[503 list] listings seen: ${lists.length}; backoff gaps ms: ${gaps(lists).join(', ')}`);
    expect(lists.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(obs.fileCount).toBe(4);
  });

  it('connection reset mid-body and a body shorter than Content-Length: retried, never a corrupt cache file', async () => {
    proxy.clearFaults();
    proxy.resetLog();
    proxy
      .inject({ match: getOf('hour=03'), times: 1, fault: { kind: 'reset-mid-body', afterBytes: 1000 } })
      .inject({ match: getOf('hour=04'), times: 1, fault: { kind: 'short-body', missingBytes: 10 } });
    const { src, cacheDir, warnings } = await source('body', { fallbackDir: await tempDir('empty') });
    const set = await src.resolve({ prefix: 'api/bikes/dt=2025-11-04', recursive: true });
    const r3 = proxy.requests.filter(getOf('hour=03'));
    const r4 = proxy.requests.filter(getOf('hour=04'));
    console.log(
      `[body faults] hour=03 GETs ${r3.length} (bytes sent ${r3.map((r) => r.bodyBytes).join(', ')}); ` +
        `hour=04 GETs ${r4.length} (bytes sent ${r4.map((r) => r.bodyBytes).join(', ')}); warnings ${warnings.length}`,
    );
    // Body of each hour file: `{"hour":"03","pad":"` (20 bytes) + 4,000 'x' + `"}` (2) = 4,022 bytes.
    // Each broken body is fetched again by downloadToCache (the SDK only retries up to the headers).
    expect(r3.map((r) => r.bodyBytes)).toEqual([1000, 4022]);
    expect(r4.map((r) => r.bodyBytes)).toEqual([4012, 4022]);
    expect(set.origin).toBe(`s3://${bucket}/raw`);
    expect(warnings).toEqual([]);
    for (const f of set.files) expect((await stat(f.path)).size).toBe(4022);
    expect(await auditCache(cacheDir)).toEqual({ files: 4, bytes: 4 * 4022, corrupt: [], leftovers: 0 });
  });

  it('a body fault on every attempt: no cache file at all, and the fallback serves local files', async () => {
    proxy.clearFaults();
    proxy.resetLog();
    proxy.inject({ match: getOf('hour=03'), fault: { kind: 'short-body', missingBytes: 1 } });
    const local = await tempDir('local');
    const localHour = path.join(local, 'api/bikes/dt=2025-11-04/hour=03');
    await mkdir(localHour, { recursive: true });
    await writeFile(path.join(localHour, 'bikes_data.json'), '{"local":true}');
    const { src, cacheDir, warnings } = await source('persistent-body', { fallbackDir: local });
    const set = await src.resolve({ prefix: 'api/bikes/dt=2025-11-04/hour=03' });
    const tries = proxy.requests.filter(getOf('hour=03'));
    console.log(
      `[persistent short body] GETs ${tries.length}, bytes each ${tries.map((r) => r.bodyBytes).join(', ')}`,
    );
    expect(tries.map((r) => r.bodyBytes)).toEqual([4021, 4021, 4021]); // DEFAULT_BODY_ATTEMPTS
    expect(set.origin).toMatch(/^local:.* \(fallback: /);
    expect(await readFile(set.files[0]!.path, 'utf8')).toBe('{"local":true}');
    expect(warnings).toHaveLength(1);
    expect(await auditCache(cacheDir)).toEqual({ files: 0, bytes: 0, corrupt: [], leftovers: 0 });
  });

  it('persistent 503: the client gives up after 4 attempts, ONE warning, then local files without new requests', async () => {
    proxy.clearFaults();
    proxy.resetLog();
    proxy.inject({ match: () => true, fault: { kind: 'status', status: 503, code: 'SlowDown' } });
    const local = await tempDir('local503');
    await mkdir(path.join(local, 'api/bikes/dt=2025-11-04/hour=01'), { recursive: true });
    await writeFile(path.join(local, 'api/bikes/dt=2025-11-04/hour=01/bikes_data.json'), '{}');
    const { src, warnings } = await source('p503', { fallbackDir: local });
    const loc = { prefix: 'api/bikes/dt=2025-11-04', recursive: true };
    const first = await src.resolve(loc);
    const seen = proxy.count();
    await src.observe(loc);
    await src.resolve(loc);
    await src.listFolders('api/bikes');
    console.log(`[persistent 503] requests before giving up: ${seen}; after: ${proxy.count() - seen}`);
    expect(seen).toBe(4); // DEFAULT_MAX_ATTEMPTS of one ListObjectsV2
    expect(proxy.count()).toBe(seen);
    expect(first.origin).toBe(`local:${local} (fallback: S3 SlowDown (HTTP 503))`);
    expect(warnings).toEqual([
      `S3 raw input s3://${bucket}/raw failed after retries (S3 SlowDown (HTTP 503)); ` +
        'reading raw files from local instead for the rest of this run',
    ]);
  });

  it('port closed between two resolves: the first partition from S3, the second from local, one warning', async () => {
    proxy.clearFaults();
    proxy.resetLog();
    const local = await tempDir('local-refused');
    await mkdir(path.join(local, 'api/bikes/dt=2025-11-04/hour=02'), { recursive: true });
    await writeFile(path.join(local, 'api/bikes/dt=2025-11-04/hour=02/bikes_data.json'), '{}');
    const { src, cacheDir, warnings } = await source('refused', { fallbackDir: local });
    const a = await src.resolve({ prefix: 'api/bikes/dt=2025-11-04/hour=01' });
    await proxy.refuseConnections();
    try {
      const b = await src.resolve({ prefix: 'api/bikes/dt=2025-11-04/hour=02' });
      console.log(
        `[port closed] requests served before closing: ${proxy.count()}; origins: ${a.origin} | ${b.origin}`,
      );
      expect(a.origin).toBe(`s3://${bucket}/raw`);
      expect(b.origin).toBe(`local:${local} (fallback: S3 unreachable: ECONNREFUSED)`);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('S3 unreachable: ECONNREFUSED');
      expect(await auditCache(cacheDir)).toEqual({ files: 1, bytes: 4022, corrupt: [], leftovers: 0 });
    } finally {
      await proxy.acceptConnections();
    }
  });
});

interface RunLogEvent {
  type: string;
  asset?: string;
  partition?: string;
  metadata?: { sources?: string[] };
}

/** The materialize run: exit code, output, and its run log's events (`STATE_DIR/runs/<id>.jsonl`). */
async function materialize(env: NodeJS.ProcessEnv, ...extra: string[]) {
  const r = await startPipeline(env, ['materialize', '--all', '--json', ...extra]).done;
  const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) || '{}') as {
    runId?: string;
    status?: string;
    materialized?: number;
    degraded?: boolean;
    degradedReason?: string;
  };
  const log = summary.runId
    ? (await readFile(path.join(env.STATE_DIR!, 'runs', `${summary.runId}.jsonl`), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as RunLogEvent)
    : [];
  const sourced = log.filter((e) => e.type === 'materialized' && e.metadata?.sources);
  return { ...r, summary, log, sourced };
}

/**
 * Metric outputs (relative path → text). Reports are left out: a run over three days has no report
 * of the week before to compare with, so its reports legitimately differ from an all-days run.
 */
async function outputs(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const asset of await readdir(dir)) {
    if (!asset.endsWith('_metrics')) continue;
    for (const f of await readdir(path.join(dir, asset)))
      out.set(`${asset}/${f}`, await readFile(path.join(dir, asset, f), 'utf8'));
  }
  return out;
}

describe.skipIf(skip !== '')(`pipeline CLI behind a fault proxy${skip ? ` — SKIPPED: ${skip}` : ''}`, () => {
  let direct: S3Client;
  let bucket: string;
  let proxy: FaultProxy;
  let root: string;
  let base: NodeJS.ProcessEnv;
  let cleanRun: Map<string, string>;

  const envFor = (label: string, dataDir: string): NodeJS.ProcessEnv => ({
    ...base,
    DATA_DIR: dataDir,
    OUTPUT_DIR: path.join(root, `${label}-output`),
    STATE_DIR: path.join(root, `${label}-state`),
    S3_CACHE_DIR: path.join(root, `${label}-cache`),
  });

  beforeAll(async () => {
    direct = testClient();
    bucket = await freshBucket(direct, 'cli-faults');
    await syncToS3(SAMPLE, direct, bucket, 'raw');
    proxy = await FaultProxy.start(inject('s3Endpoint'));
    const p = await scratchProject('cityflow-s3-faults-');
    root = p.root;
    tmpDirs.push(root);
    base = s3ModeEnv(p.env, bucket, proxy.url);
  });
  afterAll(async () => {
    direct?.destroy();
    await proxy?.close();
  });

  it('transient 500 / 503 / reset / short body on 8 objects: all retried, every unit served from S3, no warning', async () => {
    proxy.clearFaults();
    proxy.resetLog();
    // The first GET of each of the first 8 distinct raw objects gets one fault, in turn:
    // 500, 503 SlowDown, reset after 100 bytes, 5 bytes short. Every object is faulted at most once.
    const faults = [
      { kind: 'status', status: 500, code: 'InternalError' },
      { kind: 'status', status: 503, code: 'SlowDown' },
      { kind: 'reset-mid-body', afterBytes: 100 },
      { kind: 'short-body', missingBytes: 5 },
    ] as const;
    const seen = new Set<string>();
    faults.forEach((fault, i) =>
      proxy.inject({
        match: (r) => {
          if (!isRawGet(r) || seen.has(r.path) || seen.size >= 8 || seen.size % 4 !== i) return false;
          seen.add(r.path);
          return true;
        },
        fault,
      }),
    );
    const empty = path.join(root, 'no-local-raw'); // proves nothing came from a fallback
    await mkdir(empty, { recursive: true });
    const env = envFor('transient', empty);
    // Three of the sample's eight days keep the run short (S3 mode lists every hourly folder).
    const run = await materialize(env, '--from', '2025-11-02', '--to', '2025-11-04');
    const gets = proxy.requests.filter(isRawGet);
    const faulted = gets.filter((r) => r.fault);
    const objects = new Set(gets.map((r) => r.path));
    const audit = await auditCache(env.S3_CACHE_DIR!);
    console.log(
      `[cli transient] raw object GETs ${gets.length} for ${objects.size} objects, faulted ${faulted.length} ` +
        `(${faulted.map((r) => r.fault).join(', ')}), listings ${proxy.count(isList)}; ` +
        `units with sources ${run.sourced.length}; cache ${audit.files} files / ${audit.bytes} bytes`,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.summary.status).toBe('success');
    expect(run.stderr).not.toMatch(/warning:|\(fallback: |Degraded/);
    expect(run.summary.degraded).toBeUndefined();
    expect(run.stderr).not.toContain('MaxListenersExceededWarning');
    expect(faulted).toHaveLength(8);
    // Each faulted object was fetched exactly twice, every other object once.
    expect(gets.length).toBe(objects.size + 8);
    for (const f of faulted) expect(gets.filter((r) => r.path === f.path)).toHaveLength(2);
    expect(run.sourced.length).toBeGreaterThan(0);
    for (const e of run.sourced) expect(e.metadata!.sources).toEqual([`s3://${bucket}/raw`]);
    expect(audit.files).toBe(objects.size);
    expect(audit.corrupt).toEqual([]);
    expect(audit.leftovers).toBe(0);
    cleanRun = await outputs(env.OUTPUT_DIR!);
    expect(cleanRun.size).toBeGreaterThan(0);
  }, 120_000);

  it('S3 throttles every raw request after 10 objects: ONE warning, later units from local, same results', async () => {
    proxy.clearFaults();
    proxy.resetLog();
    let served = 0;
    proxy.inject({
      match: (r) => isRaw(r) && (served >= 10 || (isRawGet(r) && ++served > 10)),
      fault: { kind: 'status', status: 503, code: 'SlowDown' },
    });
    const env = envFor('dying', path.join(root, 'data'));
    const run = await materialize(env);
    const s3Url = `s3://${bucket}/raw`;
    const fallback = `local:${env.DATA_DIR} (fallback: S3 SlowDown (HTTP 503))`;
    const bySource = { s3: 0, local: 0, both: 0 };
    for (const e of run.sourced) {
      const s = e.metadata!.sources!;
      for (const x of s) expect([s3Url, fallback]).toContain(x);
      if (s.length === 2) bySource.both++;
      else if (s[0] === s3Url) bySource.s3++;
      else bySource.local++;
    }
    const warnings = run.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    const audit = await auditCache(env.S3_CACHE_DIR!);
    console.log(
      `[cli dying] requests ${proxy.count()} (503 answered: ${proxy.count((r) => r.status === 503)}), ` +
        `units from S3 only ${bySource.s3}, local only ${bySource.local}, both ${bySource.both}; ` +
        `warnings ${warnings.length}; cache ${audit.files} files`,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(warnings).toEqual([
      `warning: S3 raw input ${s3Url} failed after retries (S3 SlowDown (HTTP 503)); ` +
        'reading raw files from local instead for the rest of this run',
    ]);
    expect(run.stderr).not.toContain('MaxListenersExceededWarning');
    // The run says it was degraded, in its summary and in --json.
    expect(run.summary).toMatchObject({ degraded: true, degradedReason: 'S3 SlowDown (HTTP 503)' });
    expect(run.stderr).toContain(`Degraded: raw input read from DATA_DIR (${env.DATA_DIR})`);
    expect(bySource.s3).toBeGreaterThan(0);
    expect(bySource.local + bySource.both).toBeGreaterThan(0);
    expect(audit.corrupt).toEqual([]);
    expect(audit.files).toBe(10);
    // Same bytes in S3 and in DATA_DIR: the metrics of the days both runs built are identical.
    const dying = await outputs(env.OUTPUT_DIR!);
    for (const [k, v] of cleanRun) expect(dying.get(k), k).toBe(v);
  }, 120_000);

  it('access denied is a configuration error: no fallback, one message naming bucket, prefix and action', async () => {
    proxy.clearFaults();
    proxy.resetLog();
    proxy.inject({ match: (r) => isRaw(r), fault: { kind: 'status', status: 403, code: 'AccessDenied' } });
    const env = envFor('denied', path.join(root, 'data'));
    const run = await materialize(env, '--partition', '2025-11-04');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(`S3 raw input s3://${bucket}/raw/[^ ]+: S3 AccessDenied \\(HTTP 403\\)\\..*s3:ListBucket`),
    );
    expect(run.stderr).not.toMatch(/warning:|fallback|Degraded/);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(run.summary.runId).toBeUndefined(); // stopped at planning: nothing computed
    expect(await readdir(env.OUTPUT_DIR!).catch(() => [])).toEqual([]);
  }, 120_000);

  it('S3_FALLBACK=off: S3 failing after retries fails the run instead of reading DATA_DIR', async () => {
    proxy.clearFaults();
    proxy.resetLog();
    proxy.inject({ match: (r) => isRaw(r), fault: { kind: 'status', status: 503, code: 'SlowDown' } });
    const env = { ...envFor('nofallback', path.join(root, 'data')), S3_FALLBACK: 'off' };
    const run = await materialize(env, '--partition', '2025-11-04');
    expect(run.code, run.stderr).toBe(1);
    expect(run.summary).toMatchObject({ status: 'failed', materialized: 0 });
    expect(run.summary.degraded).toBeUndefined();
    expect(run.stderr).not.toMatch(/warning: S3 raw input|Degraded/);
    expect(run.sourced).toEqual([]);
  }, 180_000);
});
