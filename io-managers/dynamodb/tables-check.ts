/**
 * Which of the configured tables do not exist, asked once before a run computes anything (a run into
 * missing tables used to fail every unit with "non-existent table"). One DescribeTable per table, no
 * retries: an unreachable endpoint answers `undefined` (can't tell), and the units report it as usual.
 */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';

export async function missingTables(opts: {
  region: string;
  endpoint?: string;
  tables: string[];
  signal?: AbortSignal;
}): Promise<string[] | undefined> {
  const client = new DynamoDBClient({
    region: opts.region,
    ...(opts.endpoint !== undefined && { endpoint: opts.endpoint }),
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 15_000 },
  });
  try {
    const missing: string[] = [];
    for (const table of opts.tables) {
      try {
        await client.send(new DescribeTableCommand({ TableName: table }), { abortSignal: opts.signal });
      } catch (err) {
        if ((err as Error).name === 'ResourceNotFoundException') missing.push(table);
        else return undefined;
      }
    }
    return missing;
  } finally {
    client.destroy();
  }
}
