/**
 * Upserting many documents by their natural keys: unordered `bulkWrite` batches, several in flight.
 * The filter is on the key fields (never a client-chosen `_id`), `created_at` is only set on insert.
 */
import type { AnyBulkWriteOperation, Collection, Document } from 'mongodb';
import pLimit from 'p-limit';

export interface BulkUpsertOptions {
  /** Operations per bulkWrite. Default 1,000. */
  batchSize?: number;
  /** bulkWrite calls in flight. Default 4. */
  concurrency?: number;
  now?: Date;
}

export interface BulkUpsertStats {
  upserted: number;
  modified: number;
  matched: number;
  requests: number;
}

export function upsertOperation<T extends Document>(
  doc: T,
  keyFields: readonly (keyof T & string)[],
  now: Date,
  unset: readonly string[] = [],
): AnyBulkWriteOperation<Document> {
  const filter: Document = {};
  for (const k of keyFields) {
    if (doc[k] === undefined) throw new Error(`Missing key field ${k} in document to upsert`);
    filter[k] = doc[k];
  }
  return {
    updateOne: {
      filter,
      update: {
        $set: { ...doc, updated_at: now },
        $setOnInsert: { created_at: now },
        ...(unset.length > 0 ? { $unset: Object.fromEntries(unset.map((f) => [f, ''])) } : {}),
      },
      upsert: true,
    },
  };
}

export async function bulkUpsertByKeys<T extends Document>(
  collection: Collection<Document>,
  docs: readonly T[],
  keyFields: readonly (keyof T & string)[],
  options: BulkUpsertOptions = {},
): Promise<BulkUpsertStats> {
  const size = options.batchSize ?? 1000;
  const now = options.now ?? new Date();
  const limit = pLimit(options.concurrency ?? 4);
  const stats: BulkUpsertStats = { upserted: 0, modified: 0, matched: 0, requests: 0 };
  const batches: T[][] = [];
  for (let i = 0; i < docs.length; i += size) batches.push(docs.slice(i, i + size));
  await Promise.all(
    batches.map((batch) =>
      limit(async () => {
        const res = await collection.bulkWrite(
          batch.map((d) => upsertOperation(d, keyFields, now)),
          { ordered: false },
        );
        stats.requests++;
        stats.upserted += res.upsertedCount;
        stats.modified += res.modifiedCount;
        stats.matched += res.matchedCount;
      }),
    ),
  );
  return stats;
}
