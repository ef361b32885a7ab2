/**
 * Metrics and daily reports in DynamoDB (SPEC §4.4), without the original's 400 KB failure.
 *
 * Layout (docs/storage.md): one index item per (metric_type, date) / (report_id, date) holding
 * `data_version, bytes, layout, chunks, write_tag, sha256, timestamp, created_at, updated_at`.
 * - `inline`: values up to `inlineMaxBytes` of JSON are stored in the index item itself as a native
 *   map (`metrics` or `report`), readable by any DynamoDB client.
 * - `chunked`: larger values are stored as their UTF-8 JSON text cut into ≤ `chunkBytes` binary chunks,
 *   items `<pk>#chunk` / `<date>#<write tag>#<i>`. Chunks are written first under a fresh tag, then the
 *   index item is switched to that tag (one atomic item write), then the previous write's chunks are
 *   deleted. Readers follow the index, so they see the old value or the new one, never a mix.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  waitUntilTableExists,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  MissingValueError,
  type IOContext,
  type IOManager,
  type StoredStat,
  type StoreResult,
} from '../../engine/io.ts';
import { maskSecrets } from '../../engine/redact.ts';
import type { StorageSpec } from '../../engine/storage.ts';
import { tableStorageSpec } from '../table-storage.ts';
import { batchGetAll, batchWriteAll, type BatchOptions, type WriteRequest } from './batch.ts';
import {
  encodeJsonValue,
  newWriteTag,
  sliceBytes,
  verifiedChunks,
  writeTagTime,
  type EncodedValue,
} from './json-value.ts';
import {
  chunkKey,
  chunkPk,
  chunkSkPrefix,
  indexKey,
  itemKeyFor,
  locationOf,
  resolveTables,
  tagOfChunkSk,
  type DynamoTable,
  type DynamoTables,
  type ItemKey,
} from './keys.ts';

export interface DynamoDbIOManagerOptions extends DynamoTables {
  region: string;
  /** e.g. `http://127.0.0.1:8000` for DynamoDB Local; omit for AWS. */
  endpoint?: string;
  /** Omit to use the SDK's default provider chain (env, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** A ready client (tests add middleware to it); `region`/`endpoint` are then only used in messages. */
  client?: DynamoDBClient;
  /** JSON size up to which a value is stored inline as a native map. Default 300,000 bytes. */
  inlineMaxBytes?: number;
  /** Chunk size for larger values. Default 350,000 bytes (item limit is 400 KB). */
  chunkBytes?: number;
  /** BatchWrite concurrency and retry settings. */
  batch?: BatchOptions;
  /** Chunks of other writes older than this are orphans of interrupted runs and are deleted. Default 15 min. */
  orphanAgeMs?: number;
}

const MAX_CHUNK_BYTES = 390_000;
/** DynamoDB nests maps/lists at most 32 deep; keep a margin for the item itself. */
const MAX_INLINE_DEPTH = 30;
const CHUNK_LOAD_TRIES = 3;

interface IndexItem {
  data_version?: string;
  bytes?: number;
  layout?: 'inline' | 'chunked';
  chunks?: number;
  write_tag?: string | null;
  sha256?: string;
  metrics?: unknown;
  report?: unknown;
}

function isNetworkError(err: unknown): boolean {
  const e = err as { code?: string; name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH'].includes(
      e.code ?? '',
    ) ||
    e.name === 'TimeoutError' ||
    (e.$metadata?.httpStatusCode === undefined &&
      /ECONNREFUSED|ENOTFOUND|timed? ?out|socket hang up/i.test(String(err)))
  );
}

export class DynamoDbIOManager implements IOManager {
  readonly name = 'dynamodb';
  /** Reads `storage.database`; its `table` must be one of the manager's tables. */
  readonly accepts: StorageSpec;
  readonly tables: Record<string, DynamoTable>;
  readonly client: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  private readonly inlineMaxBytes: number;
  private readonly chunkBytes: number;
  private readonly orphanAgeMs: number;
  private readonly where: string;

  constructor(private readonly opts: DynamoDbIOManagerOptions) {
    this.tables = resolveTables(opts);
    this.accepts = tableStorageSpec(this.tables);
    this.client =
      opts.client ??
      new DynamoDBClient({
        region: opts.region,
        endpoint: opts.endpoint,
        credentials: opts.credentials,
        requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
      });
    this.doc = DynamoDBDocumentClient.from(this.client, {
      marshallOptions: { removeUndefinedValues: true, allowImpreciseNumbers: true },
      // Every JS number written comes back as the same double (no BigInt for large values).
      unmarshallOptions: { wrapNumbers: (s: string) => Number(s) },
    });
    this.inlineMaxBytes = opts.inlineMaxBytes ?? 300_000;
    this.chunkBytes = Math.min(opts.chunkBytes ?? 350_000, MAX_CHUNK_BYTES);
    this.orphanAgeMs = opts.orphanAgeMs ?? 15 * 60_000;
    this.where = `${opts.endpoint ? maskSecrets(opts.endpoint) : 'AWS'} (region ${opts.region})`;
  }

