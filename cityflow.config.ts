/**
 * This repository's project: the Paris urban-mobility pipeline. The `pipeline` command finds this file
 * from the current directory upwards (see README, "Your own pipeline").
 *
 * Asset code names a binding; what stands behind each depends on the environment:
 * - metrics and reports: the database the environment chose (DynamoDB, MongoDB), else local JSON files;
 * - report files (the CSV): local files;
 * - intermediates (per-arc-per-day road counts, Arrow tables): local files in OUTPUT_DIR (large,
 *   rebuildable); with SHARED_STATE=dynamodb (coordinators and workers on several machines) objects in
 *   s3://S3_INTERMEDIATES_BUCKET/S3_INTERMEDIATES_PREFIX/, which every machine reads;
 * - in S3 mode the report JSON and CSV are also published to
 *   s3://S3_REPORTS_BUCKET/S3_REPORTS_PREFIX/<date>/daily_report.{json,csv}, and next to them the report
 *   page (the HTML of `pipeline report --html DAY`) as daily_report.html.
 */
import { join } from 'node:path';
import type { IOManager } from './engine/index.ts';
import { ioContext } from './engine/run/storage.ts';
import { cityflowAssets } from './assets/definitions.ts';
import { reportPage } from './assets/report/html-page.ts';
import { shiftDay } from './assets/report/html.ts';
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

/**
 * The report page published next to the JSON and CSV, rendered by the same page (and reads) as
 * `pipeline report --html DAY`, so the two are the same document. A day's page also shows the six days
 * before it (the week's chart), which a run may store in any order: storing a day's report publishes its
 * page and re-publishes the pages of the six days after it that are stored. Pages are rendered and PUT
 * one at a time, each from what is stored when it is rendered, so the last PUT of a page is never older
 * than the last report it shows.
 */
function reportHtmlToS3(
  ctx: ConfigContext,
  load: (asset: string, partition: string) => Promise<unknown>,
): Mirror {
  const { s3ReportsBucket: bucket, s3ReportsPrefix: prefix } = ctx.settings;
  let queue: Promise<unknown> = Promise.resolve();
  return (io, value) => {
    const job = queue.then(async () => {
      if (!bucket || !ctx.s3)
        throw new Error('S3_REPORTS_BUCKET is not set: cannot publish the report to S3');
      const { putCopy } = await import('./io-managers/s3/s3-mirror.ts');
      const publish = async (day: string, report: unknown) =>
        putCopy(
          { client: ctx.s3!.client, bucket },
          reportObjectKey(prefix, day, 'html'),
          await reportPage.render(report, day, { load }),
          'text/html; charset=utf-8',
          `the daily report page of ${day}`,
        );
      const url = await publish(io.partitionKey, value);
      for (let i = 1; i <= 6; i++) {
        const later = shiftDay(io.partitionKey, i);
        const report = await load(reportPage.asset, later);
        if (report !== undefined) await publish(later, report);
      }
      return url;
    });
    queue = job.catch(() => {});
    return job;
  };
}

export default defineConfig((ctx) => {
  /** A stored value through its asset's binding (what the report page reads), undefined when none. */
  const load = async (key: string, partition: string): Promise<unknown> => {
    const asset = cityflowAssets.find((a) => a.key === key);
    if (!asset || asset.kind !== 'asset') return undefined;
    try {
      return await (io[asset.io as keyof typeof io] ?? io.default).load(ioContext(asset, partition));
    } catch (err) {
      // By name: an IO manager loaded apart from this module's engine throws its own class.
      if ((err as Error).name === 'MissingValueError') return undefined;
      throw err;
    }
  };
  const published = (primary: IOManager, kind: 'json' | 'csv'): IOManager =>
    ctx.s3
      ? new MirrorIOManager(primary, [
          reportToS3(ctx, kind),
          // With the JSON: the page is rendered from the report just stored.
          ...(kind === 'json' ? [reportHtmlToS3(ctx, load)] : []),
        ])
      : primary;
  const { outputDir, s3ReportsBucket, s3ReportsPrefix } = ctx.settings;
  const csv = join(outputDir, 'daily_report_csv');
  const io = {
    default: ctx.local,
    intermediate: ctx.shared ?? ctx.local,
    metrics: ctx.store,
    reports: published(ctx.store, 'json'),
    report_files: published(ctx.local, 'csv'),
  };
  return {
    assets: cityflowAssets,
    // The daily report as a page of `pipeline ui` and of `pipeline report --html DAY`.
    pages: [reportPage],
    describe: ctx.s3
      ? `report JSON + CSV + HTML page also to ${s3Url(s3ReportsBucket, s3ReportsPrefix)}/<date>/` +
        (io.intermediate === ctx.local
          ? ''
          : `, intermediates to ${s3Url(ctx.settings.s3IntermediatesBucket, ctx.settings.s3IntermediatesPrefix)}`)
      : ctx.store === ctx.local
        ? `reports in ${join(outputDir, 'daily_report')} and ${csv}`
        : `report CSV in ${csv}`,
    io,
  };
});
