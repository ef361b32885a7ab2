/**
 * `aws s3 sync LOCAL_DIR s3://bucket/prefix` equivalent: uploads files whose size or ETag differ from
 * the remote object, skips the others. Small files go up with one PUT (Content-MD5 checked by the
 * server), big ones as multipart via @aws-sdk/lib-storage. The ETag a file would get is computed
 * locally: MD5 for a single PUT, `md5(concat(md5(part_i)))-N` for N parts of `partSize` bytes.
 *
 * Progress: `onProgress` gets one event per settled file; `onEvent` also gets the plan (file and byte
 * totals), when each file is picked up and when its upload starts, byte progress and per-file failures,
 * enough for a live view. A failed file does not stop the others (as `aws s3 sync`): the sync goes on and
 * throws a `SyncError` naming the failures at the end.
 *
 * Cancellation (`signal`): no file is started after the abort, single PUTs in flight are aborted, and
 * multipart uploads in flight are aborted on the server (AbortMultipartUpload, so no unfinished upload is
 * left holding billed parts); the sync then throws `SyncCancelled` with what was done before. A PUT or a
 * CompleteMultipartUpload is atomic, so a file cut off is simply absent (or keeps its previous version).
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import { listFiles } from '../local-files.ts';
import { readStreamFor } from '../read-stream.ts';
import { httpStatusOf } from './client.ts';
import { folderPrefix, listObjects, type ListedObject } from './objects.ts';
import { maskSecrets } from '../../engine/redact.ts';

/** lib-storage's default part size, also the multipart threshold. */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

export interface SyncOptions {
  /** Decide and count, upload nothing. */
  dryRun?: boolean;
  /** One event per file settled (uploaded, skipped or, in a dry run, that would be uploaded). */
  onProgress?: (e: SyncProgress) => void;
  /** Every step (plan, check, upload start, bytes, done, error); see `SyncEvent`. */
  onEvent?: (e: SyncEvent) => void;
  /** Bytes per multipart part (≥ 5 MiB on AWS); files of this size or more use multipart. */
  partSize?: number;
  /** Files uploaded in parallel. Default 4. */
  concurrency?: number;
  /** Cancels the sync: see `SyncCancelled`. */
  signal?: AbortSignal;
}

export interface SyncProgress {
  key: string;
  action: 'upload' | 'skip';
  /** Why: `new`, `size differs`, `etag differs`, `same size and etag`. */
  reason: string;
  bytes: number;
  done: number;
  total: number;
}

/**
 * The steps of a sync, in order for each file: `check` (picked up: hashing it to compare with the
 * remote object), then `upload` and `bytes` (only when it is sent), then `done` or `error`.
 */
export type SyncEvent =
  /** Once, after listing: every local file and its bytes (skipped ones included). */
  | { type: 'plan'; files: number; bytes: number }
  | { type: 'check'; key: string; bytes: number }
  | { type: 'upload'; key: string; bytes: number; reason: string; multipart: boolean }
  /**
   * Bytes of this file the server has acknowledged so far, increasing, the last one `loaded === total`.
   * Multipart uploads report after each part; a single PUT once, when it is complete.
   */
  | { type: 'bytes'; key: string; loaded: number; total: number }
  | ({ type: 'done' } & SyncProgress)
  | { type: 'error'; key: string; bytes: number; message: string; done: number; total: number };

export interface SyncResult {
  uploaded: number;
  skipped: number;
  /** Bytes uploaded (or that would be, in a dry run). */
  bytes: number;
}

export interface SyncFailure {
  key: string;
  message: string;
}

/** Thrown at the end of a sync in which some files failed; the others were uploaded or skipped. */
export class SyncError extends Error {
  constructor(
    readonly result: SyncResult,
    readonly failures: SyncFailure[],
    total: number,
  ) {
    const first = failures[0];
    super(
      `${failures.length} of ${total} files failed to upload (${result.uploaded} uploaded, ${result.skipped} skipped)` +
        (first ? `; first: ${first.key}: ${first.message}` : ''),
    );
    this.name = 'SyncError';
  }
}

/**
 * Thrown by a sync whose `signal` was aborted. `result` counts the files uploaded (or skipped) before it
 * stopped: those are on the server, whole; the files cut off are not (or keep their previous version), and
 * no multipart upload of theirs is left open. `failures` are files that had failed before the abort.
 */
export class SyncCancelled extends Error {
  constructor(
    readonly result: SyncResult,
    readonly failures: SyncFailure[],
    readonly total: number,
  ) {
    super(
      `Upload cancelled: ${result.uploaded} of ${total} files uploaded (${result.bytes} bytes), ${result.skipped} skipped` +
        (failures.length > 0 ? `, ${failures.length} failed` : ''),
    );
    this.name = 'SyncCancelled';
  }
}

