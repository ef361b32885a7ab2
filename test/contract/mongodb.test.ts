import { randomUUID } from 'node:crypto';
import { MongoDbIOManager } from '../../io-managers/mongodb/mongodb-io-manager.ts';
import { mongoForTests } from '../db/servers.ts';
import { describeIOManagerContract } from './io-manager-contract.ts';

// CongoDB by default; a real mongod when MONGODB_TEST_URL is set (see docs/storage.md).
describeIOManagerContract('MongoDB', async () => {
  const server = await mongoForTests();
  const manager = new MongoDbIOManager({
    url: server.address,
    database: `contract_${randomUUID().slice(0, 8)}`,
  });
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
  };
});
