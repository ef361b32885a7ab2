import { randomUUID } from 'node:crypto';
import type { Collection, Db, MongoClient } from 'mongodb';
import { MongoDbIOManager } from '../../io-managers/mongodb/mongodb-io-manager.ts';
import { mongoForTests } from '../db/servers.ts';
import { describeIOManagerContract, stopPoint } from './io-manager-contract.ts';

/** Collection methods that send one operation to the server and return a promise. */
const OPERATIONS = new Set<PropertyKey>([
  'findOne',
  'bulkWrite',
  'insertOne',
  'insertMany',
  'updateOne',
  'updateMany',
  'replaceOne',
  'deleteOne',
  'deleteMany',
  'createIndex',
]);

/**
 * Fault injection: the real client, except that the n-th collection operation (and every later one)
 * is never sent. A proxy, because the driver has no request middleware.
 */
function interruptedClient(client: MongoClient, n: number, stop: () => Promise<never>): MongoClient {
  let ops = 0;
  const bound = (target: object, p: PropertyKey): unknown => {
    const v: unknown = Reflect.get(target, p, target);
    return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
  };
  const collection = (c: Collection) =>
    new Proxy(c, {
      get: (t, p) =>
        OPERATIONS.has(p)
          ? (...args: unknown[]) =>
              ops++ >= n ? stop() : (Reflect.get(t, p, t) as (...a: unknown[]) => unknown).apply(t, args)
          : bound(t, p),
    });
  const db = (d: Db) =>
    new Proxy(d, {
      get: (t, p) => (p === 'collection' ? (name: string) => collection(t.collection(name)) : bound(t, p)),
    });
  return new Proxy(client, {
    get: (t, p) => (p === 'db' ? (name?: string) => db(t.db(name)) : bound(t, p)),
  });
}

// CongoDB by default; a real mongod when MONGODB_TEST_URL is set (see docs/storage.md).
describeIOManagerContract('MongoDB', async () => {
  const server = await mongoForTests();
  const options = { url: server.address, database: `contract_${randomUUID().slice(0, 8)}` };
  const manager = new MongoDbIOManager(options);
  await manager.ensureIndexes();
  return {
    manager,
    cleanup: async () => {
      await manager.client
        .db(manager.databaseName)
        .dropDatabase()
        .catch(() => {});
      await manager.close();
      await server.stop();
    },
    interruptedAt: (n) => {
      const { stop, stopped } = stopPoint();
      const client = interruptedClient(manager.client, n, stop);
      return { manager: new MongoDbIOManager({ ...options, client }), stopped };
    },
  };
});
