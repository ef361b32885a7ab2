/**
 * The daily report as a project page (the config's `pages`): `pipeline ui` shows it, `pipeline report
 * --html DAY` writes it. It reads the stored report, the six reports before it (for the week's chart)
 * and the day's bike counters through the reader it is given (any storage mode). Structurally a
 * ProjectPage of `cityflow/config`; assets do not import the CLI's modules.
 */
import { bikesMetrics } from '../bikes/asset.ts';
import { dailyReport } from './asset.ts';
import { renderReportHtml, shiftDay } from './html.ts';
import { DailyReportSchema, type DailyReport } from './schema.ts';

interface Reader {
  load(asset: string, partition: string): Promise<unknown>;
}

export const reportPage = {
  id: 'report',
  title: 'Daily report',
  asset: dailyReport.key,
  async render(value: unknown, day: string, read: Reader): Promise<string> {
    const report = DailyReportSchema.parse(value);
    const week: (DailyReport | undefined)[] = [];
    for (let i = -6; i <= 0; i++) {
      if (i === 0) {
        week.push(report);
        continue;
      }
      const other = DailyReportSchema.safeParse(await read.load(dailyReport.key, shiftDay(day, i)));
      week.push(other.success ? other.data : undefined);
    }
    const bikes = (await read.load(bikesMetrics.key, day)) as
      { metrics?: { nom_compteur?: string; total_jour?: number }[] } | undefined;
    const bikeCounters = (bikes?.metrics ?? [])
      .filter((m) => typeof m.total_jour === 'number')
      .map((m) => ({ name: m.nom_compteur ?? '?', total: m.total_jour! }))
      .sort((a, b) => b.total - a.total);
    return renderReportHtml(report, { week, bikeCounters });
  },
};
