/**
 * Values in MongoDB collections, keyed by natural keys. An asset's `storage.database` picks the
 * collection (`table`, by its logical name) and the record id (`id` template, default the asset key).
 * The default collections are SPEC §4.3's:
 *
 * - `metrics`: one document per (metric_type, date) `{metric_type, date, timestamp, metrics, data_version,
 *   bytes, layout, chunks, write_tag, sha256, asset_key, created_at, updated_at}`; unique (metric_type, date).
 * - `reports`: one per date `{report_id: <id>, date, timestamp, report, ...}`; unique (date).
 * - Values over `inlineMaxBytes` of JSON (default 4 MB, far below the 16 MB document limit) are stored
 *   as UTF-8 JSON cut into binary chunks in `value_chunks` `{owner, tag, i, data, written_at}`, through
 *   the shared chunking module (io-managers/chunking.ts, mongodb/document-backend.ts): chunks first under
 *   a fresh tag, then the main document switched to that tag, then old chunks deleted.
 * Writes filter on fields, never on a client-chosen `_id` (CongoDB, the offline test server, lacks
 * string `_id`s); `created_at` is set on insert only.
 */
import { MongoClient, type Collection, type Document, type MongoClientOptions } from 'mongodb';
import {
  MissingValueError,
  type IOContext,
  type IOManager,
  type StoredStat,
  type StoreResult,
} from '../../engine/io.ts';
import { maskSecrets } from '../../engine/redact.ts';
import { fillIdTemplate, type StorageSpec } from '../../engine/storage.ts';
import { tableStorageSpec } from '../table-storage.ts';
import { ChunkedValues } from '../chunking.ts';
import { encodeJsonValue } from '../json-value.ts';
import { MongoDocumentBackend, type DocKey } from './document-backend.ts';

export interface MongoDbIOManagerOptions {
  /** e.g. `mongodb://user:pass@host:27017/`; the password never appears in messages. */
  url: string;
  /** Default `cityflow`. */
  database?: string;
  /**
   * The collections by the name assets use in `storage.database.table`; the first is the default.
   * Omitted: `metrics` (`metricsCollection`, default 'metrics': id field `metric_type`, value in
   * `metrics`, one document per id and date) and `reports` (`reportsCollection`, default 'reports': one
   * document per date, id in `report_id`, value in `report`).
   */
  collections?: Record<string, MongoCollection>;
  metricsCollection?: string;
  reportsCollection?: string;
  chunksCollection?: string;
  /** Default 5,000 ms, as the original. */
  serverSelectionTimeoutMS?: number;
  /** JSON size up to which a value is stored as a native sub-document. Default 4,000,000 bytes. */
  inlineMaxBytes?: number;
  /** Chunk size for larger values. Default 4,000,000 bytes. */
  chunkBytes?: number;
  /** Chunks of other writes older than this are orphans of interrupted runs and are deleted. Default 15 min. */
  orphanAgeMs?: number;
  /** A ready client (its lifetime stays with the caller). */
  client?: MongoClient;
  /** Extra driver options (TLS, pool size...). */
  clientOptions?: MongoClientOptions;
}

/** One collection of the manager; documents are keyed by the partition (`date`) and, usually, the id. */
export interface MongoCollection {
  /** The MongoDB collection name. */
  name: string;
  /** The field holding the record id, e.g. `metric_type`. */
  idField: string;
  /** The field holding an inline value, e.g. `metrics`. */
  valueField: string;
  /**
   * true (default): one document per (id, date), unique index `<idField>_date`. false: one per date
   * (unique index `date_unique`), the id written beside it.
   */
  idInKey?: boolean;
}

/** The collections of a manager's options (see MongoDbIOManagerOptions.collections). */
export function resolveCollections(opts: MongoDbIOManagerOptions): Record<string, MongoCollection> {
  if (opts.collections) {
    if (!Object.keys(opts.collections).length) throw new Error('MongoDB IO manager: "collections" is empty');
    return opts.collections;
  }
  return {
    metrics: { name: opts.metricsCollection ?? 'metrics', idField: 'metric_type', valueField: 'metrics' },
    reports: {
      name: opts.reportsCollection ?? 'reports',
      idField: 'report_id',
      valueField: 'report',
      idInKey: false,
    },
  };
}

