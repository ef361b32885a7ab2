/**
 * syncToS3's step events (`onEvent`) on Ceph RGW: the plan, per-file byte progress of a multipart upload
 * at the default 8 MiB part size, skips on a second sync, a dry run that sends nothing, and a failed file
 * that does not stop the others; and `pipeline upload` with piped output (plain lines, as before).
 * Cancellation: an aborted sync leaves no object half-written and no multipart upload open on the server,
 * and `pipeline upload` stops on SIGINT with exit 130.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  type MultipartUpload,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { httpStatusOf } from '../../io-managers/s3/client.ts';
import { listObjects } from '../../io-managers/s3/objects.ts';
import {
  DEFAULT_PART_SIZE,
  SyncCancelled,
  SyncError,
  syncToS3,
  type SyncEvent,
} from '../../io-managers/s3/upload.ts';
import { startPipeline } from '../faults/cli-process.ts';
import { bytes, countCommands, freshBucket, put, s3SkipReason, testClient } from './helpers.ts';

const skip = s3SkipReason();
const MiB = 1024 * 1024;
/** 20 MiB at 8 MiB parts: parts of 8, 8 and 4 MiB. */
const BIG = 20 * MiB;
const SMALL = 'a;b\n1;2\n'; // 8 bytes
const JSON_BODY = '{"n":1}'; // 7 bytes

const ofKey = (events: SyncEvent[], key: string) => events.filter((e) => 'key' in e && e.key === key);

/** 40 MiB at 8 MiB parts: 5 parts, more than the 4 lib-storage sends at once. */
const HUGE = 40 * MiB;

/** Multipart uploads the server still holds under `prefix` (started, neither completed nor aborted). */
async function openUploads(client: S3Client, bucket: string, prefix: string): Promise<MultipartUpload[]> {
  const r = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  return r.Uploads ?? [];
}

/** HTTP status of a HEAD of the key: 200, or the error's status (404 when absent). */
async function headStatus(client: S3Client, bucket: string, key: string): Promise<number | undefined> {
  return client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
    () => 200,
    (err: unknown) => httpStatusOf(err),
  );
}

const md5 = (b: string | Buffer): string => createHash('md5').update(b).digest('hex');

