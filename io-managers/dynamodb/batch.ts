/**
 * BatchWriteItem / BatchGetItem over any number of items: 25 writes (100 reads) per request, several
 * requests in flight (p-limit), and every UnprocessedItems / UnprocessedKeys (and throttling errors)
 * retried with exponential backoff and full jitter until done or `maxAttempts` is reached.
 */
import {
  BatchGetCommand,
  BatchWriteCommand,
  type BatchWriteCommandInput,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import pLimit from 'p-limit';
import { backoffDelay, sleep } from './backoff.ts';

export type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];
type Item = Record<string, unknown>;

/**
 * BatchWrite/BatchGet requests in flight at once, unless `BatchOptions.concurrency` says otherwise.
 * 8 (200 items in flight): the fastest on DynamoDB Local over loopback and 1.4× faster than 4 with a
 * 4 ms round trip (bench/db-writes.ts, docs/performance.md); throttling answers are retried anyway.
 */
export const DEFAULT_BATCH_CONCURRENCY = 8;

export interface BatchOptions {
  /** Requests in flight at once. Default DEFAULT_BATCH_CONCURRENCY. */
  concurrency?: number;
  /** Tries per batch (first send included) before giving up. Default 10. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export interface BatchStats {
  items: number;
  requests: number;
  /** Re-sends caused by UnprocessedItems/Keys or throttling. */
  retries: number;
}

const MAX_WRITE_BATCH = 25;
const MAX_GET_BATCH = 100;
const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
]);

function groups<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs `send` on `pending` until it reports nothing left, with backoff between attempts. */
async function untilDone<T>(
  pending: T[],
  send: (batch: T[]) => Promise<T[]>,
  opts: Required<BatchOptions>,
  stats: BatchStats,
  what: string,
): Promise<void> {
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt > 0) {
      if (attempt >= opts.maxAttempts)
        throw new Error(
          `${what}: ${pending.length} item(s) still unprocessed after ${opts.maxAttempts} attempts`,
        );
      stats.retries++;
      await sleep(backoffDelay(attempt - 1, opts.baseDelayMs, opts.maxDelayMs));
    }
    stats.requests++;
    try {
      pending = await send(pending);
    } catch (err) {
      // A throttled request wrote nothing: send the same batch again.
      if (!THROTTLING.has((err as Error).name) || attempt + 1 >= opts.maxAttempts) throw err;
    }
  }
}

function withDefaults(o: BatchOptions): Required<BatchOptions> {
  return {
    concurrency: o.concurrency ?? DEFAULT_BATCH_CONCURRENCY,
    maxAttempts: o.maxAttempts ?? 10,
    baseDelayMs: o.baseDelayMs ?? 50,
    maxDelayMs: o.maxDelayMs ?? 5_000,
  };
}

export async function batchWriteAll(
  doc: DynamoDBDocumentClient,
  table: string,
  requests: readonly WriteRequest[],
  options: BatchOptions = {},
): Promise<BatchStats> {
  const opts = withDefaults(options);
  const stats: BatchStats = { items: requests.length, requests: 0, retries: 0 };
  const limit = pLimit(opts.concurrency);
  await Promise.all(
    groups(requests, MAX_WRITE_BATCH).map((group) =>
      limit(() =>
        untilDone(
          group,
          async (batch) => {
            const out = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: batch } }));
            return out.UnprocessedItems?.[table] ?? [];
          },
          opts,
          stats,
          `BatchWriteItem on ${table}`,
        ),
      ),
    ),
  );
  return stats;
}

/** Reads items by key (strongly consistent by default). Missing items are simply absent from the result. */
export async function batchGetAll(
  doc: DynamoDBDocumentClient,
  table: string,
  keys: readonly Item[],
  options: BatchOptions & {
    consistentRead?: boolean;
    projection?: string;
    names?: Record<string, string>;
  } = {},
): Promise<Item[]> {
  const opts = withDefaults(options);
  const stats: BatchStats = { items: keys.length, requests: 0, retries: 0 };
  const limit = pLimit(opts.concurrency);
  const found: Item[] = [];
  await Promise.all(
    groups(keys, MAX_GET_BATCH).map((group) =>
      limit(() =>
        untilDone(
          group,
          async (batch) => {
            const out = await doc.send(
              new BatchGetCommand({
                RequestItems: {
                  [table]: {
                    Keys: batch,
                    ConsistentRead: options.consistentRead ?? true,
                    ProjectionExpression: options.projection,
                    ExpressionAttributeNames: options.names,
                  },
                },
              }),
            );
            found.push(...((out.Responses?.[table] ?? []) as Item[]));
            return (out.UnprocessedKeys?.[table]?.Keys ?? []) as Item[];
          },
          opts,
          stats,
          `BatchGetItem on ${table}`,
        ),
      ),
    ),
  );
  return found;
}
