/**
 * The shared chunking module (io-managers/chunking.ts) on both real databases, through the DynamoDB and
 * MongoDB backends the IO managers use, with small limits so that the edges are cheap to reach: a value
 * exactly at the inline limit and one byte over it, thousands of chunks, multi-byte characters cut across
 * chunks, a write killed between its chunks and its index switch, and a lost chunk.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChunkedValues,
  type ChunkBackend,
  type ChunkingLimits,
  type IndexRecord,
} from '../../io-managers/chunking.ts';
import { DynamoItemBackend } from '../../io-managers/dynamodb/item-backend.ts';
import { itemKeyFor, tagOfChunkSk, type ItemKey } from '../../io-managers/dynamodb/keys.ts';
import { encodeJsonValue } from '../../io-managers/json-value.ts';
import { MongoDocumentBackend, type DocKey } from '../../io-managers/mongodb/document-backend.ts';
import { MongoDbIOManager } from '../../io-managers/mongodb/mongodb-io-manager.ts';
import { chunkItems, dynamoManagers } from './dynamo-managers.ts';
import { dynamoForTests, mongoForTests, type TestServer } from './servers.ts';

const LIMITS: ChunkingLimits = {
  inlineMaxBytes: 100,
  chunkBytes: 16,
  maxInlineDepth: 30,
  orphanAgeMs: 60_000,
};
const suffix = randomUUID().slice(0, 8);

/** One database behind the module: its backend, a key per test, and the write tags of a key's chunks. */
interface Subject<K> {
  backend: ChunkBackend<K>;
  key(id: string): K;
  chunkTags(key: K): Promise<string[]>;
  /** Deletes one chunk of the current write, behind the module's back. */
  dropChunk(key: K, tag: string, i: number): Promise<void>;
}

let dynamoServer: TestServer;
let mongoServer: TestServer;
const tables = { metricsTable: `c-metrics-${suffix}`, reportsTable: `c-reports-${suffix}` };
const dynamo = dynamoManagers(() => dynamoServer.address, tables);
let mongo: MongoDbIOManager;

beforeAll(async () => {
  [dynamoServer, mongoServer] = await Promise.all([dynamoForTests(), mongoForTests()]);
  await dynamo.manager().ensureTables();
  mongo = new MongoDbIOManager({ url: mongoServer.address, database: `c_${suffix}` });
  await mongo.ensureIndexes();
});

afterAll(async () => {
  await dynamo.closeAll();
  await mongo?.close();
  await Promise.all([dynamoServer?.stop(), mongoServer?.stop()]);
});

const unit = (id: string) => ({
  assetKey: id,
  partitionKey: '2025-11-04',
  storage: { database: { id: `${id}_${suffix}` } },
});

const subjects: Record<string, () => Subject<unknown>> = {
  dynamodb: (): Subject<ItemKey> => {
    const m = dynamo.manager();
    return {
      backend: new DynamoItemBackend(m.doc, undefined),
      key: (id) => itemKeyFor(unit(id), m.tables),
      chunkTags: async (key) =>
        (await chunkItems(m, tables.metricsTable, key.pk, key.sk)).map((it) =>
          tagOfChunkSk(key, String(it.date))!,
        ),
      dropChunk: async (key, tag, i) => {
        const { DeleteCommand } = await import('@aws-sdk/lib-dynamodb');
        const sk = `${key.sk}#${tag}#${String(i).padStart(6, '0')}`;
        await m.doc.send(
          new DeleteCommand({ TableName: key.table, Key: { metric_type: `${key.pk}#chunk`, date: sk } }),
        );
      },
    };
  },
  mongodb: (): Subject<DocKey> => {
    const chunks = () => mongo.client.db(mongo.databaseName).collection('value_chunks');
    return {
      backend: new MongoDocumentBackend(
        (name) => mongo.client.db(mongo.databaseName).collection(name),
        'value_chunks',
      ),
      key: (id) => mongo.keyOf(unit(id)),
      chunkTags: async (key) =>
        (await chunks().find({ owner: key.owner }).toArray()).map((c) => String(c.tag)),
      dropChunk: async (key, tag, i) => void (await chunks().deleteOne({ owner: key.owner, tag, i })),
    };
  },
};

/** A JSON string value whose JSON text is exactly `bytes` long (two quotes + ASCII). */
const ofJsonSize = (bytes: number): string => 'x'.repeat(bytes - 2);

