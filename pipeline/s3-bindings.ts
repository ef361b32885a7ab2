import type { S3Client } from '@aws-sdk/client-s3';
import type { SourceIO } from '../engine/index.ts';
import { ObjectCache } from '../io-managers/s3/cache.ts';
import { createS3Client } from '../io-managers/s3/client.ts';
import { S3SourceIO, type SourceStats } from '../io-managers/s3/s3-source.ts';
import { s3ClientSettings, type Config } from './config.ts';

/**
 * S3 mode (AWS_EXECUTION_ENV or USE_S3=true): raw files from s3://S3_RAW_BUCKET/S3_RAW_PREFIX through
 * the ETag-validated cache, falling back to DATA_DIR with one warning. The client is handed to the
 * project's config (what it publishes to S3, e.g. the Paris report, is the project's business).
 */
type Log = (msg: string, level?: 'info' | 'warn') => void;

export interface S3Bindings {
  sources: SourceIO & {
    readonly fallbackReason?: string;
    stats(): SourceStats;
    prefetch(): void;
    listedObjects(signal?: AbortSignal): Promise<boolean>;
  };
  client: S3Client;
  close(): Promise<void>;
}

export function createS3Bindings(config: Config, localSources: SourceIO, log: Log): S3Bindings {
  const startedAt = Date.now();
  const client = createS3Client(s3ClientSettings(config));
  const sources = new S3SourceIO({
    client,
    bucket: config.s3RawBucket!,
    prefix: config.s3RawPrefix,
    cacheDir: config.s3CacheDir,
    ...(config.s3Fallback && { fallback: localSources }),
    warn: (m) => log(`warning: ${m}`, 'warn'),
    listOncePerRun: true, // one process, one run: planning and execution share the listings
  });
  return {
    sources,
    client,
    close: async () => {
      await sources.saveListingRoots().catch((err: unknown) => {
        log(
          `warning: could not record the S3 listings in ${config.s3CacheDir}: ${(err as Error).message}`,
          'warn',
        );
      });
      client.destroy();
      await pruneCache(config, startedAt, log, sources.stats().downloaded > 0);
    },
  };
}

/**
 * Keeps the cache within S3_CACHE_MAX_SIZE, never evicting what this process used. A process that
 * downloaded nothing walks the cache only if the last prune left it over the budget.
 */
async function pruneCache(config: Config, startedAt: number, log: Log, downloaded: boolean): Promise<void> {
  try {
    const cache = new ObjectCache(config.s3CacheDir);
    if (!downloaded && !(await cache.pruneNeeded(config.s3CacheMaxBytes))) return;
    const r = await cache.prune({
      maxBytes: config.s3CacheMaxBytes,
      protectSince: startedAt,
    });
    if (r.removed > 0 || r.keptBytes > config.s3CacheMaxBytes) {
      const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
      log(
        `S3 cache ${config.s3CacheDir}: evicted ${r.removed} least recently used objects (${mb(r.removedBytes)}); ` +
          `${r.kept} objects, ${mb(r.keptBytes)} kept (budget ${mb(config.s3CacheMaxBytes)}` +
          `${r.keptBytes > config.s3CacheMaxBytes ? ', exceeded by what this run used' : ''})`,
      );
    }
  } catch (err) {
    log(`warning: could not prune the S3 cache ${config.s3CacheDir}: ${(err as Error).message}`, 'warn');
  }
}
