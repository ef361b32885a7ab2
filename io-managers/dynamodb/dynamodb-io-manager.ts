/**
 * Values in DynamoDB tables (by default SPEC §4.4's metrics and reports), without the original's 400 KB
 * failure. An asset's `storage.database` picks the table and the record id (keys.ts).
 *
 * Layout (docs/storage.md): one index item per (<id attribute>, date), e.g. (metric_type, date), holding
 * `data_version, bytes, layout, chunks, write_tag, sha256, timestamp, created_at, updated_at`.
 * - `inline`: values up to `inlineMaxBytes` of JSON are stored in the index item itself as a native
 *   map (`metrics` or `report`), readable by any DynamoDB client.
 * - `chunked`: larger values are stored as their UTF-8 JSON text cut into ≤ `chunkBytes` binary chunks,
 *   items `<pk>#chunk` / `<date>#<write tag>#<i>`. Chunks are written first under a fresh tag, then the
 *   index item is switched to that tag (one atomic item write), then the previous write's chunks are
 *   deleted (io-managers/chunking.ts, dynamodb/item-backend.ts). Readers follow the index, so they see
 *   the old value or the new one, never a mix.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  waitUntilTableExists,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  MissingValueError,
  type IOContext,
  type IOManager,
  type StoredStat,
  type StoreResult,
} from '../../engine/io.ts';
import { maskSecrets } from '../../engine/redact.ts';
import type { StorageSpec } from '../../engine/storage.ts';
import { ChunkedValues } from '../chunking.ts';
import { encodeJsonValue } from '../json-value.ts';
import { tableStorageSpec } from '../table-storage.ts';
import type { BatchOptions } from './batch.ts';
import { DynamoItemBackend } from './item-backend.ts';
import {
  itemKeyFor,
  locationOf,
  resolveTables,
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
  private readonly backend: DynamoItemBackend;
  private readonly values: ChunkedValues<ItemKey>;
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
    this.backend = new DynamoItemBackend(this.doc, opts.batch);
    this.values = new ChunkedValues(this.backend, {
      inlineMaxBytes: opts.inlineMaxBytes ?? 300_000,
      chunkBytes: Math.min(opts.chunkBytes ?? 350_000, MAX_CHUNK_BYTES),
      maxInlineDepth: MAX_INLINE_DEPTH,
      orphanAgeMs: opts.orphanAgeMs ?? 15 * 60_000,
    });
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
    const item = await this.guard('stat', key, () => this.backend.readIndex(key, ['data_version', 'bytes']));
    if (!item || typeof item.data_version !== 'string') return null;
    return { dataVersion: item.data_version, bytes: item.bytes, location: locationOf(key) };
  }

  async load(ctx: IOContext): Promise<unknown> {
    const key = itemKeyFor(ctx, this.tables);
    return this.guard('load', key, () =>
      this.values.load(key, () => new MissingValueError(ctx.assetKey, ctx.partitionKey, locationOf(key))),
    );
  }

  async store(ctx: IOContext, value: unknown, dataVersion: string): Promise<StoreResult> {
    const key = itemKeyFor(ctx, this.tables);
    const enc = encodeJsonValue(value); // throws on NaN/Infinity with the field path
    await this.guard('store', key, () => this.values.store(key, enc, dataVersion));
    return { bytes: enc.bytes.length, location: locationOf(key) };
  }

  async close(): Promise<void> {
    this.doc.destroy();
    this.client.destroy();
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
