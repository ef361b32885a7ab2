/**
 * This repository's project: the Paris urban-mobility pipeline. The `pipeline` command finds this file
 * from the current directory upwards (see README, "Your own pipeline").
 *
 * Asset code names a binding; what stands behind each depends on the environment:
 * - metrics and reports: the database the environment chose (DynamoDB, MongoDB), else local JSON files;
 * - report files (the CSV): local files;
 * - intermediates (per-arc-per-day road counts): always local files in OUTPUT_DIR (large, rebuildable);
 * - in S3 mode the report JSON and CSV are also published to
 *   s3://S3_REPORTS_BUCKET/S3_REPORTS_PREFIX/<date>/daily_report.{json,csv}.
 */
import { join } from 'node:path';
import type { IOManager } from './engine/index.ts';
import { cityflowAssets } from './assets/definitions.ts';
import { reportPage } from './assets/report/html-page.ts';
import { reportObjectKey } from './assets/report/layout.ts';
import { MirrorIOManager, type Mirror } from './io-managers/mirror.ts';
import { s3Url } from './pipeline/config.ts';
import { defineConfig, type ConfigContext } from './pipeline/define-config.ts';

/** A copy of the report (JSON or CSV) published to S3 after each store, at its Paris key (assets/report/layout.ts). */
function reportToS3(ctx: ConfigContext, kind: 'json' | 'csv'): Mirror {
  const { s3ReportsBucket: bucket, s3ReportsPrefix: prefix } = ctx.settings;
  return async (io, value) => {
    if (!bucket || !ctx.s3) throw new Error('S3_REPORTS_BUCKET is not set: cannot publish the report to S3');
    // Loaded in S3 mode only: local runs never load the S3 client.
    const { s3Mirror } = await import('./io-managers/s3/s3-mirror.ts');
    const mirror = s3Mirror({
      client: ctx.s3.client,
      bucket,
      key: (unit) => reportObjectKey(prefix, unit.partitionKey, kind),
      contentType: kind === 'json' ? 'application/json; charset=utf-8' : 'text/csv; charset=utf-8',
      what: 'the daily report',
    });
    return mirror(io, value);
  };
}

export default defineConfig((ctx) => {
  const published = (primary: IOManager, kind: 'json' | 'csv'): IOManager =>
    ctx.s3 ? new MirrorIOManager(primary, [reportToS3(ctx, kind)]) : primary;
  const { outputDir, s3ReportsBucket, s3ReportsPrefix } = ctx.settings;
  const csv = join(outputDir, 'daily_report_csv');
  return {
    assets: cityflowAssets,
    // The daily report as a page of `pipeline ui` and of `pipeline report --html DAY`.
    pages: [reportPage],
    describe: ctx.s3
      ? `report JSON + CSV also to ${s3Url(s3ReportsBucket, s3ReportsPrefix)}/<date>/`
      : ctx.store === ctx.local
        ? `reports in ${join(outputDir, 'daily_report')} and ${csv}`
        : `report CSV in ${csv}`,
    io: {
      default: ctx.local,
      intermediate: ctx.local,
      metrics: ctx.store,
      reports: published(ctx.store, 'json'),
      report_files: published(ctx.local, 'csv'),
    },
  };
});
