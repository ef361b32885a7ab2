/**
 * Small S3 object operations: paginated listing, one-object download into the cache (validated by
 * ETag and size), parallel prefix download, and JSON loading straight from the response stream.
 */
import {
  GetObjectCommand,
  paginateListObjectsV2,
  type GetObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { httpStatusOf } from './client.ts';
import { type ObjectCache } from './cache.ts';

export interface ListedObject {
  key: string;
  size: number;
  /** As S3 returns it, quotes included (e.g. `"9b2cf535f27731c974343645a3985328"`). */
  etag: string;
}

export interface ListOptions {
  /** Keep keys ending with one of these (case-insensitive), e.g. `['.json', '.csv']`. */
  extensions?: readonly string[];
  /** Only direct children of the prefix (no sub-folders). Default: everything below. */
  delimiter?: boolean;
  signal?: AbortSignal;
  /** Adds the requests sent and the objects they returned. */
  counts?: ListingCounts;
}

export interface ListingCounts {
  /** ListObjectsV2 requests sent (pages). */
  requests: number;
  /** Objects they returned (folder placeholders included). */
  objects: number;
}

/** Ensures a non-empty prefix ends with `/`, so `dt=2025-11-0` never matches `dt=2025-11-04`. */
export function folderPrefix(prefix: string): string {
  const p = prefix.replace(/^\/+/, '');
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}

function hasExtension(key: string, extensions: readonly string[] | undefined): boolean {
  if (!extensions || extensions.length === 0) return true;
  const k = key.toLowerCase();
  return extensions.some((e) => k.endsWith(e.toLowerCase()));
}

/** Every object under `prefix` (following continuation tokens past 1,000 keys), sorted by key. */
export async function listObjects(
  client: S3Client,
  bucket: string,
  prefix: string,
  opts: ListOptions = {},
): Promise<ListedObject[]> {
  const out: ListedObject[] = [];
  const pages = paginateListObjectsV2(
    { client },
    { Bucket: bucket, Prefix: prefix, ...(opts.delimiter && { Delimiter: '/' }) },
    { abortSignal: opts.signal },
  );
  for await (const page of pages) {
    if (opts.counts) {
      opts.counts.requests++;
      opts.counts.objects += page.Contents?.length ?? 0;
    }
    for (const o of page.Contents ?? []) {
      if (o.Key === undefined || o.Key.endsWith('/')) continue; // folder placeholders
      if (!hasExtension(o.Key, opts.extensions)) continue;
      out.push({ key: o.Key, size: o.Size ?? 0, etag: o.ETag ?? '' });
    }
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export async function listKeys(
  client: S3Client,
  bucket: string,
  prefix: string,
  opts: ListOptions = {},
): Promise<string[]> {
  return (await listObjects(client, bucket, prefix, opts)).map((o) => o.key);
}

/** Names of the immediate sub-folders of `prefix` (e.g. `dt=2025-11-04`), sorted, paginated. */
export async function listFolderNames(
  client: S3Client,
  bucket: string,
  prefix: string,
  counts?: ListingCounts,
): Promise<string[]> {
  const base = folderPrefix(prefix);
  const names = new Set<string>();
  for await (const page of paginateListObjectsV2(
    { client },
    { Bucket: bucket, Prefix: base, Delimiter: '/' },
  )) {
    if (counts) {
      counts.requests++;
      counts.objects += page.Contents?.length ?? 0;
    }
    for (const p of page.CommonPrefixes ?? []) {
      const name = p.Prefix?.slice(base.length).replace(/\/$/, '');
      if (name) names.add(name);
    }
  }
  return [...names].sort();
}

export interface CachedObject {
  key: string;
  /** Absolute local path of the cached body. */
  path: string;
  size: number;
  etag: string;
  /** True when a body was transferred by this call; false when the cache was reused. */
  transferred: boolean;
}

export interface DownloadOptions {
  /** ETag and size from a fresh listing: when they match the cache, no request is made at all. */
  known?: { etag: string; size: number };
  signal?: AbortSignal;
  /** Tries when the body breaks mid-transfer (reset, short body). Default DEFAULT_BODY_ATTEMPTS. */
  bodyAttempts?: number;
  /** Called before each body retry (tests, logs). */
  onBodyRetry?: (attempt: number, err: unknown) => void;
}

/**
 * Makes `s3://bucket/key` available in the cache and returns its local path.
 * - cache valid and `known` (from a listing) matches its ETag and size → reused, no request;
 * - cache present otherwise → conditional GET (`If-None-Match: <etag>`): 304 → reused, 200 → replaced;
 * - no cache → GET. The body is streamed to a temp file and its length checked before the rename;
 *   a body that breaks mid-transfer is fetched again (`bodyAttempts`), never kept.
 */
export async function downloadToCache(
  client: S3Client,
  cache: ObjectCache,
  bucket: string,
  key: string,
  opts: DownloadOptions = {},
): Promise<CachedObject> {
  const local = cache.pathFor(bucket, key); // refuses escaping keys before any request
  const meta = await cache.readValid(bucket, key);
  const reuse = (): CachedObject => ({
    key,
    path: local,
    size: meta!.size,
    etag: meta!.etag,
    transferred: false,
  });
  if (meta && opts.known && opts.known.etag === meta.etag && opts.known.size === meta.size) return reuse();

  // The SDK retries a request until its response headers arrive; a body cut short afterwards
  // (connection reset, fewer bytes than Content-Length) surfaces here, so the GET is retried here.
  const attempts = Math.max(1, opts.bodyAttempts ?? DEFAULT_BODY_ATTEMPTS);
  for (let attempt = 1; ; attempt++) {
    let res: GetObjectCommandOutput;
    try {
      res = await client.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, ...(meta && { IfNoneMatch: meta.etag }) }),
        { abortSignal: opts.signal },
      );
    } catch (err) {
      if (meta && httpStatusOf(err) === 304) return reuse();
      throw err;
    }
    const body = res.Body as Readable | undefined;
    if (!body) throw new Error(`Empty response body for s3://${bucket}/${key}`);
    if (res.ContentLength === undefined) {
      body.destroy();
      throw new Error(`No Content-Length for s3://${bucket}/${key}; cannot verify the download`);
    }
    const etag = res.ETag ?? '';
    const size = res.ContentLength;
    try {
      const path = await cache.write(bucket, key, body, { etag, expectedSize: size });
      return { key, path, size, etag, transferred: true };
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      // A body cut short or reset after the headers arrived is a network failure, whatever its error.
      if (attempt >= attempts) throw Object.assign(err as object, { transient: true });
      opts.onBodyRetry?.(attempt, err);
      // Exponential backoff with full jitter: up to 100 ms, 200 ms, …
      await sleep(Math.random() * 100 * 2 ** (attempt - 1), opts.signal);
    }
  }
}

