/**
 * The DynamoDB side of chunked values (io-managers/chunking.ts): the index item is the main item of the
 * key (`<id>`, `<date>`), chunks are items `<id>#chunk` / `<date>#<write tag>#<i>` in the same table,
 * written and deleted in batches (batch.ts).
 */
import { GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isStaleTag, type ChunkBackend, type IndexFields, type IndexRecord } from '../chunking.ts';
import { batchGetAll, batchWriteAll, type BatchOptions } from './batch.ts';
import {
  chunkKey,
  chunkPk,
  chunkSkPrefix,
  indexKey,
  locationOf,
  tagOfChunkSk,
  type ItemKey,
} from './keys.ts';

export class DynamoItemBackend implements ChunkBackend<ItemKey> {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly batch: BatchOptions | undefined,
  ) {}

  async readIndex(key: ItemKey, fields?: readonly string[]): Promise<IndexRecord | undefined> {
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
    return out.Item as IndexRecord | undefined;
  }

  inlineValue(key: ItemKey, record: IndexRecord): unknown {
    return record[key.payloadAttr];
  }

  /** One UpdateItem: keeps `created_at`, refreshes everything else, removes the other layout's fields. */
  async writeIndex(key: ItemKey, fields: IndexFields, inline?: { value: unknown }): Promise<void> {
    const now = new Date().toISOString();
    const set: Record<string, unknown> = { ...fields, timestamp: now, updated_at: now };
    if (inline) set[key.payloadAttr] = inline.value;
    const names: Record<string, string> = { '#created_at': 'created_at' };
    const values: Record<string, unknown> = { ':now': now };
    const parts = Object.entries(set).map(([k, v], i) => {
      names[`#s${i}`] = k;
      values[`:s${i}`] = v;
      return `#s${i} = :s${i}`;
    });
    let expr = `SET ${parts.join(', ')}, #created_at = if_not_exists(#created_at, :now)`;
    if (!inline) {
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

  async writeChunks(key: ItemKey, tag: string, slices: Buffer[]): Promise<void> {
    const requests = slices.map((slice, i) => ({
      PutRequest: { Item: { ...chunkKey(key, tag, i), chunk_index: i, chunk: slice } },
    }));
    await batchWriteAll(this.doc, key.table, requests, this.batch);
  }

  async readChunks(key: ItemKey, tag: string, count: number): Promise<Buffer[] | undefined> {
    const keys = Array.from({ length: count }, (_, i) => chunkKey(key, tag, i));
    const found = await batchGetAll(this.doc, key.table, keys, {
      ...this.batch,
      projection: '#i, #c',
      names: { '#i': 'chunk_index', '#c': 'chunk' },
    });
    if (found.length !== count) return undefined;
    const parts: Buffer[] = new Array<Buffer>(count);
    for (const f of found) parts[f.chunk_index as number] = Buffer.from(f.chunk as Uint8Array);
    return parts.every((p) => p !== undefined) ? parts : undefined;
  }

  async deleteStaleChunks(
    key: ItemKey,
    current: string | null,
    previous: string | null,
    cutoffMs: number,
  ): Promise<void> {
    const stale: Record<string, unknown>[] = [];
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
        if (tag !== undefined && isStaleTag(tag, current, previous, cutoffMs)) stale.push(it);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    if (stale.length > 0)
      await batchWriteAll(
        this.doc,
        key.table,
        stale.map((Key) => ({ DeleteRequest: { Key } })),
        this.batch,
      );
  }

  /** Beyond what DynamoDB accepts natively (size after marshalling, a number out of its range). */
  refusesInline(err: unknown): boolean {
    return (err as Error).name === 'ValidationException';
  }

  describe(key: ItemKey): string {
    return locationOf(key);
  }
}
