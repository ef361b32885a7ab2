/**
 * Every parameter the UI's API accepts, validated with zod before use: asset keys (and that they exist),
 * partition keys, run ids, selection requests. No path is ever built from a raw parameter: run ids and
 * partitions are checked against these patterns first, and file names come from the engine's own
 * functions.
 */
import { z } from 'zod';

export const assetKeySchema = z.string().regex(/^[a-z][a-z0-9_]{0,99}$/, 'not an asset key');
/** Time keys (2025-11-04, 2025-11-04T02, 2025-10-26T02+01, 2025-W45, 2025-11), static keys, `all`. */
export const partitionSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_:+-]{0,63}$/, 'not a partition key');
export const runIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/, 'not a run id');
export const pageIdSchema = z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'not a page id');

/** POST /api/runs: what the CLI's `materialize` takes, as JSON. */
export const launchSchema = z
  .strictObject({
    select: z.string().min(1).max(2000).optional(),
    exclude: z.string().min(1).max(2000).optional(),
    partition: partitionSchema.optional(),
    from: partitionSchema.optional(),
    to: partitionSchema.optional(),
    force: z.boolean().optional(),
    concurrency: z.number().int().min(1).max(64).optional(),
  })
  .refine((o) => !(o.partition && (o.from || o.to)), 'use either partition or from/to, not both');
export type LaunchRequest = z.infer<typeof launchSchema>;

/** Days range of the read endpoints (graph, matrix, asset). */
export const rangeSchema = z
  .strictObject({
    partition: partitionSchema.optional(),
    from: partitionSchema.optional(),
    to: partitionSchema.optional(),
  })
  .refine((o) => !(o.partition && (o.from || o.to)), 'use either partition or from/to, not both');

export class BadRequest extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'BadRequest';
  }
}

/** Parses with `schema` or throws a 400 naming what is wrong. */
export function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const at = issue?.path.length ? ` (${issue.path.join('.')})` : '';
    throw new BadRequest(`${what}: ${issue?.message ?? 'invalid'}${at}`);
  }
  return r.data;
}
