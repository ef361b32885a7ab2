/**
 * The database servers a test file talks to: the ones started once by `test/servers/db.global.ts`
 * (vitest `inject`), or, when that global setup is not registered, servers started for this file alone.
 */
import { inject } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoLocal } from '../servers/dynamodb.ts';
import { startMongo } from '../servers/mongo.ts';

export { LOCAL_CREDENTIALS, LOCAL_REGION };

export interface TestServer {
  address: string;
  stop(): Promise<void>;
}

export async function dynamoForTests(): Promise<TestServer> {
  const provided = inject('dynamoEndpoint') as string | undefined;
  if (provided) return { address: provided, stop: async () => {} };
  const own = await startDynamoLocal();
  return { address: own.endpoint, stop: () => own.stop() };
}

export async function mongoForTests(): Promise<TestServer> {
  const provided = inject('mongoUrl') as string | undefined;
  if (provided) return { address: provided, stop: async () => {} };
  const own = await startMongo();
  return { address: own.url, stop: () => own.stop() };
}