describe.skipIf(skip !== '')(`syncToS3 step events on Ceph RGW${skip ? ` — SKIPPED: ${skip}` : ''}`, () => {
  let client: S3Client;
  let bucket: string;
  let dir: string;

  beforeAll(async () => {
    client = testClient();
    bucket = await freshBucket(client, 'upprog');
    dir = await mkdtemp(path.join(tmpdir(), 'cityflow-upload-progress-'));
    await mkdir(path.join(dir, 'batch'), { recursive: true });
    await writeFile(path.join(dir, 'batch/big.bin'), bytes(BIG, 11));
    await writeFile(path.join(dir, 'batch/chantiers.csv'), SMALL);
    await writeFile(path.join(dir, 'bikes.json'), JSON_BODY);
  });
  afterAll(async () => {
    client?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the default part size is 8 MiB, so the 20 MiB file goes up as multipart', () => {
    expect(DEFAULT_PART_SIZE).toBe(8 * MiB);
  });

  it('a dry run plans and decides every file but sends no byte', async () => {
    const events: SyncEvent[] = [];
    const r = await syncToS3(dir, client, bucket, 'raw', { dryRun: true, onEvent: (e) => events.push(e) });
    expect(r).toEqual({ uploaded: 3, skipped: 0, bytes: BIG + 8 + 7 });
    expect(events[0]).toEqual({ type: 'plan', files: 3, bytes: BIG + 8 + 7 });
    expect(events.filter((e) => e.type === 'upload' || e.type === 'bytes')).toEqual([]);
    expect(events.filter((e) => e.type === 'done').map((e) => [e.key, e.action, e.reason])).toEqual(
      expect.arrayContaining([
        ['raw/batch/big.bin', 'upload', 'new'],
        ['raw/batch/chantiers.csv', 'upload', 'new'],
        ['raw/bikes.json', 'upload', 'new'],
      ]),
    );
    expect(await listObjects(client, bucket, 'raw/')).toEqual([]);
  });

  it('reports the multipart file’s bytes after each part, increasing up to its size', async () => {
    const events: SyncEvent[] = [];
    const progress: string[] = [];
    const r = await syncToS3(dir, client, bucket, 'raw', {
      onEvent: (e) => events.push(e),
      onProgress: (e) => progress.push(e.key),
    });
    expect(r).toEqual({ uploaded: 3, skipped: 0, bytes: BIG + 15 });
    // onProgress still gets one event per settled file.
    expect(progress.sort()).toEqual(['raw/batch/big.bin', 'raw/batch/chantiers.csv', 'raw/bikes.json']);

    const big = ofKey(events, 'raw/batch/big.bin');
    expect(big.map((e) => e.type)).toEqual(['check', 'upload', 'bytes', 'bytes', 'bytes', 'done']);
    expect(big[0]).toEqual({ type: 'check', key: 'raw/batch/big.bin', bytes: BIG });
    expect(big[1]).toEqual({
      type: 'upload',
      key: 'raw/batch/big.bin',
      bytes: BIG,
      reason: 'new',
      multipart: true,
    });
    const loaded = big.flatMap((e) => (e.type === 'bytes' ? [e.loaded] : []));
    // Parts of 8, 8 and 4 MiB are sent up to 4 at once, so they may be acknowledged in any order: each
    // figure is a running sum of acknowledged parts (4, 8, 12 or 16 MiB), and the last is all 20 MiB.
    expect(loaded.slice(0, 2).every((n) => [4, 8, 12, 16].includes(n / MiB))).toBe(true);
    expect(loaded[0]).toBeLessThan(loaded[1]!);
    expect(loaded[1]).toBeLessThan(loaded[2]!);
    expect(loaded[2]).toBe(BIG);
    expect(big.every((e) => e.type !== 'bytes' || e.total === BIG)).toBe(true);

    // A single PUT reports its bytes once, when complete.
    const small = ofKey(events, 'raw/batch/chantiers.csv');
    expect(small.map((e) => e.type)).toEqual(['check', 'upload', 'bytes', 'done']);
    expect(small[1]).toMatchObject({ multipart: false });
    expect(small[2]).toEqual({ type: 'bytes', key: 'raw/batch/chantiers.csv', loaded: 8, total: 8 });

    // done counts 1..3 across files, each total 3.
    const dones = events.filter((e) => e.type === 'done');
    expect(dones.map((e) => e.done).sort()).toEqual([1, 2, 3]);
    expect(dones.every((e) => e.total === 3)).toBe(true);

    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'raw/batch/big.bin' }));
    expect(head.ETag).toMatch(/^"[0-9a-f]{32}-3"$/);
  });

  it('a second sync checks every file and skips it: no upload, no bytes', async () => {
    const events: SyncEvent[] = [];
    const r = await syncToS3(dir, client, bucket, 'raw', { onEvent: (e) => events.push(e) });
    expect(r).toEqual({ uploaded: 0, skipped: 3, bytes: 0 });
    expect(ofKey(events, 'raw/batch/big.bin').map((e) => e.type)).toEqual(['check', 'done']);
    expect(events.filter((e) => e.type === 'done').map((e) => [e.key, e.action, e.reason])).toEqual(
      expect.arrayContaining([['raw/batch/big.bin', 'skip', 'same size and etag']]),
    );
    expect(events.filter((e) => e.type === 'upload' || e.type === 'bytes')).toEqual([]);
  });

  it('a failed file is reported and the others still go up; the sync then throws SyncError', async () => {
    const other = await mkdtemp(path.join(tmpdir(), 'cityflow-upload-fail-'));
    // Fault injection: the server is real, one PUT is refused before it is sent.
    const faulty = testClient({ maxAttempts: 1 });
    faulty.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: string };
        if (context.commandName === 'PutObjectCommand' && input.Key === 'fail/b.csv')
          throw new Error('injected: connection reset');
        return next(args);
      },
      { step: 'initialize', name: 'failOnePut' },
    );
    try {
      await writeFile(path.join(other, 'a.csv'), 'x;1\n'); // 4 bytes
      await writeFile(path.join(other, 'b.csv'), 'y;22\n'); // 5 bytes
      await writeFile(path.join(other, 'c.csv'), 'z;333\n'); // 6 bytes
      const events: SyncEvent[] = [];
      const err = await syncToS3(other, faulty, bucket, 'fail', {
        concurrency: 1,
        onEvent: (e) => events.push(e),
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SyncError);
      const syncErr = err as SyncError;
      expect(syncErr.failures).toEqual([{ key: 'fail/b.csv', message: 'injected: connection reset' }]);
      // a.csv + c.csv = 4 + 6 bytes uploaded.
      expect(syncErr.result).toEqual({ uploaded: 2, skipped: 0, bytes: 10 });
      expect(syncErr.message).toBe(
        '1 of 3 files failed to upload (2 uploaded, 0 skipped); first: fail/b.csv: injected: connection reset',
      );
      // With one file at a time (sorted a, b, c) the settled counter runs 1, 2, 3 through the failure.
      expect(
        events.flatMap((e) => (e.type === 'done' || e.type === 'error' ? [[e.type, e.key, e.done]] : [])),
      ).toEqual([
        ['done', 'fail/a.csv', 1],
        ['error', 'fail/b.csv', 2],
        ['done', 'fail/c.csv', 3],
      ]);
      expect((await listObjects(client, bucket, 'fail/')).map((o) => o.key)).toEqual([
        'fail/a.csv',
        'fail/c.csv',
      ]);
    } finally {
      faulty.destroy();
      await rm(other, { recursive: true, force: true });
    }
  });
});

