/**
 * The materialization index in a DynamoDB table, shared by coordinators on several machines
 * (SHARED_STATE=dynamodb). One item per asset × partition: `pk` = asset key, `sk` = `p#<partition>`
 * (a key attribute cannot be empty: unpartitioned assets have partition ''), `r` = the record as JSON
 * text, `run` and `fence` = who wrote it. One more item, `pk` = `#stamp`, counts the writes: a run
 * re-plans when it moved while it waited for its unit locks.
 *
 * A write is one TransactWriteItems per ≤ 99 records (DynamoDB allows 100 actions and 4 MB per
 * transaction), each with a ConditionCheck that the run's unit-lock entry still exists with the run's
 * fencing token (io-managers/dynamodb/unit-locks.ts): a run that lost its units (its lease ran out
 * while it was paused, and another run took them over) writes nothing and fails with FencedWriteError.
 */
import {
  GetCommand,
  paginateQuery,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import pLimit from 'p-limit';
import {
  FencedWriteError,
  type AssetIndex,
  type IndexBackend,
  type IndexFence,
} from '../../engine/index-backend.ts';
import type { MaterializationRecord } from '../../engine/state.ts';
import { backoffDelay, sleep } from './backoff.ts';
import { cancellationCodes, stateTableError } from './state-tables.ts';
import { lockEntryKey } from './unit-locks.ts';

/** DynamoDB's item size limit. */
export const MAX_ITEM_BYTES = 400 * 1024;
const MAX_TX_ACTIONS = 100;
/** Below the 4 MB of a transaction, with room for attribute names and the condition. */
const MAX_TX_BYTES = 3_500_000;
const STAMP_KEY = { pk: '#stamp', sk: '#' } as const;
const SK_PREFIX = 'p#';
const CONFLICT_RETRIES = 8;

export interface DynamoIndexOptions {
  doc: DynamoDBDocumentClient;
  table: string;
  /** The unit-lock table whose entries fence the writes. */
  locksTable: string;
  /** Queries in flight when loading many assets. Default 16. */
  concurrency?: number;
}

export class DynamoIndexBackend implements IndexBackend {
  readonly where: string;

  constructor(private readonly opts: DynamoIndexOptions) {
    this.where = `DynamoDB table ${opts.table}`;
  }

  async load(assets: readonly string[]): Promise<Map<string, AssetIndex>> {
    try {
      return await this.loadAll(assets);
    } catch (err) {
      throw stateTableError(err, this.opts.table, 'reading the index');
    }
  }

  private async loadAll(assets: readonly string[]): Promise<Map<string, AssetIndex>> {
    const limit = pLimit(this.opts.concurrency ?? 16);
    const entries = await Promise.all(
      assets.map((a) => limit(async () => [a, await this.loadAsset(a)] as const)),
    );
    return new Map(entries);
  }

  private async loadAsset(asset: string): Promise<AssetIndex> {
    const out: AssetIndex = {};
    const pages = paginateQuery(
      { client: this.opts.doc },
      {
        TableName: this.opts.table,
        KeyConditionExpression: 'pk = :a',
        ExpressionAttributeValues: { ':a': asset },
        ProjectionExpression: 'sk, r',
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const sk = String(item.sk);
        if (!sk.startsWith(SK_PREFIX)) continue;
        try {
          out[sk.slice(SK_PREFIX.length)] = JSON.parse(String(item.r)) as MaterializationRecord;
        } catch (err) {
          throw new Error(
            `Index record ${asset}[${sk.slice(SK_PREFIX.length)}] in ${this.where} is unreadable (${(err as Error).message}): delete that item to rebuild the unit`,
            { cause: err },
          );
        }
      }
    }
    return out;
  }

  async write(changes: ReadonlyMap<string, AssetIndex>, fence?: IndexFence): Promise<void> {
    const items: { item: Record<string, unknown>; bytes: number }[] = [];
    for (const [asset, records] of changes) {
      for (const [partition, rec] of Object.entries(records)) {
        const item = {
          pk: asset,
          sk: SK_PREFIX + partition,
          r: JSON.stringify(rec),
          ...(fence && { run: fence.runId, fence: fence.token }),
        };
        // Attribute names and values, as DynamoDB counts an item's size (numbers: ≤ 21 bytes).
        const bytes =
          Buffer.byteLength(item.pk) +
          Buffer.byteLength(item.sk) +
          Buffer.byteLength(item.r) +
          60 +
          (fence ? Buffer.byteLength(fence.runId) : 0);
        if (bytes > MAX_ITEM_BYTES)
          throw new Error(
            `Index record ${partition ? `${asset}[${partition}]` : asset} is ${Math.ceil(bytes / 1024)} KB, above DynamoDB's 400 KB ` +
              `item limit (its metadata or check results are too large): make the asset's metadata or check metadata smaller`,
          );
        items.push({ item, bytes });
      }
    }
    const room = MAX_TX_ACTIONS - (fence ? 1 : 0);
    let batch: Record<string, unknown>[] = [];
    let batchBytes = 0;
    for (const { item, bytes } of items) {
      if (batch.length && (batch.length >= room || batchBytes + bytes > MAX_TX_BYTES)) {
        await this.writeBatch(batch, fence);
        batch = [];
        batchBytes = 0;
      }
      batch.push(item);
      batchBytes += bytes;
    }
    if (batch.length) await this.writeBatch(batch, fence);
    if (items.length)
      await this.opts.doc.send(
        new UpdateCommand({
          TableName: this.opts.table,
          Key: STAMP_KEY,
          UpdateExpression: 'ADD n :one',
          ExpressionAttributeValues: { ':one': 1 },
        }),
      );
  }

  private async writeBatch(batch: Record<string, unknown>[], fence?: IndexFence): Promise<void> {
    const items = [
      ...(fence
        ? [
            {
              ConditionCheck: {
                TableName: this.opts.locksTable,
                Key: lockEntryKey(fence.runId),
                ConditionExpression: 'attribute_exists(pk) AND #t = :t',
                ExpressionAttributeNames: { '#t': 'token' },
                ExpressionAttributeValues: { ':t': fence.token },
              },
            },
          ]
        : []),
      ...batch.map((Item) => ({ Put: { TableName: this.opts.table, Item } })),
    ];
    for (let attempt = 0; ; attempt++) {
      try {
        await this.opts.doc.send(new TransactWriteCommand({ TransactItems: items }));
        return;
      } catch (err) {
        const codes = cancellationCodes(err);
        if (fence && codes?.[0] === 'ConditionalCheckFailed')
          throw new FencedWriteError(
            `run ${fence.runId} no longer holds its unit locks in DynamoDB table ${this.opts.locksTable} ` +
              `(fencing token ${fence.token}): its lease ran out (the process was paused or cut off) and ` +
              `another run took its units over. Its ${batch.length} index record(s) were not written, so ` +
              `that run's records stay intact; run materialize again to build what is missing`,
          );
        // Another write on one of these items at the same moment (e.g. the lock entry's lease refresh).
        if (err instanceof FencedWriteError) throw err;
        const conflict =
          codes?.includes('TransactionConflict') || (err as Error).name === 'TransactionConflictException';
        if (!conflict || attempt >= CONFLICT_RETRIES)
          throw stateTableError(err, this.opts.table, 'writing the index');
        await sleep(backoffDelay(attempt, 20, 500));
      }
    }
  }

  async stamp(): Promise<string> {
    try {
      const { Item } = await this.opts.doc.send(
        new GetCommand({ TableName: this.opts.table, Key: STAMP_KEY, ConsistentRead: true }),
      );
      return String(Item?.n ?? 0);
    } catch (err) {
      throw stateTableError(err, this.opts.table, 'reading the index stamp');
    }
  }
}
