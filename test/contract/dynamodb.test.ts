import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbIOManager } from '../../io-managers/dynamodb/dynamodb-io-manager.ts';
import { dynamoForTests, LOCAL_CREDENTIALS, LOCAL_REGION } from '../db/servers.ts';
import { describeIOManagerContract, stopPoint } from './io-manager-contract.ts';

describeIOManagerContract('DynamoDB (DynamoDB Local)', async () => {
  const server = await dynamoForTests();
  const suffix = randomUUID().slice(0, 8);
  const options = {
    endpoint: server.address,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    metricsTable: `contract-metrics-${suffix}`,
    reportsTable: `contract-reports-${suffix}`,
  };
  const manager = new DynamoDbIOManager(options);
  await manager.ensureTables();
  return {
    manager,
    cleanup: async () => {
      await manager.close();
      await server.stop();
    },
    // Fault injection: a client whose n-th request (and every later one) is never sent.
    interruptedAt: (n) => {
      const { stop, stopped } = stopPoint();
      const client = new DynamoDBClient({
        region: LOCAL_REGION,
        endpoint: server.address,
        credentials: LOCAL_CREDENTIALS,
      });
      let requests = 0;
      client.middlewareStack.add((next) => (args) => (requests++ >= n ? stop() : next(args)), {
        step: 'initialize',
        name: 'interruptedAt',
      });
      return {
        manager: new DynamoDbIOManager({ ...options, client }),
        stopped,
        dispose: async () => client.destroy(),
      };
    },
  };
});
