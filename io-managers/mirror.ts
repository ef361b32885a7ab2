import type { EncodedValue } from '../engine/encode.ts';
import type { IOContext, IOManager, StoredStat, StoreResult } from '../engine/io.ts';
import type { StorageSpec } from '../engine/storage.ts';

/** Writes one more copy of a stored value somewhere else; returns where. */
export type Mirror = (ctx: IOContext, value: unknown) => Promise<string>;

/**
 * Stores in a primary IO manager (which answers `load`/`stat`) and then copies the value to mirrors,
 * e.g. the daily report in DynamoDB plus `s3://reports/<date>/daily_report.json`. A failed mirror
 * fails the store, so the unit is retried or reported, never silently half-published.
 */
export class MirrorIOManager implements IOManager {
  readonly name: string;
  /** The primary's: an asset's storage is placed (and checked) as in the primary. */
  readonly accepts?: StorageSpec;
  /** The primary's. */
  readonly storesTables?: boolean;
  constructor(
    private readonly primary: IOManager,
    private readonly mirrors: Mirror[],
  ) {
    this.name = `${primary.name}+mirror`;
    if (primary.accepts) this.accepts = primary.accepts;
    if (primary.storesTables) this.storesTables = true;
  }

  load(ctx: IOContext): Promise<unknown> {
    return this.primary.load(ctx);
  }

  stat(ctx: IOContext): Promise<StoredStat | null> {
    return this.primary.stat(ctx);
  }

  /** The primary's fast storage check (its `stat` is this manager's). */
  isUnchanged(ctx: IOContext, stamp: string): boolean {
    return this.primary.isUnchanged?.(ctx, stamp) ?? false;
  }

  async store(
    ctx: IOContext,
    value: unknown,
    dataVersion: string,
    encoded?: EncodedValue,
  ): Promise<StoreResult> {
    const stored = await this.primary.store(ctx, value, dataVersion, encoded);
    const copies: string[] = [];
    for (const m of this.mirrors) {
      try {
        copies.push(await m(ctx, value));
      } catch (err) {
        // The primary copy is written and stays; the unit fails (and is retried) for the missing copy.
        throw new Error(
          `${(err as Error).message}; ${ctx.assetKey}[${ctx.partitionKey}] is stored at ${stored.location} ` +
            `and kept there, the copy is retried by the next attempt or run`,
          { cause: err },
        );
      }
    }
    // The primary's stamp: its fast storage check is this manager's (the copies are not checked).
    return {
      bytes: stored.bytes,
      location: [stored.location, ...copies].join(' + '),
      ...(stored.stamp !== undefined && { stamp: stored.stamp }),
    };
  }

  async close(): Promise<void> {
    await this.primary.close?.();
  }
}
