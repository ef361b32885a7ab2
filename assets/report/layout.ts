/**
 * Where the Paris daily report goes (the layout of SPEC §4.3–4.5), kept with the report assets rather
 * than in the generic IO managers:
 * - the JSON report: binding `reports`; in a database the `reports` table, record id
 *   `daily_report_<day>`; in local files `daily_report/<day>.json`;
 * - the CSV copy: binding `report_files`, local text files `daily_report_csv/<day>.csv`;
 * - in S3 mode both are also published to `<prefix>/<day>/daily_report.{json,csv}`, with the report page
 *   (`pipeline report --html DAY`) as `<prefix>/<day>/daily_report.html` (cityflow.config.ts).
 */
import type { StorageMeta } from '../../engine/index.ts';

export const reportStorage = {
  io: 'reports',
  storage: { database: { table: 'reports', id: 'daily_report_{partition}' } },
} as const satisfies { io: string; storage: StorageMeta };

export const reportCsvStorage = {
  io: 'report_files',
  storage: { file: { format: 'text', extension: 'csv' } },
} as const satisfies { io: string; storage: StorageMeta };

/** The S3 object key of a published report file. `day` must be `YYYY-MM-DD`. */
export function reportObjectKey(prefix: string, day: string, ext: 'json' | 'csv' | 'html'): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day))
    throw new Error(`Report date must be YYYY-MM-DD, got ${JSON.stringify(day)}`);
  const root = prefix.replace(/^\/+|\/+$/g, '');
  return `${root ? `${root}/` : ''}${day}/daily_report.${ext}`;
}
