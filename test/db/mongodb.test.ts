/**
 * MongoDB IO manager against the test server (CongoDB in process, or a real mongod via MONGODB_TEST_URL):
 * the SPEC §4.3 document shapes, indexes, chunking and cleanup, timestamps, refused values, failures.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IOContext } from '../../engine/io.ts';
import { bulkUpsertByKeys } from '../../io-managers/mongodb/bulk.ts';
import { maskSecrets } from '../../engine/redact.ts';
import {
  MongoDbIOManager,
  mongoHosts,
  type MongoDbIOManagerOptions,
} from '../../io-managers/mongodb/mongodb-io-manager.ts';
import { newWriteTag } from '../../io-managers/chunking.ts';
import { expectLoadsNeverMixDuringOverwrite, largeArcMetrics } from '../contract/io-manager-contract.ts';
import { freePort } from '../servers/dynamodb.ts';
import { mongoForTests, type TestServer } from './servers.ts';

let server: TestServer;
const database = `t_${randomUUID().slice(0, 8)}`;
const managers: MongoDbIOManager[] = [];

function manager(extra: Partial<MongoDbIOManagerOptions> = {}): MongoDbIOManager {
  const m = new MongoDbIOManager({ url: server.address, database, ...extra });
  managers.push(m);
  return m;
}

const bikes = (date: string): IOContext => ({
  assetKey: 'bikes_metrics',
  partitionKey: date,
  storage: { database: { id: 'bikes' } },
});

beforeAll(async () => {
  server = await mongoForTests();
});

afterAll(async () => {
  await managers[0]?.client
    .db(database)
    .dropDatabase()
    .catch(() => {});
  await Promise.all(managers.map((m) => m.close()));
  await server?.stop();
});

async function chunkDocs(m: MongoDbIOManager, owner: string) {
  return m.client.db(database).collection('value_chunks').find({ owner }).toArray();
}

describe('MongoDbIOManager documents', () => {
  it('writes the SPEC §4.3 metric and report documents and creates the unique indexes', async () => {
    const m = manager();
    const value = { metrics: [{ id_compteur: '100047545', total_jour: 1234 }], frequentation_index: 0.42 };
    const res = await m.store(bikes('2025-11-04'), value, 'dv1');
    expect(res.location).toMatch(
      new RegExp(`^mongodb://[^/]+/${database}\\.metrics\\?metric_type=bikes&date=2025-11-04$`),
    );
    const doc = await m.client
      .db(database)
      .collection('metrics')
      .findOne({ metric_type: 'bikes', date: '2025-11-04' });
    expect(doc).toMatchObject({
      metric_type: 'bikes',
      date: '2025-11-04',
      metrics: value,
      data_version: 'dv1',
      layout: 'inline',
    });
    expect(doc?.created_at).toBeInstanceOf(Date);
    expect(typeof doc?.timestamp).toBe('string');

    await m.store(
      {
        assetKey: 'daily_report',
        partitionKey: '2025-11-04',
        storage: { database: { table: 'reports', id: 'daily_report_{partition}' } },
      },
      { ok: 1 },
      'r1',
    );
    const rep = await m.client.db(database).collection('reports').findOne({ date: '2025-11-04' });
    expect(rep).toMatchObject({
      report_id: 'daily_report_2025-11-04',
      date: '2025-11-04',
      report: { ok: 1 },
    });

    const idx = async (c: string) =>
      (await m.client.db(database).collection(c).listIndexes().toArray()) as {
        name: string;
        unique?: boolean;
        key: object;
      }[];
    expect((await idx('metrics')).find((i) => i.name === 'metric_type_date')).toMatchObject({
      key: { metric_type: 1, date: 1 },
      unique: true,
    });
    expect((await idx('reports')).find((i) => i.name === 'date_unique')).toMatchObject({
      key: { date: 1 },
      unique: true,
    });
  });

  it('keeps created_at across re-runs and refreshes updated_at', async () => {
    const m = manager();
    const coll = m.client.db(database).collection('metrics');
    await m.store(bikes('2025-11-07'), { v: 1 }, 'c1');
    const a = await coll.findOne({ metric_type: 'bikes', date: '2025-11-07' });
    await new Promise((r) => setTimeout(r, 15));
    await m.store(bikes('2025-11-07'), { v: 2 }, 'c2');
    const b = await coll.findOne({ metric_type: 'bikes', date: '2025-11-07' });
    expect(b?.created_at).toEqual(a?.created_at);
    expect((b?.updated_at as Date).getTime()).toBeGreaterThan((a?.updated_at as Date).getTime());
    expect(await coll.countDocuments({ metric_type: 'bikes', date: '2025-11-07' })).toBe(1);
  });

  it('chunks values over the inline limit, deletes old chunks on shrink, and none when back inline', async () => {
    const m = manager({ inlineMaxBytes: 50_000, chunkBytes: 40_000 });
    const owner = 'metrics/bikes/2025-11-05';
    const v1 = { arcs: largeArcMetrics(400, 1) };
    const b1 = Buffer.byteLength(JSON.stringify(v1));
    await m.store(bikes('2025-11-05'), v1, 'k1');
    const first = await chunkDocs(m, owner);
    expect(first).toHaveLength(Math.ceil(b1 / 40_000)); // ceil(bytes / chunk size)
    for (const c of first) expect(c.data.buffer.length).toBeLessThanOrEqual(40_000);
    const main = await m.client
      .db(database)
      .collection('metrics')
      .findOne({ metric_type: 'bikes', date: '2025-11-05' });
    expect(main).toMatchObject({ layout: 'chunked', chunks: first.length, bytes: b1 });
    expect(main).not.toHaveProperty('metrics');
    expect(await m.load(bikes('2025-11-05'))).toEqual(v1);

    const v2 = { arcs: largeArcMetrics(120, 2) };
    await m.store(bikes('2025-11-05'), v2, 'k2');
    const second = await chunkDocs(m, owner);
    expect(second).toHaveLength(Math.ceil(Buffer.byteLength(JSON.stringify(v2)) / 40_000));
    expect(new Set(second.map((c) => c.tag)).size).toBe(1);
    expect(await m.load(bikes('2025-11-05'))).toEqual(v2);

    await m.store(bikes('2025-11-05'), { tiny: true }, 'k3');
    expect(await chunkDocs(m, owner)).toHaveLength(0);
    expect(await m.load(bikes('2025-11-05'))).toEqual({ tiny: true });
  });

  it('with default limits, a ~9 MB value is split into chunk documents of at most 4 MB', async () => {
    const m = manager();
    const value = { metrics: largeArcMetrics(15_000, 5) };
    const bytes = Buffer.byteLength(JSON.stringify(value));
    expect(bytes).toBeGreaterThan(8_000_000);
    await m.store(bikes('2025-11-06'), value, 'huge');
    const chunks = await chunkDocs(m, 'metrics/bikes/2025-11-06');
    expect(chunks).toHaveLength(Math.ceil(bytes / 4_000_000));
    expect(await m.load(bikes('2025-11-06'))).toEqual(value);
  });

  it('ignores chunks of interrupted writes and ages them out', async () => {
    const m = manager({ inlineMaxBytes: 0 });
    const owner = 'metrics/bikes/2025-11-08';
    const chunks = m.client.db(database).collection('value_chunks');
    const oldTag = newWriteTag(Date.now() - 3_600_000);
    await chunks.insertMany([
      {
        owner,
        tag: oldTag,
        i: 0,
        data: Buffer.from('garbage'),
        written_at: new Date(Date.now() - 3_600_000),
      },
      { owner, tag: 'recent-writer', i: 0, data: Buffer.from('garbage'), written_at: new Date() },
    ]);
    await m.store(bikes('2025-11-08'), { ok: true }, 'o1');
    expect(await m.load(bikes('2025-11-08'))).toEqual({ ok: true });
    const tags = (await chunkDocs(m, owner)).map((c) => c.tag as string);
    expect(tags).toContain('recent-writer');
    expect(tags).not.toContain(oldTag);
  });

  it('stores keys MongoDB treats specially ($, dots) as JSON text, exactly', async () => {
    const m = manager();
    const value = { $where: 'not a query', 'a.b': { $gt: 1 }, normal: [1, 2] };
    await m.store(bikes('2025-11-09'), value, 'w1');
    expect(await m.load(bikes('2025-11-09'))).toEqual(value);
  });

  it('refuses NaN and Infinity naming the field path, and stores nothing', async () => {
    const m = manager();
    await expect(m.store(bikes('2025-11-10'), { metrics: [{ taux: Infinity }] }, 'n')).rejects.toThrow(
      /\$\.metrics\[0\]\.taux is Infinity/,
    );
    expect(await m.stat(bikes('2025-11-10'))).toBeNull();
  });

  it('a load racing an overwrite sees the old value or the new one, never a mix', async () => {
    const m = manager({ inlineMaxBytes: 0, chunkBytes: 5_000 });
    await expectLoadsNeverMixDuringOverwrite(m, bikes('2025-11-11'));
  });

  it('bulkUpsertByKeys upserts by natural key: a second run updates, never duplicates', async () => {
    const m = manager();
    const coll = m.client.db(database).collection('arc_rows');
    const rows = (v: number) =>
      Array.from({ length: 2500 }, (_, i) => ({ identifiant_arc: String(i), date: '2025-11-04', v }));
    const s1 = await bulkUpsertByKeys(coll, rows(1), ['identifiant_arc', 'date'], { batchSize: 1000 });
    expect(s1).toMatchObject({ upserted: 2500, requests: 3 });
    const s2 = await bulkUpsertByKeys(coll, rows(2), ['identifiant_arc', 'date'], { batchSize: 1000 });
    expect(s2).toMatchObject({ upserted: 0, matched: 2500 });
    expect(await coll.countDocuments({})).toBe(2500);
    expect(await coll.countDocuments({ v: 2 })).toBe(2500);
  });
});

describe('MongoDB failures', () => {
  it('an unreachable server gives an error naming the host with the password masked', async () => {
    const port = await freePort();
    const url = `mongodb://cityuser:s3cretpw@127.0.0.1:${port}/`;
    const m = new MongoDbIOManager({ url, serverSelectionTimeoutMS: 500 });
    managers.push(m);
    const err = (await m.stat(bikes('2025-11-04')).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain(`MongoDB unreachable at 127.0.0.1:${port}`);
    expect(err.message).toContain('cityuser:****@');
    expect(err.message).not.toContain('s3cretpw');
  });

  it('masks passwords in multi-host URLs (the one masking function, engine/redact.ts)', () => {
    expect(maskSecrets('mongodb://u:p@a:1,b:2/db?replicaSet=rs')).toBe(
      'mongodb://u:****@a:1,b:2/db?replicaSet=rs',
    );
    expect(maskSecrets('mongodb+srv://u:p%40x@cluster.example.net/')).toBe(
      'mongodb+srv://u:****@cluster.example.net/',
    );
    expect(maskSecrets('mongodb://a:1/')).toBe('mongodb://a:1/');
    expect(mongoHosts('mongodb://u:pa/ss@a:1,b:2/db')).toBe('a:1,b:2');
  });
});