/** Tries per object when the body fails mid-transfer (the cache never keeps a partial body). */
export const DEFAULT_BODY_ATTEMPTS = 3;

/** Resolves after ms, or at once on abort (Node removes its abort listener either way). */
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  delay(ms, undefined, signal && { signal }).catch(() => undefined);

/**
 * Parallel GETs per prefix download. 16: with a 10 ms round trip (simulated, bench/s3-download.ts)
 * it beat 8 by 1.3× and matched 32; real S3's time to first byte is longer still. Stays well under
 * the SDK http agent's 50 keep-alive sockets, so no request waits for a socket.
 */
export const DEFAULT_DOWNLOAD_CONCURRENCY = 16;

export interface DownloadPrefixOptions extends ListOptions {
  /** Parallel downloads. Default DEFAULT_DOWNLOAD_CONCURRENCY. */
  concurrency?: number;
  onObject?: (obj: CachedObject) => void;
}

/** Lists `prefix` and downloads every (matching) object into the cache, in parallel. Sorted by key. */
export async function downloadPrefix(
  client: S3Client,
  cache: ObjectCache,
  bucket: string,
  prefix: string,
  opts: DownloadPrefixOptions = {},
): Promise<CachedObject[]> {
  const listed = await listObjects(client, bucket, prefix, opts);
  return downloadListed(client, cache, bucket, listed, opts);
}

/** Downloads already-listed objects (each validated against its listed ETag and size). */
export async function downloadListed(
  client: S3Client,
  cache: ObjectCache,
  bucket: string,
  listed: readonly ListedObject[],
  opts: Pick<DownloadPrefixOptions, 'concurrency' | 'onObject' | 'signal'> = {},
): Promise<CachedObject[]> {
  // Validate every key first: one escaping key refuses the whole batch before any download.
  for (const o of listed) cache.pathFor(bucket, o.key);
  const limit = pLimit(opts.concurrency ?? DEFAULT_DOWNLOAD_CONCURRENCY);
  return Promise.all(
    listed.map((o) =>
      limit(async () => {
        const got = await cache.once(JSON.stringify([bucket, o.key, o.etag, o.size]), () =>
          downloadToCache(client, cache, bucket, o.key, {
            known: { etag: o.etag, size: o.size },
            ...(opts.signal && { signal: opts.signal }),
          }),
        );
        opts.onObject?.(got);
        return got;
      }),
    ),
  );
}

/** Parses a JSON object straight from the response stream (no temp file). */
export async function loadJson(
  client: S3Client,
  bucket: string,
  key: string,
  signal?: AbortSignal,
): Promise<unknown> {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
  if (!res.Body) throw new Error(`Empty response body for s3://${bucket}/${key}`);
  const text = await res.Body.transformToString('utf-8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`s3://${bucket}/${key} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}
