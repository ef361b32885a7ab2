/**
 * Writes the daily report to `s3://<bucket>/<prefix>/<date>/daily_report.{json,csv}` (AWS mode).
 * Each PUT is atomic; the JSON goes first so a reader who finds the CSV also finds the JSON.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { describeS3Error } from './client.ts';

export interface ReportWriterOptions {
  client: S3Client;
  bucket: string;
  /** e.g. `reports` (S3_REPORTS_PREFIX). */
  prefix: string;
}

export interface DailyReportFiles {
  /** The report object; serialised as pretty JSON. Omit to write only the CSV. */
  json?: unknown;
  /** The CSV text as produced by the report asset. Omit to write only the JSON. */
  csv?: string;
}

export interface WrittenReport {
  json?: string;
  csv?: string;
  bytes: number;
}

/** Object key of a report file. `date` must be `YYYY-MM-DD`. */
export function reportKey(prefix: string, date: string, ext: 'json' | 'csv'): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date))
    throw new Error(`Report date must be YYYY-MM-DD, got ${JSON.stringify(date)}`);
  const root = prefix.replace(/^\/+|\/+$/g, '');
  return `${root ? `${root}/` : ''}${date}/daily_report.${ext}`;
}

export async function writeDailyReport(
  opts: ReportWriterOptions,
  date: string,
  files: DailyReportFiles,
): Promise<WrittenReport> {
  const out: WrittenReport = { bytes: 0 };
  const put = async (ext: 'json' | 'csv', body: string, contentType: string): Promise<string> => {
    const key = reportKey(opts.prefix, date, ext);
    const length = Buffer.byteLength(body);
    const url = `s3://${opts.bucket}/${key}`;
    try {
      await opts.client.send(
        new PutObjectCommand({
          Bucket: opts.bucket,
          Key: key,
          Body: body,
          ContentLength: length,
          ContentType: contentType,
        }),
      );
    } catch (err) {
      // Say which step failed: the publish to S3, not the computation or the local copy.
      throw new Error(`S3 publish of the daily report to ${url} failed (${describeS3Error(err)})`, {
        cause: err,
      });
    }
    out.bytes += length;
    return url;
  };
  if (files.json !== undefined) {
    out.json = await put(
      'json',
      JSON.stringify(files.json, null, 2) + '\n',
      'application/json; charset=utf-8',
    );
  }
  if (files.csv !== undefined) out.csv = await put('csv', files.csv, 'text/csv; charset=utf-8');
  return out;
}