describe.skipIf(skip !== '')(`syncToS3 cancelled on Ceph RGW${skip ? ` — SKIPPED: ${skip}` : ''}`, () => {
  let client: S3Client;
  let bucket: string;
  let root: string;

  beforeAll(async () => {
    client = testClient();
    bucket = await freshBucket(client, 'upcancel');
    root = await mkdtemp(path.join(tmpdir(), 'cityflow-upload-cancel-'));
  });
  afterAll(async () => {
    client?.destroy();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /**
   * Syncs `dir` to `prefix` and aborts when `abortWhen` first says so (after `beforeAbort`, if given, has
   * run: the sync goes on meanwhile); returns what the sync threw and its events.
   */
  async function cancelledSync(
    dir: string,
    prefix: string,
    abortWhen: (e: SyncEvent) => boolean,
    extra: { concurrency?: number; beforeAbort?: () => Promise<void> } = {},
  ): Promise<{ err: unknown; events: SyncEvent[] }> {
    const ac = new AbortController();
    const events: SyncEvent[] = [];
    let triggered = false;
    let aborting: Promise<void> = Promise.resolve();
    const err = await syncToS3(dir, client, bucket, prefix, {
      signal: ac.signal,
      concurrency: extra.concurrency,
      onEvent: (e) => {
        events.push(e);
        if (triggered || !abortWhen(e)) return;
        triggered = true;
        if (!extra.beforeAbort) return ac.abort();
        aborting = extra.beforeAbort().finally(() => ac.abort());
      },
    }).then(
      () => new Error('the sync was not cancelled'),
      (e: unknown) => e,
    );
    await aborting;
    return { err, events };
  }

  it('aborted after the first part of a 40 MiB multipart upload: no object, no open upload', async () => {
    const dir = path.join(root, 'huge');
    await mkdir(dir);
    await writeFile(path.join(dir, 'huge.bin'), bytes(HUGE, 21));
    const counter = countCommands(client);
    // Before aborting, the server lists the upload in progress (so the empty list at the end means it).
    let during: MultipartUpload[] = [];
    const { err, events } = await cancelledSync(dir, 'mp', (e) => e.type === 'bytes', {
      beforeAbort: async () => void (during = await openUploads(client, bucket, 'mp/')),
    });
    expect(during.map((u) => u.Key)).toEqual(['mp/huge.bin']);

    expect(err).toBeInstanceOf(SyncCancelled);
    const cancelled = err as SyncCancelled;
    expect(cancelled.result).toEqual({ uploaded: 0, skipped: 0, bytes: 0 });
    expect(cancelled.failures).toEqual([]);
    expect(cancelled.message).toBe('Upload cancelled: 0 of 1 files uploaded (0 bytes), 0 skipped');
    // It was cut off after the first acknowledged part, well before all 5 (8 MiB each).
    const loaded = events.flatMap((e) => (e.type === 'bytes' ? [e.loaded] : []));
    expect(loaded.length).toBeGreaterThanOrEqual(1);
    expect(loaded.every((n) => n < HUGE)).toBe(true);
    expect(events.some((e) => e.type === 'done' || e.type === 'error')).toBe(false);
    // The upload was created, then aborted on the server, and never completed.
    expect(counter.counts.CreateMultipartUploadCommand).toBe(1);
    expect(counter.counts.AbortMultipartUploadCommand).toBeGreaterThanOrEqual(1);
    expect(counter.counts.CompleteMultipartUploadCommand).toBeUndefined();

    expect(await headStatus(client, bucket, 'mp/huge.bin')).toBe(404);
    expect(await openUploads(client, bucket, 'mp/')).toEqual([]);
  });

  it('an object cut off while replacing it keeps its previous version', async () => {
    const dir = path.join(root, 'replace');
    await mkdir(dir);
    await writeFile(path.join(dir, 'huge.bin'), bytes(HUGE, 22));
    await put(client, bucket, 'rep/huge.bin', 'old'); // 3 bytes, ETag md5("old")
    const { err } = await cancelledSync(dir, 'rep', (e) => e.type === 'bytes');

    expect(err).toBeInstanceOf(SyncCancelled);
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'rep/huge.bin' }));
    expect([head.ETag, head.ContentLength]).toEqual([`"${md5('old')}"`, 3]);
    expect(await openUploads(client, bucket, 'rep/')).toEqual([]);
  });

  it('aborted while small files are queued: those done before it are there whole, no later one started', async () => {
    const dir = path.join(root, 'small');
    await mkdir(dir);
    // f0.csv .. f5.csv, bodies "row;0\n" .. "row;5\n" (6 bytes each), sent one at a time in name order.
    const body = (i: number): string => `row;${i}\n`;
    for (let i = 0; i < 6; i++) await writeFile(path.join(dir, `f${i}.csv`), body(i));
    const { err, events } = await cancelledSync(
      dir,
      'small',
      (e) => e.type === 'done' && e.key === 'small/f1.csv',
      { concurrency: 1 },
    );

    expect(err).toBeInstanceOf(SyncCancelled);
    // f0 and f1: 2 files of 6 bytes.
    expect((err as SyncCancelled).result).toEqual({ uploaded: 2, skipped: 0, bytes: 12 });
    expect((err as SyncCancelled).message).toBe(
      'Upload cancelled: 2 of 6 files uploaded (12 bytes), 0 skipped',
    );
    // The abort came inside f1's `done`: f2..f5 were still queued and never picked up.
    expect(events.filter((e) => e.type === 'check').map((e) => e.key)).toEqual([
      'small/f0.csv',
      'small/f1.csv',
    ]);
    const listed = await listObjects(client, bucket, 'small/');
    expect(listed.map((o) => [o.key, o.etag.replace(/"/g, ''), o.size])).toEqual([
      ['small/f0.csv', md5(body(0)), 6],
      ['small/f1.csv', md5(body(1)), 6],
    ]);
  });

  it('aborted with 4 single PUTs at once: every object on the server is whole', async () => {
    const dir = path.join(root, 'many');
    await mkdir(dir);
    // 16 files of 1 MiB, distinct bodies.
    const bodies = Array.from({ length: 16 }, (_, i) => bytes(MiB, 100 + i));
    for (const [i, b] of bodies.entries())
      await writeFile(path.join(dir, `p${String(i).padStart(2, '0')}.bin`), b);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { err } = await cancelledSync(dir, 'many', (e) => e.type === 'done');
    const warned = warn.mock.calls.map((c) => String(c[0]));
    warn.mockRestore();
    // Aborted PUTs stay quiet: the SDK warns on the console about them unless its client has a logger.
    expect(warned).toEqual([]);

    expect(err).toBeInstanceOf(SyncCancelled);
    const { uploaded } = (err as SyncCancelled).result;
    expect(uploaded).toBeGreaterThanOrEqual(1);
    expect(uploaded).toBeLessThan(16);
    const listed = await listObjects(client, bucket, 'many/');
    // Every file counted is there; a PUT cut off after the server stored it may be there too, but whole.
    expect(listed.length).toBeGreaterThanOrEqual(uploaded);
    expect(listed.length).toBeLessThan(16);
    for (const o of listed) {
      const i = Number(o.key.slice('many/p'.length, -'.bin'.length));
      expect([o.key, o.etag.replace(/"/g, ''), o.size]).toEqual([o.key, md5(bodies[i]!), MiB]);
    }
  });
});

describe.skipIf(skip !== '')(`pipeline upload, output piped${skip ? ` — SKIPPED: ${skip}` : ''}`, () => {
  let client: S3Client;
  let bucket: string;
  let root: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    client = testClient();
    bucket = await freshBucket(client, 'upcli');
    root = await mkdtemp(path.join(tmpdir(), 'cityflow-upload-cli-'));
    await mkdir(path.join(root, 'data/batch'), { recursive: true });
    await writeFile(path.join(root, 'data/batch/chantiers.csv'), SMALL);
    await writeFile(path.join(root, 'data/bikes.json'), JSON_BODY);
    env = {
      PATH: process.env.PATH,
      HOME: root,
      DATA_DIR: path.join(root, 'data'),
      OUTPUT_DIR: path.join(root, 'output'),
      STATE_DIR: path.join(root, 'state'),
      AWS_REGION: 'eu-west-3',
      AWS_ACCESS_KEY_ID: inject('s3AccessKeyId'),
      AWS_SECRET_ACCESS_KEY: inject('s3SecretAccessKey'),
      S3_ENDPOINT_URL: inject('s3Endpoint'),
      S3_FORCE_PATH_STYLE: 'true',
      S3_RAW_BUCKET: bucket,
      S3_RAW_PREFIX: 'raw',
    };
  });
  afterAll(async () => {
    client?.destroy();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('dry run, upload, then a second upload: one plain line per file and the summary line', async () => {
    const dry = await startPipeline(env, ['upload', '--dry-run']).done;
    expect(dry.code, dry.stderr).toBe(0);
    // Files are hashed 4 at a time, so the lines come in any order; the counter runs 1..2.
    const lines = dry.stdout.split('\n');
    expect(lines.map((l) => l.replace(/^\[[12]\/2\] /, '[n/2] ')).sort(), dry.stdout).toEqual([
      '',
      'Dry run: would upload 2 files (15 bytes), skipped 0 identical',
      '[n/2] would upload raw/batch/chantiers.csv (new)',
      '[n/2] would upload raw/bikes.json (new)',
    ]);
    expect(lines.filter((l) => l.startsWith('[')).map((l) => l.slice(0, 5))).toEqual(['[1/2]', '[2/2]']);
    expect(await listObjects(client, bucket, 'raw/')).toEqual([]);

    const up = await startPipeline(env, ['upload']).done;
    expect(up.code, up.stderr).toBe(0);
    // 8 + 7 bytes.
    expect(up.stdout).toContain('Uploaded 2 files (15 bytes), skipped 0 identical\n');
    expect(up.stdout).toMatch(/^\[[12]\/2\] upload raw\/bikes\.json \(new\)$/m);

    const again = await startPipeline(env, ['upload', '--no-tui']).done;
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^\[[12]\/2\] skip raw\/batch\/chantiers\.csv \(same size and etag\)$/m);
    expect(again.stdout).toContain('Uploaded 0 files (0 bytes), skipped 2 identical\n');
  });

  it('a missing bucket: no summary, the listing error with its HTTP status on stderr, exit 1', async () => {
    const r = await startPipeline({ ...env, S3_RAW_BUCKET: `${bucket}-missing` }, ['upload']).done;
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    // Ceph answers a 404 without a body: the SDK names it NoSuchBucket with the message "UnknownError".
    expect(r.stderr).toContain(
      `pipeline: cannot list s3://${bucket}-missing/raw/: NoSuchBucket (HTTP 404)\n`,
    );
    expect(r.stderr).not.toContain(inject('s3SecretAccessKey'));
  });

  it('SIGINT during a multipart upload: cancelled summary, exit 130, no open upload left', async () => {
    const data = path.join(root, 'data-cancel');
    await mkdir(data);
    await writeFile(path.join(data, 'a.csv'), SMALL);
    await writeFile(path.join(data, 'huge.bin'), bytes(HUGE, 31));
    const run = startPipeline({ ...env, DATA_DIR: data, S3_RAW_PREFIX: 'cancel' }, ['upload', '--no-tui']);
    // Wait for the first progress line, then for the server to list the big file's upload in progress.
    let out = '';
    run.child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    let during: MultipartUpload[] = [];
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && run.child.exitCode === null && during.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      if (out.includes('\n')) during = await openUploads(client, bucket, 'cancel/');
    }
    expect(during.map((u) => u.Key)).toEqual(['cancel/huge.bin']);
    run.child.kill('SIGINT');
    const r = await run.done;

    expect(r.code, r.stderr).toBe(130);
    expect(r.signal).toBeNull();
    // a.csv (8 bytes) went up before the Ctrl-C; huge.bin was cut off and is neither uploaded nor skipped.
    expect(r.stdout).toBe(
      '[1/2] upload cancel/a.csv (new)\nUpload cancelled: 1 of 2 files uploaded (8 bytes), skipped 0 identical\n',
    );
    expect(r.stderr).toContain('Cancelling: aborting the uploads in flight (Ctrl-C again to quit now)…');
    expect(r.stderr).not.toContain('pipeline:');
    expect(await headStatus(client, bucket, 'cancel/huge.bin')).toBe(404);
    expect(await openUploads(client, bucket, 'cancel/')).toEqual([]);
    expect((await listObjects(client, bucket, 'cancel/')).map((o) => o.key)).toEqual(['cancel/a.csv']);
  });
});
