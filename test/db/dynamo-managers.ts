/**
 * DynamoDB IO managers for tests on DynamoDB Local: one factory per test file (its own tables, every
 * manager closed at the end), and a reader of the chunk items a chunked value was stored as.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  DynamoDbIOManager,
  type DynamoDbIOManagerOptions,
} from '../../io-managers/dynamodb/dynamodb-io-manager.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../servers/dynamodb.ts';

export interface TestTables {
  metricsTable: string;
  reportsTable: string;
}

export function dynamoManagers(endpoint: () => string, tables: TestTables) {
  const all: DynamoDbIOManager[] = [];
  return {
    /** A manager on the test tables of the local server (options may override anything). */
    manager(extra: Partial<DynamoDbIOManagerOptions> = {}): DynamoDbIOManager {
      return this.track(
        new DynamoDbIOManager({
          endpoint: endpoint(),
          region: LOCAL_REGION,
          credentials: LOCAL_CREDENTIALS,
          ...tables,
          ...extra,
        }),
      );
    },
    /** Closes `m` with the others at the end. */
    track(m: DynamoDbIOManager): DynamoDbIOManager {
      all.push(m);
      return m;
    },
    closeAll: async (): Promise<void> => void (await Promise.all(all.map((m) => m.close()))),
  };
}

/** The chunk items of the value stored under `pk` for `date` (every page, consistent reads). */
export async function chunkItems(
  m: DynamoDbIOManager,
  metricsTable: string,
  pk: string,
  date: string,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    // Query pages stop at 1 MB of data read, i.e. about three 350 KB chunks.
    const out = await m.doc.send(
      new QueryCommand({
        TableName: metricsTable,
        KeyConditionExpression: 'metric_type = :pk AND begins_with(#d, :p)',
        ExpressionAttributeNames: { '#d': 'date' },
        ExpressionAttributeValues: { ':pk': `${pk}#chunk`, ':p': `${date}#` },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}