  /** Creates the metrics and reports tables if missing (on-demand billing) and waits until ACTIVE. */
  async ensureTables(maxWaitSeconds = 120): Promise<{ created: string[] }> {
    const created: string[] = [];
    const want = Object.values(this.tables).map((t) => [t.name, t.idAttribute] as const);
    await this.guard('ensureTables', undefined, async () => {
      for (const [table, pk] of want) {
        const schema: KeySchemaElement[] = [
          { AttributeName: pk, KeyType: 'HASH' },
          { AttributeName: 'date', KeyType: 'RANGE' },
        ];
        try {
          const d = await this.client.send(new DescribeTableCommand({ TableName: table }));
          const have = JSON.stringify(d.Table?.KeySchema ?? []);
          if (have !== JSON.stringify(schema))
            throw new Error(
              `Table ${table} exists with key schema ${have}, expected ${JSON.stringify(schema)}`,
            );
        } catch (err) {
          if ((err as Error).name !== 'ResourceNotFoundException') throw err;
          try {
            await this.client.send(
              new CreateTableCommand({
                TableName: table,
                BillingMode: 'PAY_PER_REQUEST',
                KeySchema: schema,
                AttributeDefinitions: [
                  { AttributeName: pk, AttributeType: 'S' },
                  { AttributeName: 'date', AttributeType: 'S' },
                ],
              }),
            );
            created.push(table);
          } catch (e) {
            if ((e as Error).name !== 'ResourceInUseException') throw e; // created meanwhile
          }
        }
        await waitUntilTableExists(
          { client: this.client, maxWaitTime: maxWaitSeconds },
          { TableName: table },
        );
      }
    });
    return { created };
  }

  async stat(ctx: IOContext): Promise<StoredStat | null> {
    const key = itemKeyFor(ctx, this.tables);
    const item = await this.guard('stat', key, () => this.getIndex(key, ['data_version', 'bytes']));
    if (!item || typeof item.data_version !== 'string') return null;
    return { dataVersion: item.data_version, bytes: item.bytes, location: locationOf(key) };
  }

  async load(ctx: IOContext): Promise<unknown> {
    const key = itemKeyFor(ctx, this.tables);
    return this.guard('load', key, async () => {
      for (let attempt = 1; ; attempt++) {
        const item = await this.getIndex(key);
        if (!item) throw new MissingValueError(ctx.assetKey, ctx.partitionKey, locationOf(key));
        if (item.layout !== 'chunked') return item[key.payloadAttr] ?? null;
        const bytes = await this.readChunks(key, item);
        if (bytes) return JSON.parse(bytes.toString('utf8'));
        // A chunk is gone: a concurrent store replaced the value after we read the index. Re-read it.
        if (attempt >= CHUNK_LOAD_TRIES)
          throw new Error(`Chunks of ${locationOf(key)} (write ${item.write_tag}) are missing or corrupt`);
      }
    });
  }

  async store(ctx: IOContext, value: unknown, dataVersion: string): Promise<StoreResult> {
    const key = itemKeyFor(ctx, this.tables);
    const enc = encodeJsonValue(value); // throws on NaN/Infinity with the field path
    await this.guard('store', key, async () => {
      const prev = await this.getIndex(key, ['write_tag']);
      const inline =
        enc.bytes.length <= this.inlineMaxBytes &&
        enc.depth <= MAX_INLINE_DEPTH &&
        !enc.hasLoneSurrogate &&
        !enc.hasAwkwardKey;
      let tag: string | null = null;
      if (inline) {
        try {
          await this.writeIndex(key, enc, dataVersion, {
            inlineValue: JSON.parse(enc.bytes.toString('utf8')),
          });
        } catch (err) {
          // Beyond what DynamoDB accepts natively (size after marshalling, a number out of its range): chunk it.
          if ((err as Error).name !== 'ValidationException') throw err;
          tag = await this.writeChunked(key, enc, dataVersion);
        }
      } else {
        tag = await this.writeChunked(key, enc, dataVersion);
      }
      await this.deleteStaleChunks(key, tag, prev?.write_tag ?? null);
    });
    return { bytes: enc.bytes.length, location: locationOf(key) };
  }

  async close(): Promise<void> {
    this.doc.destroy();
    this.client.destroy();
  }

  // ---------------------------------------------------------------------------------------------

  private async getIndex(
    key: ItemKey,
    fields?: string[],
  ): Promise<(IndexItem & Record<string, unknown>) | undefined> {
    const names = fields ? Object.fromEntries(fields.map((f, i) => [`#f${i}`, f])) : undefined;
    const out = await this.doc.send(
      new GetCommand({
        TableName: key.table,
        Key: indexKey(key),
        ConsistentRead: true,
        ProjectionExpression: names ? Object.keys(names).join(', ') : undefined,
        ExpressionAttributeNames: names,
      }),
    );
    return out.Item as (IndexItem & Record<string, unknown>) | undefined;
  }