/**
 * An SDK error in one line: its name when the message lacks it, and the HTTP status. For an error answer
 * without a body (Ceph's 404 on a missing bucket) the SDK's message is just `UnknownError`: left out.
 */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  let text = err.message;
  if (err.name !== 'Error' && !err.message.includes(err.name))
    text = err.message === 'UnknownError' ? err.name : `${err.name}: ${err.message}`;
  const status = httpStatusOf(err);
  return maskSecrets(status === undefined ? text : `${text} (HTTP ${status})`); // SDK messages may echo URLs
}

const unquote = (etag: string): string => etag.replace(/^W\//, '').replace(/^"|"$/g, '');

/** Hex MD5 of each `partSize` slice of the file (one read pass), and the whole-file MD5. */
async function md5s(
  file: string,
  size: number,
  partSize: number,
): Promise<{ whole: string; parts: Buffer[] }> {
  const whole = createHash('md5');
  const parts: Buffer[] = [];
  let part = createHash('md5');
  let inPart = 0;
  for await (const chunk of readStreamFor(file, size) as AsyncIterable<Buffer>) {
    whole.update(chunk);
    let off = 0;
    while (off < chunk.length) {
      const take = Math.min(partSize - inPart, chunk.length - off);
      part.update(chunk.subarray(off, off + take));
      inPart += take;
      off += take;
      if (inPart === partSize) {
        parts.push(part.digest());
        part = createHash('md5');
        inPart = 0;
      }
    }
  }
  if (inPart > 0) parts.push(part.digest());
  return { whole: whole.digest('hex'), parts };
}

/** The ETag S3 gives a file uploaded with this part size (no quotes). */
export async function expectedEtag(
  file: string,
  size: number,
  partSize = DEFAULT_PART_SIZE,
): Promise<string> {
  const { whole, parts } = await md5s(file, size, partSize);
  if (size < partSize) return whole;
  return `${createHash('md5').update(Buffer.concat(parts)).digest('hex')}-${parts.length}`;
}

export async function syncToS3(
  localDir: string,
  client: S3Client,
  bucket: string,
  prefix: string,
  opts: SyncOptions = {},
): Promise<SyncResult> {
  const partSize = opts.partSize ?? DEFAULT_PART_SIZE;
  const base = folderPrefix(prefix);
  const signal = opts.signal;
  // Links are followed (a big export is often linked into DATA_DIR); sorted by key.
  const files = (await listFiles(path.resolve(localDir), '', { recursive: true })).map((f) => ({
    file: f.path,
    rel: f.key,
    size: f.size,
  }));
  let listed: ListedObject[];
  try {
    listed = await listObjects(client, bucket, base);
  } catch (err) {
    throw new Error(`cannot list s3://${bucket}/${base}: ${describeError(err)}`, { cause: err });
  }
  const remote = new Map<string, ListedObject>(listed.map((o) => [o.key, o] as const));
  const result: SyncResult = { uploaded: 0, skipped: 0, bytes: 0 };
  const failures: SyncFailure[] = [];
  if (signal?.aborted) throw new SyncCancelled(result, failures, files.length);
  let done = 0;
  const limit = pLimit(opts.concurrency ?? 4);
  const emit = opts.onEvent ?? (() => {});
  emit({ type: 'plan', files: files.length, bytes: files.reduce((a, f) => a + f.size, 0) });

  await Promise.all(
    files.map((f) =>
      limit(async () => {
        // Cancelled while queued: never started (no event).
        if (signal?.aborted) return;
        const key = base + f.rel;
        emit({ type: 'check', key, bytes: f.size });
        let progress: SyncProgress;
        try {
          const have = remote.get(key);
          const etag = await expectedEtag(f.file, f.size, partSize);
          let reason: string;
          if (!have) reason = 'new';
          else if (have.size !== f.size) reason = 'size differs';
          else if (unquote(have.etag) !== etag) reason = 'etag differs';
          else reason = 'same size and etag';
          const upload = reason !== 'same size and etag';
          // Cancelled while hashing: nothing sent, the file is not counted.
          if (signal?.aborted) return;
          if (upload && !opts.dryRun) {
            emit({ type: 'upload', key, bytes: f.size, reason, multipart: f.size >= partSize });
            await uploadOne(client, bucket, key, f.file, f.size, etag, partSize, signal, (loaded) =>
              emit({ type: 'bytes', key, loaded, total: f.size }),
            );
          }
          if (upload) {
            result.uploaded++;
            result.bytes += f.size;
          } else result.skipped++;
          progress = {
            key,
            action: upload ? 'upload' : 'skip',
            reason,
            bytes: f.size,
            done: ++done,
            total: files.length,
          };
        } catch (err) {
          // Cut off by the cancellation (an AbortError, or whatever the aborted request threw): not a failure.
          if (signal?.aborted && !(err instanceof MultipartLeftOpen)) return;
          const message = describeError(err);
          failures.push({ key, message });
          emit({ type: 'error', key, bytes: f.size, message, done: ++done, total: files.length });
          return;
        }
        emit({ type: 'done', ...progress });
        opts.onProgress?.(progress);
      }),
    ),
  );
  if (signal?.aborted) throw new SyncCancelled(result, failures, files.length);
  if (failures.length > 0) throw new SyncError(result, failures, files.length);
  return result;
}

async function uploadOne(
  client: S3Client,
  bucket: string,
  key: string,
  file: string,
  size: number,
  etag: string,
  partSize: number,
  signal: AbortSignal | undefined,
  onBytes: (loaded: number) => void,
): Promise<void> {
  if (size < partSize) {
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: createReadStream(file),
        ContentLength: size,
        // The server rejects the PUT if the bytes it got do not have this MD5.
        ContentMD5: Buffer.from(etag, 'hex').toString('base64'),
      }),
      { abortSignal: signal },
    );
    onBytes(size);
    return;
  }
  signal?.throwIfAborted();
  const tracked = trackMultipart(client, signal);
  const upload = new Upload({
    client: tracked.client,
    params: { Bucket: bucket, Key: key, Body: createReadStream(file) },
    partSize,
    queueSize: 4,
    // On a failure or abort lib-storage sends AbortMultipartUpload: the server drops the parts.
    leavePartsOnError: false,
  });
  // lib-storage reports the bytes of the parts acknowledged so far (on Node, after each part).
  let reported = 0;
  upload.on('httpUploadProgress', (p) => {
    const loaded = Math.min(size, p.loaded ?? 0);
    if (loaded > reported) onBytes((reported = loaded));
  });
  const cancel = (): void => void upload.abort();
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    await upload.done();
  } catch (err) {
    if (!signal?.aborted) throw err;
    // done() rejects at once on abort while lib-storage finishes in the background: wait for every request
    // of this upload, then make sure the server has no unfinished upload left (unless it completed first).
    await tracked.settled();
    if (!tracked.completed) {
      await abortLeftover(client, bucket, key, tracked);
      throw err;
    }
  } finally {
    signal?.removeEventListener('abort', cancel);
  }
  // Upload.done() may return an empty ETag (Ceph RGW): HEAD to verify what the server stored.
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const got = unquote(head.ETag ?? '');
  if (got !== etag || head.ContentLength !== size) {
    throw new Error(
      `Upload of ${file} to s3://${bucket}/${key} does not match: ETag ${got || '(none)'} / ${head.ContentLength} bytes, expected ${etag} / ${size}`,
    );
  }
}

