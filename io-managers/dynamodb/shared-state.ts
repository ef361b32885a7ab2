/**
 * The shared state of coordinators on several machines (SHARED_STATE=dynamodb): the materialization
 * index and the unit locks in two DynamoDB tables, over one client.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoIndexBackend } from './index-backend.ts';
import { ensureStateTables } from './state-tables.ts';
import { DynamoUnitLocks } from './unit-locks.ts';

export interface SharedStateOptions {
  region: string;
  /** e.g. `http://127.0.0.1:8000` for DynamoDB Local; omit for AWS. */
  endpoint?: string;
  indexTable: string;
  locksTable: string;
  leaseMs: number;
}

export interface SharedState {
  index: DynamoIndexBackend;
  locks: DynamoUnitLocks;
  /** Creates the missing tables (`pipeline setup`); returns those it created. */
  ensureTables(): Promise<string[]>;
  close(): void;
}

export function createSharedState(opts: SharedStateOptions): SharedState {
  const client = new DynamoDBClient({
    region: opts.region,
    ...(opts.endpoint !== undefined && { endpoint: opts.endpoint }),
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
  });
  const doc = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
    unmarshallOptions: { wrapNumbers: (s: string) => Number(s) },
  });
  return {
    index: new DynamoIndexBackend({ doc, table: opts.indexTable, locksTable: opts.locksTable }),
    locks: new DynamoUnitLocks({ doc, table: opts.locksTable, leaseMs: opts.leaseMs }),
    ensureTables: () => ensureStateTables(client, [opts.indexTable, opts.locksTable]),
    close: () => {
      doc.destroy();
      client.destroy();
    },
  };
}
