import { z } from 'zod';
import { daily, defineAsset } from '../../engine/index.ts';
import { dailyReport } from './asset.ts';
import { reportToCsv } from './csv.ts';
import { reportCsvStorage } from './layout.ts';

/** The same report as a `;` CSV, one section per block (docs/report.md). */
export const dailyReportCsv = defineAsset({
  key: 'daily_report_csv',
  group: 'report',
  tags: ['report'],
  description: 'The daily report as a sectioned ; CSV (UTF-8)',
  partitions: daily(),
  ...reportCsvStorage,
  schema: z.string(),
  deps: { report: dailyReport },
  compute: ({ report }) => reportToCsv(report),
});
