import type { IOManager, SourceIO } from '../engine/index.ts';
import { MirrorIOManager, type Mirror } from '../io-managers/mirror.ts';
import { ObjectCache } from '../io-managers/s3/cache.ts';
import { createS3Client } from '../io-managers/s3/client.ts';
import { writeDailyReport } from '../io-managers/s3/report-writer.ts';
import { S3SourceIO } from '../io-managers/s3/s3-source.ts';
import { s3ClientSettings, type Config } from './config.ts';

/**
 * S3 mode (AWS_EXECUTION_ENV or USE_S3=true): raw files from s3://S3_RAW_BUCKET/S3_RAW_PREFIX through
 * the ETag-validated cache, falling back to DATA_DIR with one warning; the report JSON and CSV also
 * published to s3://S3_REPORTS_BUCKET/S3_REPORTS_PREFIX/<date>/daily_report.{json,csv}.
 */
type Log = (msg: string, level?: 'info' | 'warn') => void;

export function createS3Bindings(config: Config, localSources: SourceIO, log: Log) {
  const startedAt = Date.now();
  const client = createS3Client(s3ClientSettings(config));
  const sources = new S3SourceIO({
    client,
    bucket: config.s3RawBucket!,
    prefix: config.s3RawPrefix,
    cacheDir: config.s3CacheDir,
    ...(config.s3Fallback && { fallback: localSources }),
    warn: (m) => log(`warning: ${m}`, 'warn'),
  });
  const reportTo =
    (kind: 'json' | 'csv'): Mirror =>
    async (ctx, value) => {
      if (!config.s3ReportsBucket)
        throw new Error('S3_REPORTS_BUCKET is not set: cannot publish the report to S3');
      const written = await writeDailyReport(
        { client, bucket: config.s3ReportsBucket, prefix: config.s3ReportsPrefix },
        ctx.partitionKey,
        kind === 'json' ? { json: value } : { csv: value as string },
      );
      return (kind === 'json' ? written.json : written.csv) ?? '';
    };
  return {
    sources,
    mirrorReports: (primary: IOManager): IOManager => new MirrorIOManager(primary, [reportTo('json')]),
    reportFiles: (primary: IOManager): IOManager => new MirrorIOManager(primary, [reportTo('csv')]),
    close: async () => {
      client.destroy();
      await pruneCache(config, startedAt, log);
    },
  };
}

/** Keeps the cache within S3_CACHE_MAX_SIZE, never evicting what this process used. */
async function pruneCache(config: Config, startedAt: number, log: Log): Promise<void> {
  try {
    const r = await new ObjectCache(config.s3CacheDir).prune({
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