  private async writeChunked(key: ItemKey, enc: EncodedValue, dataVersion: string): Promise<string> {
    const tag = newWriteTag();
    const requests: WriteRequest[] = sliceBytes(enc.bytes, this.chunkBytes).map((slice, i) => ({
      PutRequest: { Item: { ...chunkKey(key, tag, i), chunk_index: i, chunk: slice } },
    }));
    await batchWriteAll(this.doc, key.table, requests, this.opts.batch);
    await this.writeIndex(key, enc, dataVersion, { tag, chunks: requests.length });
    return tag;
  }

  /** One UpdateItem: keeps `created_at`, refreshes everything else, removes the other layout's fields. */
  private async writeIndex(
    key: ItemKey,
    enc: EncodedValue,
    dataVersion: string,
    layout: { inlineValue: unknown } | { tag: string; chunks: number },
  ): Promise<void> {
    const now = new Date().toISOString();
    const chunked = 'tag' in layout;
    const set: Record<string, unknown> = {
      data_version: dataVersion,
      bytes: enc.bytes.length,
      sha256: enc.sha256,
      layout: chunked ? 'chunked' : 'inline',
      chunks: chunked ? layout.chunks : 0,
      write_tag: chunked ? layout.tag : null,
      timestamp: now,
      updated_at: now,
    };
    if (!chunked) set[key.payloadAttr] = layout.inlineValue;
    const names: Record<string, string> = { '#created_at': 'created_at' };
    const values: Record<string, unknown> = { ':now': now };
    const parts = Object.entries(set).map(([k, v], i) => {
      names[`#s${i}`] = k;
      values[`:s${i}`] = v;
      return `#s${i} = :s${i}`;
    });
    let expr = `SET ${parts.join(', ')}, #created_at = if_not_exists(#created_at, :now)`;
    if (chunked) {
      names['#payload'] = key.payloadAttr;
      expr += ' REMOVE #payload';
    }
    await this.doc.send(
      new UpdateCommand({
        TableName: key.table,
        Key: indexKey(key),
        UpdateExpression: expr,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  /** Reassembles a chunked value; undefined when a chunk is missing or the bytes do not match the index. */
  private async readChunks(key: ItemKey, item: IndexItem): Promise<Buffer | undefined> {
    const n = item.chunks ?? 0;
    const tag = item.write_tag;
    if (typeof tag !== 'string') return undefined;
    const keys = Array.from({ length: n }, (_, i) => chunkKey(key, tag, i));
    const found = await batchGetAll(this.doc, key.table, keys, {
      ...this.opts.batch,
      projection: '#i, #c',
      names: { '#i': 'chunk_index', '#c': 'chunk' },
    });
    if (found.length !== n) return undefined;
    const parts: Buffer[] = new Array<Buffer>(n);
    for (const f of found) parts[f.chunk_index as number] = Buffer.from(f.chunk as Uint8Array);
    return verifiedChunks(Buffer.concat(parts), item);
  }

  /** Deletes the previous write's chunks and orphans of interrupted writes; never the current ones. */
  private async deleteStaleChunks(
    key: ItemKey,
    current: string | null,
    previous: string | null,
  ): Promise<void> {
    const stale: Record<string, unknown>[] = [];
    const cutoff = Date.now() - this.orphanAgeMs;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: key.table,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: { '#pk': key.pkName, '#sk': key.skName },
          ExpressionAttributeValues: { ':pk': chunkPk(key), ':prefix': chunkSkPrefix(key) },
          ProjectionExpression: '#pk, #sk',
          ExclusiveStartKey: start,
          ConsistentRead: true,
        }),
      );
      for (const it of page.Items ?? []) {
        const tag = tagOfChunkSk(key, String(it[key.skName]));
        if (tag === undefined || tag === current) continue;
        if (tag === previous || writeTagTime(tag) < cutoff) stale.push(it);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    if (stale.length > 0)
      await batchWriteAll(
        this.doc,
        key.table,
        stale.map((Key) => ({ DeleteRequest: { Key } })),
        this.opts.batch,
      );
  }

  /** Adds the endpoint (never credentials) and the item to any error, so a failure says where. */
  private async guard<T>(op: string, key: ItemKey | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof MissingValueError || (err as Error).name === 'UnstorableValueError') throw err;
      const what = key ? ` ${locationOf(key)}` : '';
      const msg = isNetworkError(err)
        ? `DynamoDB unreachable at ${this.where} during ${op}${what}: ${(err as Error).message || (err as Error).name}`
        : `DynamoDB ${op}${what} at ${this.where} failed: ${(err as Error).name}: ${(err as Error).message}`;
      throw new Error(maskSecrets(msg), { cause: err });
    }
  }
}
