import { randomUUID } from 'node:crypto';
import { DynamoDbIOManager } from '../../io-managers/dynamodb/dynamodb-io-manager.ts';
import { dynamoForTests, LOCAL_CREDENTIALS, LOCAL_REGION } from '../db/servers.ts';
import { describeIOManagerContract } from './io-manager-contract.ts';

describeIOManagerContract('DynamoDB (DynamoDB Local)', async () => {
  const server = await dynamoForTests();
  const suffix = randomUUID().slice(0, 8);
  const manager = new DynamoDbIOManager({
    endpoint: server.address,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    metricsTable: `contract-metrics-${suffix}`,
    reportsTable: `contract-reports-${suffix}`,
  });
  await manager.ensureTables();
  return {
    manager,
    cleanup: async () => {
      await manager.close();
      await server.stop();
    },
  };
});
