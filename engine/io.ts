/**
 * Storage contracts. Implementations live in `io-managers/`; the engine only sees these interfaces.
 */
import type { EncodedValue, ValueDigest, ValueSink } from './encode.ts';
import type { StorageMeta, StorageSpec } from './storage.ts';

/** What an IO manager is told about the unit it loads or stores. */
export interface IOContext {
  assetKey: string;
  /** Partition key, or "all" for unpartitioned assets. */
  partitionKey: string;
  /** The asset's storage placement (engine/storage.ts), validated when the definitions loaded. */
  storage?: StorageMeta;
}

export interface StoredStat {
  /** Content hash recorded when the value was stored. */
  dataVersion: string;
  bytes?: number;
  /** Where the value lives, for humans (a path or a URL). */
  location?: string;
}

export interface StoreResult {
  bytes: number;
  location: string;
  /**
   * A cheap fingerprint of what this store left (e.g. size and modification time of the file), recorded
   * in the index (`metadata.storageStamp`) and handed back to `isUnchanged` when a plan checks storage.
   */
  stamp?: string;
}

/** A value a file store writes as the engine encodes it (`IOManager.openValue`). */
export interface ValueWriter extends ValueSink {
  /** Makes what was written the stored value, recorded under `digest.dataVersion`; atomic, as `store`. */
  commit(digest: ValueDigest): Promise<StoreResult>;
  /** Drops what was written (the previous value stays). */
  abort(): Promise<void>;
}

/** Raised by `load` when nothing is stored for the unit; IO managers must use it so callers can tell. */
export class MissingValueError extends Error {
  constructor(
    readonly assetKey: string,
    readonly partitionKey: string,
    where: string,
  ) {
    super(`No stored value for ${assetKey} [${partitionKey}] in ${where}`);
    this.name = 'MissingValueError';
  }
}

/**
 * Three small operations, like Kedro's datasets. `store` must be atomic: a reader sees the old value
 * or the new one, never a mix, and a killed process leaves no half-written value.
 * `dataVersion` is computed by the engine and must be returned unchanged by `stat`.
 *
 * **One serialisation.** The engine encodes each value once (engine/encode.ts, in the format of the
 * asset's `storage.file.format`: canonical JSON by default, the text of a text asset, an Arrow IPC
 * stream for a table asset) and its data version is the hash of those bytes. It passes them to `store`
 * as `encoded` (`encoded.dataVersion === dataVersion`): a manager that stores files (local, S3) writes
 * exactly `encoded.chunks`, so the version is the hash of the stored file. A manager that stores
 * documents (DynamoDB, MongoDB) may ignore them and store the value in its own form under that
 * version. Without `encoded` (a direct call), a file manager encodes the value itself the same way.
 * A manager with `openValue` (local files) gets the bytes as they are produced instead, hashed on
 * their way to the file.
 *
 * **Table values** (Arrow `Table`s of `tableSchema` assets) are stored only by managers that declare
 * `storesTables: true`; binding a table asset to another manager is refused when the definitions load.
 */
export interface IOManager {
  readonly name: string;
  /**
   * The section of an asset's `storage` this manager reads and its schema (e.g. `file`, `database`),
   * checked when the definitions load. Without it the manager reads no section.
   */
  readonly accepts?: StorageSpec;
  /** Stores table values (`storage.file.format: 'arrow'`), as Arrow IPC. Default false. */
  readonly storesTables?: boolean;
  load(ctx: IOContext): Promise<unknown>;
  store(ctx: IOContext, value: unknown, dataVersion: string, encoded?: EncodedValue): Promise<StoreResult>;
  /**
   * Optional, for a manager that writes files: the engine then streams the value's bytes into the
   * writer as it encodes and hashes them, and commits with their digest (instead of `store` with the
   * bytes in memory). Same result and guarantees as `store`; a large value never exists whole in
   * memory as text or bytes.
   */
  openValue?(ctx: IOContext): Promise<ValueWriter>;
  /** null when nothing is stored. */
  stat(ctx: IOContext): Promise<StoredStat | null>;
  /**
   * Optional fast path of a plan's storage check, synchronous and cheap (one `stat` of a file): true only
   * when storage still holds exactly what the store that returned `stamp` left. False or absent: the
   * engine calls `stat`. A plan of 365,000 stored units makes one such call each.
   */
  isUnchanged?(ctx: IOContext, stamp: string): boolean;
  /**
   * Removes the stored value, if any (optional). Called when a unit that had a value now has no data, so
   * that a value no longer current is not left where people read it; without it the engine warns.
   */
  delete?(ctx: IOContext): Promise<void>;
  close?(): Promise<void>;
}

/** One raw input file as seen by asset code: always a readable local path (S3 keys are cached first). */
export interface SourceFile {
  /** Absolute local path to read. */
  path: string;
  /** Path relative to the source root, with forward slashes (e.g. `api/bikes/dt=2025-11-04/hour=02/bikes_data.json`). */
  key: string;
  size: number;
}

export interface FileSet {
  files: SourceFile[];
  /** Which backend served the files, e.g. `local:/data` or `s3://bucket/prefix` (fallbacks are visible here). */
  origin: string;
}

/** Where a source asset's files are, relative to the raw root. */
export interface SourceLocation {
  /** Folder relative to the raw root, forward slashes, no leading slash (e.g. `api/bikes/dt=2025-11-04/hour=02`). */
  prefix: string;
  /** Keep only file names matching this (tested on the base name). */
  match?: RegExp;
  /** Walk sub-folders. Default false. */
  recursive?: boolean;
}

export interface SourceObservation {
  /**
   * Stable hash of what is there (content hashes or ETags, sizes); changes when any file changes. The
   * engine records a partition with `fileCount` 0 as having no data (`NO_DATA`), whatever this says.
   */
  dataVersion: string;
  fileCount: number;
  bytes: number;
}

/**
 * Resolves raw inputs: local folders by default, S3 (+ cache + fallback) in AWS mode. An error thrown
 * with `fatal: true` (a configuration error, e.g. access denied) stops the plan; others fail only the
 * units that read the source.
 */
export interface SourceIO {
  readonly name: string;
  observe(location: SourceLocation, signal?: AbortSignal): Promise<SourceObservation>;
  /**
   * Optional: observes many locations at once (a plan's source units), each result as `observe` gives
   * it, in the order asked. A failure is its location's alone (`rejected`); one marked `fatal` may be
   * thrown instead. Lets a backend share work between the locations: the local one reads each parent
   * folder once rather than asking for every hourly folder, most of which are absent in sparse data.
   * Without it the engine calls `observe`, 16 at a time.
   */
  observeMany?(
    locations: readonly SourceLocation[],
    signal?: AbortSignal,
  ): Promise<PromiseSettledResult<SourceObservation>[]>;
  /** Makes the files readable locally (downloading them if needed) and lists them, sorted by key. */
  resolve(location: SourceLocation, signal?: AbortSignal): Promise<FileSet>;
  /** Lists immediate sub-folder names under a prefix (used to discover `dt=` partitions). */
  listFolders(prefix: string): Promise<string[]>;
  close?(): Promise<void>;
}
