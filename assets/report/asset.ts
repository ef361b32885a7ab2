import { daily, dayOffset, defineAsset, self } from '../../engine/index.ts';
import { bikesMetrics } from '../bikes/asset.ts';
import { chantiersMetrics } from '../chantiers/asset.ts';
import { comptagesMetrics } from '../comptages/metrics-asset.ts';
import { referentielMetrics } from '../referentiel/asset.ts';
import { trafficMetrics } from '../traffic/asset.ts';
import { weatherMetrics } from '../weather/asset.ts';
import { buildDailyReport, DailyReportSchema } from './build.ts';

/** The day's report; `previous` is this same asset one week earlier (absent → said so in the report). */
export const dailyReport = defineAsset({
  key: 'daily_report',
  group: 'report',
  tags: ['report'],
  description:
    'Daily mobility report: summary, top arcs and zones, alerts, failing sensors, works, evolution vs D-7',
  partitions: daily(),
  io: 'reports',
  ioMeta: { report: true, format: 'json' },
  schema: DailyReportSchema,
  deps: {
    bikes: bikesMetrics,
    traffic: trafficMetrics,
    weather: weatherMetrics,
    comptages: comptagesMetrics,
    chantiers: chantiersMetrics,
    referentiel: referentielMetrics,
    previous: self(dayOffset(-7)),
  },
  compute: ({ previous, ...inputs }, ctx) => buildDailyReport(ctx.partitionKey, inputs, previous),
});