const MAX_CHUNK_BYTES = 8_000_000;
/** BSON nests at most 100 levels; keep a margin for the document around the value. */
const MAX_INLINE_DEPTH = 90;
/** How long a failed connect is reported again before the next operation retries it. */
const CONNECT_FAILURE_MEMORY_MS = 30_000;

/** The host list of a MongoDB URL, without credentials. */
export function mongoHosts(url: string): string {
  // Userinfo up to the last @ before the options: a password holding an unescaped / stays out.
  const m = /^mongodb(?:\+srv)?:\/\/(?:[^?]*@)?([^/?]*)/.exec(url);
  return m?.[1] || maskSecrets(url);
}

function isUnreachable(err: unknown): boolean {
  const name = (err as Error).name ?? '';
  return /MongoServerSelectionError|MongoNetworkError|MongoNetworkTimeoutError|MongoTopologyClosedError/.test(
    name,
  );
}

export class MongoDbIOManager implements IOManager {
  readonly name = 'mongodb';
  readonly client: MongoClient;
  private readonly ownsClient: boolean;
  private readonly values: ChunkedValues<DocKey>;
  /** Reads `storage.database`; its `table` must be one of the manager's collections. */
  readonly accepts: StorageSpec;
  readonly collections: Record<string, MongoCollection>;
  private readonly chunksName: string;
  private indexes: Promise<void> | undefined;
  private connecting: Promise<void> | undefined;
  private connectFailedAt: number | undefined;

  constructor(private readonly opts: MongoDbIOManagerOptions) {
    this.ownsClient = !opts.client;
    this.client =
      opts.client ??
      new MongoClient(opts.url, {
        serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS ?? 5_000,
        // Polling heartbeats instead of streaming (exhaust) ones: CongoDB answers streamed hellos wrongly
        // and the driver then drops the pool under concurrent load; for a batch pipeline polling costs nothing.
        serverMonitoringMode: 'poll',
        ...opts.clientOptions,
      });
    this.collections = resolveCollections(opts);
    this.accepts = tableStorageSpec(this.collections);
    this.chunksName = opts.chunksCollection ?? 'value_chunks';
    this.values = new ChunkedValues(new MongoDocumentBackend((name) => this.coll(name), this.chunksName), {
      inlineMaxBytes: opts.inlineMaxBytes ?? 4_000_000,
      chunkBytes: Math.min(opts.chunkBytes ?? 4_000_000, MAX_CHUNK_BYTES),
      maxInlineDepth: MAX_INLINE_DEPTH,
      orphanAgeMs: opts.orphanAgeMs ?? 15 * 60_000,
    });
  }

  get databaseName(): string {
    return this.opts.database ?? 'cityflow';
  }

  /** A collection by its MongoDB name. */
  private coll(name: string): Collection<Document> {
    return this.client.db(this.databaseName).collection(name);
  }

  /** Creates the unique natural-key indexes (idempotent); run by `pipeline setup` and before first use. */
  ensureIndexes(): Promise<void> {
    this.indexes ??= this.guard('ensureIndexes', undefined, async () => {
      const chunks = this.coll(this.chunksName);
      await Promise.all([
        ...Object.values(this.collections).flatMap((c) =>
          c.idInKey === false
            ? [this.coll(c.name).createIndex({ date: 1 }, { unique: true, name: 'date_unique' })]
            : [
                this.coll(c.name).createIndex(
                  { [c.idField]: 1, date: 1 },
                  { unique: true, name: `${c.idField}_date` },
                ),
                this.coll(c.name).createIndex({ date: 1 }, { name: 'date' }),
              ],
        ),
        chunks.createIndex({ owner: 1, tag: 1, i: 1 }, { unique: true, name: 'owner_tag_i' }),
        chunks.createIndex({ owner: 1, written_at: 1 }, { name: 'owner_written_at' }),
      ]);
    }).catch((err: unknown) => {
      this.indexes = undefined; // try again next time
      throw err;
    });
    return this.indexes;
  }

