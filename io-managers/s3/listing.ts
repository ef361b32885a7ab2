/**
 * Run-wide listings of S3 prefixes: each listing root is listed once, with one paginated
 * ListObjectsV2 (1,000 keys per request), and every later question about a folder below it — the
 * objects of `api/bikes/dt=2025-11-04/hour=02`, the `dt=` folders of `api/bikes` — is answered from
 * memory. A year of hourly files of one source (8,760 objects) costs 9 requests instead of 8,760.
 *
 * The listing root of a folder is the folder cut before its first Hive-style `name=value` segment
 * (`api/bikes/dt=2025-11-04/hour=02` → `api/bikes/`), the usual layout of partitioned data on S3; a
 * folder without one is its own root. A root below one already listed is answered by that listing.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { listPage } from './list-page.ts';
import { folderPrefix, type ListedObject, type ListingCounts } from './objects.ts';

/** Where the listing that answers for `folder` starts: before its first `name=value` segment. */
export function listingRootOf(folder: string): string {
  const segments = folderPrefix(folder).split('/').slice(0, -1);
  const cut = segments.findIndex((s) => s.includes('='));
  return cut === -1 ? folderPrefix(folder) : folderPrefix(segments.slice(0, cut).join('/'));
}

/** Every key under one root, sorted (JS string order, so lookups can binary-search). */
export class PrefixListing {
  private readonly keys: string[];
  /** The files directly in each folder (`a/b/` → its objects, key order), built on first use. */
  private byFolder: Map<string, ListedObject[]> | undefined;

  constructor(
    readonly root: string,
    /** Sorted by key; may hold folder placeholders (keys ending with `/`). */
    private readonly objects: readonly ListedObject[],
  ) {
    this.keys = objects.map((o) => o.key);
  }

  /** One pass over the listing, so that each of the thousands of folder questions is a map lookup. */
  private folders(): Map<string, ListedObject[]> {
    if (this.byFolder) return this.byFolder;
    const m = new Map<string, ListedObject[]>();
    let folder = '';
    let list: ListedObject[] = [];
    for (const o of this.objects) {
      const slash = o.key.lastIndexOf('/');
      if (slash === o.key.length - 1) continue; // a placeholder
      if (slash !== folder.length - 1 || !o.key.startsWith(folder)) {
        folder = o.key.slice(0, slash + 1);
        list = m.get(folder) ?? [];
        if (!list.length) m.set(folder, list);
      }
      list.push(o);
    }
    return (this.byFolder = m);
  }

  /** Whether the listing holds an object (folder placeholders do not count). */
  hasObjects(): boolean {
    return this.objects.some((o) => !o.key.endsWith('/'));
  }

  covers(folder: string): boolean {
    return folderPrefix(folder).startsWith(this.root);
  }

  /** Index of the first key ≥ `prefix`. */
  private lowerBound(prefix: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! < prefix) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private *under(folder: string): Generator<ListedObject> {
    const base = folderPrefix(folder);
    for (let i = this.lowerBound(base); i < this.keys.length && this.keys[i]!.startsWith(base); i++)
      yield this.objects[i]!;
  }

  /** The objects in `folder` (only its direct children unless `recursive`), placeholders left out. */
  objectsIn(folder: string, recursive: boolean): ListedObject[] {
    const base = folderPrefix(folder);
    if (!recursive) return [...(this.folders().get(base) ?? [])];
    const out: ListedObject[] = [];
    for (const o of this.under(base)) {
      if (o.key.endsWith('/')) continue;
      if (!recursive && o.key.indexOf('/', base.length) !== -1) continue;
      out.push(o);
    }
    return out;
  }

  /** Names of the immediate sub-folders of `folder`, sorted (as a `Delimiter: '/'` listing gives them). */
  folderNames(folder: string): string[] {
    const base = folderPrefix(folder);
    const names = new Set<string>();
    for (const o of this.under(base)) {
      const slash = o.key.indexOf('/', base.length);
      if (slash > base.length) names.add(o.key.slice(base.length, slash));
    }
    return [...names].sort();
  }
}

/** Parallel ranges a listing is split into (by its sub-folders, see listPrefix). */
export const LISTING_RANGES = 8;

/** `a < b` in S3's key order (UTF-8 bytes), which JS string order matches except around surrogates. */
export function before(a: string, b: string): boolean {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === n) return a.length < b.length;
  // UTF-8 byte order is code point order; UTF-16 units differ from it only when one is a surrogate
  // (a code point above U+FFFF) and the other a unit from U+E000 up.
  const x = a.charCodeAt(i);
  const y = b.charCodeAt(i);
  if (x >= 0xd800 && y >= 0xd800) return fixup(x) < fixup(y);
  return x < y;
}
const fixup = (u: number): number => (u >= 0xe000 ? u - 0x800 : u + 0x2000);

/**
 * Lists everything under `root` (placeholders kept). The first request asks for `root`'s direct
 * children (`Delimiter: '/'`): its files and sub-folders. The sub-folders, in key order, are then cut
 * into up to LISTING_RANGES contiguous groups, each listed in parallel, page after page, from
 * its first folder (`StartAfter`) up to the next group's: the pages of one listing are sequential
 * (each needs the previous one's continuation token), ranges are not. `api/` of a year of hourly
 * data (3 sources × 8,760 keys): 1 + 3 × 9 requests, three at a time. A first answer of more than
 * 1,000 children falls back to one sequential listing.
 */