interface TrackedMultipart {
  /** The client to give lib-storage. */
  client: S3Client;
  /** Resolves once every request sent through `client` so far (and any sent meanwhile) has settled. */
  settled(): Promise<void>;
  uploadId: string | undefined;
  completed: boolean;
  aborted: boolean;
}

/**
 * The client lib-storage gets for one multipart upload: the caller's client with its requests recorded.
 * lib-storage sends UploadPart without an abort signal (a part in flight would run to its end after
 * `Upload.abort()`), so parts get the sync's signal here; CreateMultipartUpload and
 * Complete/AbortMultipartUpload are left to finish, so the upload id is always known and the outcome sure.
 */
function trackMultipart(client: S3Client, signal: AbortSignal | undefined): TrackedMultipart {
  const pending = new Set<Promise<unknown>>();
  const wrapped = Object.create(client) as S3Client;
  const state: TrackedMultipart = {
    client: wrapped,
    async settled() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    uploadId: undefined,
    completed: false,
    aborted: false,
  };
  const send = (command: Parameters<S3Client['send']>[0], options?: { abortSignal?: AbortSignal }) => {
    const withSignal =
      command instanceof UploadPartCommand && signal ? { ...options, abortSignal: signal } : options;
    const sent = client.send(command, withSignal).then((out: unknown) => {
      if (command instanceof CreateMultipartUploadCommand)
        state.uploadId = (out as { UploadId?: string }).UploadId;
      else if (command instanceof CompleteMultipartUploadCommand) state.completed = true;
      else if (command instanceof AbortMultipartUploadCommand) state.aborted = true;
      return out;
    });
    const settle: Promise<boolean> = sent.then(
      () => pending.delete(settle),
      () => pending.delete(settle),
    );
    pending.add(settle);
    return sent;
  };
  wrapped.send = send as S3Client['send'];
  return state;
}

/** AbortMultipartUpload for an upload lib-storage has not aborted yet; one already gone (404) is fine. */
async function abortLeftover(
  client: S3Client,
  bucket: string,
  key: string,
  tracked: TrackedMultipart,
): Promise<void> {
  if (tracked.uploadId === undefined || tracked.aborted) return;
  try {
    await client.send(
      new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: tracked.uploadId }),
    );
  } catch (err) {
    if (httpStatusOf(err) === 404) return;
    throw new MultipartLeftOpen(
      `cancelled, but the unfinished multipart upload ${tracked.uploadId} could not be aborted: ${describeError(err)}`,
      { cause: err },
    );
  }
}

/** A cancelled multipart upload the server may still hold: reported as a failure, unlike other cut-off files. */
class MultipartLeftOpen extends Error {
  override name = 'MultipartLeftOpen';
}
