/**
 * Raw inputs from `s3://<bucket>/<prefix>/<location.prefix>`, downloaded into the local cache and
 * served as local paths. If S3 still fails after the client's retries with an error a retry could fix
 * (network, timeouts, 5xx, throttling), every call is delegated to the injected fallback source (the
 * local one) for the rest of this source's life, after ONE warning. Configuration errors (access denied,
 * no such bucket, bad credentials, wrong region) never fall back: they fail with the bucket, the key or
 * prefix and the IAM action to grant.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { setMaxListeners } from 'node:events';
import { combineVersions } from '../../engine/hash.ts';
import type { FileSet, SourceIO, SourceLocation, SourceObservation } from '../../engine/io.ts';
import { describeS3Error, isTransientS3Error } from './client.ts';
import { ObjectCache, UnsafeKeyError } from './cache.ts';
import { RunListings } from './listing.ts';
import {
  downloadListed,
  folderPrefix,
  listFolderNames,
  listObjects,
  type ListedObject,
  type ListingCounts,
} from './objects.ts';

export interface S3SourceOptions {
  client: S3Client;
  bucket: string;
  /** Raw root inside the bucket, e.g. `cityflow-raw/raw` (no leading/trailing slash needed). */
  prefix: string;
  cacheDir: string;
  /** Parallel downloads. Default DEFAULT_DOWNLOAD_CONCURRENCY (16). */
  concurrency?: number;
  /** Used when S3 fails after retries. Without it, S3 errors propagate. */
  fallback?: SourceIO;
  /** Receives the single fallback warning. */
  warn?: (message: string) => void;
  /**
   * One listing per source prefix for the life of this object, i.e. one run (the `pipeline` command
   * creates a source per run): each prefix is listed once (paginated) and every observe, resolve and
   * listFolders below it is answered from that listing, so planning and execution see the same
   * objects. `newRun()` forgets the listings. Default false: every call lists its own folder.
   */
  listOncePerRun?: boolean;
}

/** What a source did since it was created: LIST requests, objects listed, bodies downloaded, cache hits. */
export interface SourceStats {
  /** ListObjectsV2 requests sent. */
  listRequests: number;
  /** Objects those requests returned. */
  listed: number;
  /** Bodies transferred into the cache. */
  downloaded: number;
  downloadedBytes: number;
  /** Files served from the cache without transferring a body (ETag and size as listed, or a 304). */
  fromCache: number;
}

export class S3SourceIO implements SourceIO {
  readonly name = 's3';
  private readonly cache: ObjectCache;
  private readonly root: string;
  private fellBack: { reason: string } | undefined;
  private readonly counts: ListingCounts = { requests: 0, objects: 0 };
  private readonly transfers = { downloaded: 0, downloadedBytes: 0, fromCache: 0 };
  private readonly listings: RunListings | undefined;

  constructor(private readonly opts: S3SourceOptions) {
    this.cache = new ObjectCache(opts.cacheDir);
    this.root = opts.prefix.replace(/^\/+|\/+$/g, '');
    if (opts.listOncePerRun) this.listings = new RunListings(opts.client, opts.bucket, this.counts);
  }

  /** LIST requests, objects listed, bodies downloaded and files served from the cache so far. */
  stats(): SourceStats {
    return { listRequests: this.counts.requests, listed: this.counts.objects, ...this.transfers };
  }

  /**
   * With `listOncePerRun`: starts listing, in the background, what the last run listed (the roots
   * recorded in the cache by `saveListingRoots`), so that the gateway lists while this process does
   * something else (e.g. loads the project's modules). A no-op otherwise or with nothing on record.
   */
  prefetch(): void {
    if (!this.listings) return;
    const inside = this.root ? `${this.root}/` : '';
    for (const root of this.cache.listingRoots(this.opts.bucket))
      if (root.startsWith(inside)) this.listings.prefetch(root);
  }

  /**
   * With `listOncePerRun`: whether the listings started so far (see `prefetch`) found an object under
   * the prefix, once they are done. False without them, or when they failed.
   */
  listedObjects(signal?: AbortSignal): Promise<boolean> {
    return this.listings ? this.listings.found(signal) : Promise.resolve(false);
  }

  /** Records the roots this run's questions were answered from, for the next run's `prefetch`. */
  async saveListingRoots(): Promise<void> {
    if (this.listings?.used.size)
      await this.cache.saveListingRoots(this.opts.bucket, [...this.listings.used]);
  }

  /** Forgets the listings (with `listOncePerRun`): the next calls list again. */
  newRun(): void {
    this.listings?.clear();
  }

  /** `s3://bucket/prefix`, the origin of files served from S3. */
  get url(): string {
    return `s3://${this.opts.bucket}${this.root ? `/${this.root}` : ''}`;
  }

  private fullKey(rel: string): string {
    return this.root ? `${this.root}/${rel}` : rel;
  }

  private relKey(full: string): string {
    return this.root ? full.slice(this.root.length + 1) : full;
  }

  private async list(location: SourceLocation, signal?: AbortSignal): Promise<ListedObject[]> {
    const base = folderPrefix(this.fullKey(location.prefix.replace(/^\/+|\/+$/g, '')));
    const listed = this.listings
      ? (await this.listings.for(base, signal)).objectsIn(base, location.recursive === true)
      : await listObjects(this.opts.client, this.opts.bucket, base, {
          delimiter: !location.recursive,
          counts: this.counts,
          ...(signal && { signal }),
        });
    const match = location.match;
    return match ? listed.filter((o) => match.test(o.key.slice(o.key.lastIndexOf('/') + 1))) : listed;
  }

