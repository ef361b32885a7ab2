import { daily, dayOffset, defineAsset, dep, identity, self } from '../../engine/index.ts';
import { bikesMetrics } from '../bikes/asset.ts';
import { chantiersMetrics } from '../chantiers/asset.ts';
import { comptagesMetrics } from '../comptages/metrics-asset.ts';
import { referentielMetrics } from '../referentiel/asset.ts';
import { trafficMetrics } from '../traffic/asset.ts';
import { weatherMetrics } from '../weather/asset.ts';
import { buildDailyReport, DailyReportSchema, noReportReason } from './build.ts';
import { reportStorage } from './layout.ts';

/** Every metrics input may be missing for a day: undefined here, listed in `sources_manquantes`. */
const optional = { optional: true } as const;

/**
 * The day's report; `previous` is this same asset one week earlier (absent → said so in the report).
 * A metrics unit with no data (no raw file that day) is an undefined input, never zeros; a day where
 * none of the day's measurements has data has no report (recorded as no data, nothing written).
 */
export const dailyReport = defineAsset({
  key: 'daily_report',
  group: 'report',
  tags: ['report'],
  description:
    'Daily mobility report: summary, top arcs and zones, alerts, failing sensors, works, evolution vs D-7',
  partitions: daily(),
  ...reportStorage,
  schema: DailyReportSchema,
  deps: {
    bikes: dep(bikesMetrics, identity(), optional),
    traffic: dep(trafficMetrics, identity(), optional),
    weather: dep(weatherMetrics, identity(), optional),
    comptages: dep(comptagesMetrics, identity(), optional),
    chantiers: dep(chantiersMetrics, identity(), optional),
    referentiel: dep(referentielMetrics, identity(), optional),
    previous: self(dayOffset(-7)),
  },
  compute: ({ previous, ...inputs }, ctx) => {
    const none = noReportReason(ctx.partitionKey, inputs);
    return none ? ctx.noData(none) : buildDailyReport(ctx.partitionKey, inputs, previous);
  },
});