  keyOf(ctx: IOContext): DocKey {
    const db = ctx.storage?.database ?? {};
    const table = db.table ?? Object.keys(this.collections)[0]!;
    const c = this.collections[table];
    if (!c)
      throw new Error(
        `${ctx.assetKey}: no MongoDB collection "${table}" (collections: ${Object.keys(this.collections).join(', ')})`,
      );
    const id = db.id === undefined ? ctx.assetKey : fillIdTemplate(db.id, ctx);
    const date = ctx.partitionKey;
    const filter = c.idInKey === false ? { date } : { [c.idField]: id, date };
    return {
      assetKey: ctx.assetKey,
      collection: c.name,
      filter,
      identity: c.idInKey === false ? { [c.idField]: id } : {},
      payloadAttr: c.valueField,
      owner: c.idInKey === false ? `${c.name}/${date}` : `${c.name}/${id}/${date}`,
      label: `${this.databaseName}.${c.name} ${Object.entries(filter)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    };
  }

  private location(key: DocKey): string {
    return `mongodb://${mongoHosts(this.opts.url)}/${this.databaseName}.${key.collection}?${new URLSearchParams(key.filter)}`;
  }

  async stat(ctx: IOContext): Promise<StoredStat | null> {
    const key = this.keyOf(ctx);
    const doc = await this.guard('stat', key, () =>
      this.coll(key.collection).findOne(key.filter, { projection: { data_version: 1, bytes: 1 } }),
    );
    if (!doc || typeof doc.data_version !== 'string') return null;
    return {
      dataVersion: doc.data_version,
      bytes: doc.bytes as number | undefined,
      location: this.location(key),
    };
  }

  async load(ctx: IOContext): Promise<unknown> {
    const key = this.keyOf(ctx);
    return this.guard('load', key, () =>
      this.values.load(key, () => new MissingValueError(ctx.assetKey, ctx.partitionKey, this.location(key))),
    );
  }

  async store(ctx: IOContext, value: unknown, dataVersion: string): Promise<StoreResult> {
    const key = this.keyOf(ctx);
    const enc = encodeJsonValue(value); // throws on NaN/Infinity with the field path
    await this.ensureIndexes();
    await this.guard('store', key, () => this.values.store(key, enc, dataVersion));
    return { bytes: enc.bytes.length, location: this.location(key) };
  }

  async close(): Promise<void> {
    this.connecting = undefined;
    if (this.ownsClient) await this.client.close();
  }

  /**
   * One explicit connect shared by every caller. Without it, concurrent first operations all start
   * the driver's auto-connect: one gets the real reason (`connect ECONNREFUSED 127.0.0.1:9`), the
   * others only `Topology is closed`. A failed connect is remembered for CONNECT_FAILURE_MEMORY_MS so
   * the units of a run fail fast with the real reason; after that, the next operation tries again.
   */
  private connect(): Promise<void> {
    const now = Date.now();
    if (this.connecting && (!this.connectFailedAt || now - this.connectFailedAt < CONNECT_FAILURE_MEMORY_MS))
      return this.connecting;
    this.connectFailedAt = undefined;
    this.connecting = this.client.connect().then(
      () => undefined,
      (err: unknown) => {
        this.connectFailedAt = Date.now();
        throw err;
      },
    );
    this.connecting.catch(() => {}); // callers get it; never unhandled
    return this.connecting;
  }

  /** Adds where (host, database, key; password masked) to any error. */
  private async guard<T>(op: string, key: DocKey | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      await this.connect();
      return await fn();
    } catch (err) {
      if (err instanceof MissingValueError || (err as Error).name === 'UnstorableValueError') throw err;
      const where = `${mongoHosts(this.opts.url)} (${this.opts.url})`;
      const what = key ? ` ${key.label}` : '';
      const msg = isUnreachable(err)
        ? `MongoDB unreachable at ${where} during ${op}${what}: ${(err as Error).message}`
        : `MongoDB ${op}${what} at ${where} failed: ${(err as Error).name}: ${(err as Error).message}`;
      // Credentials masked (userinfo, tlsCertificateKeyFilePassword=…), also those the driver echoes.
      throw new Error(maskSecrets(msg), { cause: err });
    }
  }
}