export async function listPrefix(
  client: S3Client,
  bucket: string,
  root: string,
  counts: ListingCounts,
  signal?: AbortSignal,
): Promise<PrefixListing> {
  const first = await listPage(client, { Bucket: bucket, Prefix: root, Delimiter: '/' }, signal);
  counts.requests++;
  const objects: ListedObject[] = [];
  if (first.isTruncated) {
    await listRange(client, bucket, root, counts, objects, { signal });
  } else {
    collect(first.contents, counts, objects);
    const folders = first.commonPrefixes.sort((a, b) => (before(a, b) ? -1 : 1));
    const size = Math.ceil(folders.length / LISTING_RANGES);
    const starts = folders.filter((_, i) => i % size === 0);
    await Promise.all(
      starts.map((from, i) =>
        listRange(client, bucket, root, counts, objects, { from, to: starts[i + 1], signal }),
      ),
    );
  }
  objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return new PrefixListing(root, objects);
}

function collect(
  contents: readonly { Key: string; Size: number; ETag: string }[],
  counts: ListingCounts,
  into: ListedObject[],
  keep: (key: string) => boolean = () => true,
): boolean {
  let past = false;
  for (const o of contents) {
    if (!keep(o.Key)) {
      past = true;
      continue;
    }
    counts.objects++;
    into.push({ key: o.Key, size: o.Size, etag: o.ETag });
  }
  return past;
}

/**
 * Every key under `root` (no range), or the keys of the sub-folders from `from` (a folder, `…/`)
 * up to the folder `to` (excluded); files directly in `root` are left to the first request.
 */
async function listRange(
  client: S3Client,
  bucket: string,
  root: string,
  counts: ListingCounts,
  into: ListedObject[],
  range: { from?: string; to?: string | undefined; signal?: AbortSignal | undefined },
): Promise<void> {
  const { from, to } = range;
  // Keys below `from` are greater than `from` without its slash; what else sorts in between (files
  // directly in root, a folder `bikes!/` before `bikes/`) belongs elsewhere and is dropped by `keep`.
  const input = { Bucket: bucket, Prefix: root, ...(from && { StartAfter: from.slice(0, -1) }) };
  const keep = (key: string) =>
    from === undefined ||
    (key.indexOf('/', root.length) !== -1 && !before(key, from) && (to === undefined || before(key, to)));
  let token: string | undefined;
  do {
    const page = await listPage(
      client,
      { ...input, ...(token !== undefined && { ContinuationToken: token }) },
      range.signal,
    );
    counts.requests++;
    const past = collect(page.contents, counts, into, keep);
    // Sorted pages: once a key of the range's end shows up, the rest of the listing is not ours.
    if (past && to !== undefined && page.contents.some((o) => !before(o.Key, to))) return;
    token = page.isTruncated ? page.nextContinuationToken : undefined;
  } while (token !== undefined);
}

/**
 * The listings of one run: a root is listed once, by its first caller; concurrent callers share the
 * request. A listing that fails is forgotten (the next caller lists again); one aborted by its first
 * caller's signal is listed again for a caller whose own signal is not aborted.
 */
export class RunListings {
  private readonly listings = new Map<string, Promise<PrefixListing>>();

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    /** Adds the requests sent and the objects listed. */
    private readonly counts: ListingCounts = { requests: 0, objects: 0 },
  ) {}

  /** The listings done (a folder below one of them is answered without awaiting anything). */
  private readonly listed = new Map<string, PrefixListing>();
  /** The roots of the listings that answered a question (`for`), in the order first asked. */
  readonly used = new Set<string>();

  /** The listing answering for `folder` (a full key prefix), listing its root if no listing covers it. */
  async for(folder: string, signal?: AbortSignal): Promise<PrefixListing> {
    const base = folderPrefix(folder);
    for (const [root, listing] of this.listed)
      if (base.startsWith(root)) {
        this.used.add(root);
        return listing;
      }
    for (;;) {
      const pending = this.covering(base) ?? this.start(listingRootOf(base), signal);
      try {
        const listing = await (signal ? abortable(pending, signal) : pending);
        this.used.add(listing.root);
        return listing;
      } catch (err) {
        if ((err as { name?: string } | null)?.name === 'AbortError' && !signal?.aborted) continue;
        throw err;
      }
    }
  }

  private covering(base: string): Promise<PrefixListing> | undefined {
    for (const [root, p] of this.listings) if (base.startsWith(root)) return p;
    return undefined;
  }

  private start(root: string, signal?: AbortSignal): Promise<PrefixListing> {
    const p = listPrefix(this.client, this.bucket, root, this.counts, signal);
    this.listings.set(root, p);
    p.then(
      (listing) => {
        if (this.listings.get(root) === p) this.listed.set(root, listing);
      },
      () => {
        if (this.listings.get(root) === p) this.listings.delete(root);
      },
    );
    return p;
  }

  /**
   * Starts listing `root` in the background (no signal), unless a listing covers it already: a later
   * question below it waits for that listing instead of sending its own. A failed prefetch is
   * forgotten, and the first question lists again (and gets the error).
   */
  prefetch(root: string): void {
    const base = folderPrefix(root);
    if (!this.covering(base)) this.start(base);
  }

  /**
   * Whether a listing started so far (e.g. prefetched) holds an object, once they are done (a failed
   * one counts as none): what a preflight "is there any raw input" check would learn with a request.
   */
  async found(signal?: AbortSignal): Promise<boolean> {
    const done = Promise.all([...this.listings.values()].map((p) => p.catch(() => undefined)));
    const listings = await (signal ? abortable(done, signal).catch(() => []) : done);
    return listings.some((l) => l?.hasObjects());
  }

  /** Forgets every listing: the next questions list again (a new run). */
  clear(): void {
    this.listings.clear();
    this.listed.clear();
    this.used.clear();
  }
}

/** `p`, or its rejection with the signal's reason as soon as `signal` aborts (`p` goes on). */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
