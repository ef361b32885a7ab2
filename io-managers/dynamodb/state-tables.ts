/**
 * The two tables of the shared state (index and unit locks): both keyed `pk` (HASH, string) and `sk`
 * (RANGE, string), on-demand. Created by `pipeline setup` like the metrics and reports tables.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  waitUntilTableExists,
  type DynamoDBClient,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import { maskSecrets } from '../../engine/redact.ts';

export const STATE_KEY_SCHEMA: KeySchemaElement[] = [
  { AttributeName: 'pk', KeyType: 'HASH' },
  { AttributeName: 'sk', KeyType: 'RANGE' },
];

/** Creates the tables that are missing and waits until they are ACTIVE; returns those it created. */
export async function ensureStateTables(
  client: DynamoDBClient,
  tables: string[],
  maxWaitSeconds = 120,
): Promise<string[]> {
  const created: string[] = [];
  for (const table of tables) {
    try {
      const d = await client.send(new DescribeTableCommand({ TableName: table }));
      const have = JSON.stringify(d.Table?.KeySchema ?? []);
      if (have !== JSON.stringify(STATE_KEY_SCHEMA))
        throw new Error(
          `Table ${table} exists with key schema ${have}, expected ${JSON.stringify(STATE_KEY_SCHEMA)}: ` +
            `give the shared state other table names (DYNAMODB_INDEX_TABLE, DYNAMODB_LOCKS_TABLE)`,
        );
    } catch (err) {
      if ((err as Error).name !== 'ResourceNotFoundException') throw err;
      try {
        await client.send(
          new CreateTableCommand({
            TableName: table,
            BillingMode: 'PAY_PER_REQUEST',
            KeySchema: STATE_KEY_SCHEMA,
            AttributeDefinitions: [
              { AttributeName: 'pk', AttributeType: 'S' },
              { AttributeName: 'sk', AttributeType: 'S' },
            ],
          }),
        );
        created.push(table);
      } catch (e) {
        if ((e as Error).name !== 'ResourceInUseException') throw e; // created meanwhile
      }
    }
    await waitUntilTableExists({ client, maxWaitTime: maxWaitSeconds }, { TableName: table });
  }
  return created;
}

/** The reason DynamoDB gave for each action of a cancelled transaction (`None` for those that passed). */
export function cancellationCodes(err: unknown): string[] | undefined {
  const e = err as { name?: string; CancellationReasons?: { Code?: string }[] };
  if (e.name !== 'TransactionCanceledException') return undefined;
  return (e.CancellationReasons ?? []).map((r) => r.Code ?? 'None');
}

/** A failed call on a shared-state table, said in one line naming the table (never credentials). */
export function stateTableError(err: unknown, table: string, op: string): Error {
  const e = err as Error & { code?: string };
  if (e.name === 'ResourceNotFoundException')
    return new Error(`DynamoDB table ${table} does not exist: run \`pipeline setup\` first (it creates it)`, {
      cause: err,
    });
  const unreachable =
    ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET'].includes(e.code ?? '') ||
    /ECONNREFUSED|ENOTFOUND|timed? ?out|socket hang up/i.test(String(err));
  return new Error(
    maskSecrets(
      unreachable
        ? `DynamoDB unreachable during ${op} on table ${table}: ${e.message || e.name}`
        : `DynamoDB ${op} on table ${table} failed: ${e.name}: ${e.message}`,
    ),
    { cause: err },
  );
}