  /**
   * Runs `op` on S3; on a transient failure (after the client's retries) switches to the fallback for
   * good. `what` names the request for configuration errors (the IAM action and the key or prefix).
   */
  private async withFallback<T>(
    what: { action: string; key: string },
    op: () => Promise<T>,
    viaFallback: (f: SourceIO) => Promise<T>,
  ): Promise<T> {
    const fallback = this.opts.fallback;
    if (this.fellBack && fallback) return viaFallback(fallback);
    try {
      return await op();
    } catch (err) {
      if (err instanceof UnsafeKeyError || isAbort(err)) throw err;
      if (!isTransientS3Error(err)) throw new S3ConfigurationError(this.opts.bucket, what, err);
      if (!fallback) throw err;
      if (!this.fellBack) {
        this.fellBack = { reason: describeS3Error(err) };
        this.opts.warn?.(
          `S3 raw input ${this.url} failed after retries (${this.fellBack.reason}); ` +
            `reading raw files from ${fallback.name} instead for the rest of this run`,
        );
      }
      return viaFallback(fallback);
    }
  }

  private listing(location: SourceLocation): { action: string; key: string } {
    return { action: 's3:ListBucket', key: `${this.fullKey(location.prefix.replace(/^\/+|\/+$/g, ''))}/` };
  }

  async observe(location: SourceLocation, callerSignal?: AbortSignal): Promise<SourceObservation> {
    const signal = unlimited(callerSignal);
    return this.withFallback(
      this.listing(location),
      async () => {
        const listed = await this.list(location, signal);
        const parts: string[] = [];
        for (const o of listed) parts.push(this.relKey(o.key), String(o.size), o.etag);
        return {
          // ETags + sizes: no body is downloaded to know whether anything changed.
          dataVersion: listed.length ? combineVersions(['s3', ...parts]) : 'empty',
          fileCount: listed.length,
          bytes: listed.reduce((a, o) => a + o.size, 0),
        };
      },
      (f) => f.observe(location, callerSignal),
    );
  }

  async resolve(location: SourceLocation, callerSignal?: AbortSignal): Promise<FileSet> {
    const signal = unlimited(callerSignal);
    return this.withFallback(
      { action: 's3:ListBucket and s3:GetObject', key: this.listing(location).key },
      async () => {
        const listed = await this.list(location, signal);
        const got = await downloadListed(this.opts.client, this.cache, this.opts.bucket, listed, {
          concurrency: this.opts.concurrency,
          onObject: (o) => this.count(o),
          ...(signal && { signal }),
        });
        return {
          files: got.map((o) => ({ path: o.path, key: this.relKey(o.key), size: o.size })),
          origin: this.url,
        };
      },
      async (f) => {
        const set = await f.resolve(location, callerSignal);
        return { ...set, origin: `${set.origin} (fallback: ${this.fellBack?.reason ?? 'S3 failed'})` };
      },
    );
  }

  async listFolders(prefix: string): Promise<string[]> {
    const full = this.fullKey(prefix.replace(/^\/+|\/+$/g, ''));
    return this.withFallback(
      { action: 's3:ListBucket', key: `${full}/` },
      async () =>
        this.listings
          ? (await this.listings.for(full)).folderNames(full)
          : listFolderNames(this.opts.client, this.opts.bucket, full, this.counts),
      (f) => f.listFolders(prefix),
    );
  }

  private count(o: { transferred: boolean; size: number }): void {
    if (o.transferred) {
      this.transfers.downloaded++;
      this.transfers.downloadedBytes += o.size;
    } else this.transfers.fromCache++;
  }

  /** Why the source fell back to local files, or undefined while S3 works. */
  get fallbackReason(): string | undefined {
    return this.fellBack?.reason;
  }
}

/**
 * The SDK adds one abort listener per request in flight to the signal it is given. The caller's
 * signal is the run's, shared by every unit, and the planner observes 16 sources at once: Node would
 * print a MaxListenersExceededWarning. Each caller signal is therefore linked once (one listener) to
 * a child signal without a listener limit, which is what the requests get.
 */
const linkedSignals = new WeakMap<AbortSignal, AbortSignal>();
function unlimited(parent: AbortSignal | undefined): AbortSignal | undefined {
  if (!parent) return undefined;
  let child = linkedSignals.get(parent);
  if (!child) {
    const ac = new AbortController();
    setMaxListeners(0, ac.signal);
    if (parent.aborted) ac.abort(parent.reason);
    else parent.addEventListener('abort', () => ac.abort(parent.reason), { once: true });
    child = ac.signal;
    linkedSignals.set(parent, child);
  }
  return child;
}

/**
 * S3 refused the request for a reason no retry fixes (access denied, no such bucket, bad credentials,
 * wrong region): a configuration error. `fatal`: the planner stops at once instead of failing every
 * unit that reads the source; no fallback to local files hides it.
 */
export class S3ConfigurationError extends Error {
  readonly fatal = true;
  constructor(bucket: string, what: { action: string; key: string }, cause: unknown) {
    super(
      `S3 raw input s3://${bucket}/${what.key}: ${describeS3Error(cause)}. Check the bucket name, region ` +
        `and credentials, and that the IAM policy grants ${what.action} on it (see \`pipeline iam-policy\`); ` +
        `local files are not used instead of a misconfigured S3`,
      { cause },
    );
    this.name = 'S3ConfigurationError';
  }
}

function isAbort(err: unknown): boolean {
  return (err as { name?: string } | null)?.name === 'AbortError';
}
