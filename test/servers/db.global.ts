/**
 * vitest globalSetup: starts DynamoDB Local and the Mongo test server once per run and provides their
 * addresses to tests (`inject('dynamoEndpoint')`, `inject('mongoUrl')`). Register it in
 * vitest.config.ts `test.globalSetup`.
 */
import type { TestProject } from 'vitest/node';
import { startDynamoLocal } from './dynamodb.ts';
import { startMongo } from './mongo.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    mongoUrl: string;
    mongoKind: 'congodb' | 'external';
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [dynamo, mongo] = await Promise.all([startDynamoLocal(), startMongo()]);
  project.provide('dynamoEndpoint', dynamo.endpoint);
  project.provide('mongoUrl', mongo.url);
  project.provide('mongoKind', mongo.kind);
  return async () => {
    await Promise.allSettled([dynamo.stop(), mongo.stop()]);
  };
}