describe.each(Object.keys(subjects))('chunking on %s', (name) => {
  let s: Subject<unknown>;
  let values: ChunkedValues<unknown>;
  beforeAll(() => {
    s = subjects[name]!();
    values = new ChunkedValues(s.backend, LIMITS);
  });
  const missing = () => new Error('missing');

  it('a value exactly at the inline limit stays inline; one byte more is chunked, and both round-trip', async () => {
    const key = s.key('edge');
    const at = ofJsonSize(100);
    expect(encodeJsonValue(at).bytes.length).toBe(100);
    expect(await values.store(key, encodeJsonValue(at), 'v-at')).toBe('inline');
    let index = (await s.backend.readIndex(key)) as IndexRecord;
    expect(index).toMatchObject({
      layout: 'inline',
      chunks: 0,
      write_tag: null,
      bytes: 100,
      data_version: 'v-at',
    });
    expect(await s.chunkTags(key)).toEqual([]);
    expect(await values.load(key, missing)).toBe(at);

    const over = ofJsonSize(101);
    expect(await values.store(key, encodeJsonValue(over), 'v-over')).toBe('chunked');
    index = (await s.backend.readIndex(key)) as IndexRecord;
    expect(index).toMatchObject({
      layout: 'chunked',
      chunks: Math.ceil(101 / 16),
      bytes: 101,
      data_version: 'v-over',
    });
    expect(s.backend.inlineValue(key, index)).toBeUndefined(); // the inline copy is gone
    expect(await s.chunkTags(key)).toEqual(Array(7).fill(index.write_tag));
    expect(await values.load(key, missing)).toBe(over);

    // Back under the limit: inline again, and the chunks of the chunked write are deleted.
    expect(await values.store(key, encodeJsonValue(at), 'v-at2')).toBe('inline');
    expect(await s.chunkTags(key)).toEqual([]);
    expect(await values.load(key, missing)).toBe(at);
  });

  it('thousands of chunks, multi-byte characters cut across chunks, round-trip exactly', async () => {
    const key = s.key('many');
    const value = { rows: Array.from({ length: 400 }, (_, i) => ({ i, name: `é🚲-${i}`, v: i / 7 })) };
    const enc = encodeJsonValue(value);
    expect(await values.store(key, enc, 'v-many')).toBe('chunked');
    const index = (await s.backend.readIndex(key)) as IndexRecord;
    expect(index.chunks).toBe(Math.ceil(enc.bytes.length / 16));
    expect(index.chunks).toBeGreaterThan(1000);
    expect(index.sha256).toBe(enc.sha256);
    const parts = await s.backend.readChunks(key, index.write_tag!, index.chunks!);
    expect(parts?.every((p) => p.length <= 16)).toBe(true);
    expect(await values.load(key, missing)).toEqual(value);
  });

  it('a write killed between its chunks and the index switch leaves the old value; its orphans go once old', async () => {
    const key = s.key('killed');
    await values.store(key, encodeJsonValue(ofJsonSize(300)), 'v-old');
    const oldTag = ((await s.backend.readIndex(key)) as IndexRecord).write_tag;
    const b = s.backend;
    const killed = new ChunkedValues<unknown>(
      {
        readIndex: (k, f) => b.readIndex(k, f),
        inlineValue: (k, r) => b.inlineValue(k, r),
        writeChunks: (k, t, slices) => b.writeChunks(k, t, slices),
        writeIndex: () => Promise.reject(new Error('killed before the switch')),
        readChunks: (k, t, n) => b.readChunks(k, t, n),
        deleteStaleChunks: (k, cur, prev, cutoff) => b.deleteStaleChunks(k, cur, prev, cutoff),
        refusesInline: (e) => b.refusesInline(e),
        describe: (k) => b.describe(k),
      },
      LIMITS,
    );
    await expect(killed.store(key, encodeJsonValue(ofJsonSize(500)), 'v-new')).rejects.toThrow('killed');
    expect(await values.load(key, missing)).toBe(ofJsonSize(300));
    expect((await s.backend.readIndex(key))?.data_version).toBe('v-old');
    const tags = new Set(await s.chunkTags(key));
    expect(tags.size).toBe(2); // the current write's and the orphans of the killed one
    // A young orphan may be a concurrent writer's: kept. Aged out (orphanAgeMs 0): deleted by the next store.
    await values.store(key, encodeJsonValue(ofJsonSize(200)), 'v-next');
    expect(new Set(await s.chunkTags(key)).size).toBe(2);
    const aging = new ChunkedValues(s.backend, { ...LIMITS, orphanAgeMs: -1000 });
    await aging.store(key, encodeJsonValue(ofJsonSize(200)), 'v-last');
    const left = new Set(await s.chunkTags(key));
    expect(left).toEqual(new Set([(await s.backend.readIndex(key))?.write_tag]));
    expect(left.has(oldTag!)).toBe(false);
  });

  it('a lost chunk is never read as a value: the load fails after re-reading the index', async () => {
    const key = s.key('lost');
    await values.store(key, encodeJsonValue(ofJsonSize(200)), 'v-lost');
    const index = (await s.backend.readIndex(key)) as IndexRecord;
    await s.dropChunk(key, index.write_tag!, 3);
    await expect(values.load(key, missing)).rejects.toThrow(/missing or corrupt/);
  });
});
