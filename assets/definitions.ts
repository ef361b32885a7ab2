import { z } from 'zod';
import {
  daily,
  dayOffset,
  defineAsset,
  defineBatchAsset,
  dep,
  fromUnpartitioned,
  hourlyToDaily,
  self,
  type AnyAsset,
  type Reject,
} from '../engine/index.ts';
import { computeBikesMetrics, BikesMetricsSchema } from './bikes/metrics.ts';
import { bikesChecks, chantiersChecks, referentielChecks, trafficChecks, weatherChecks } from './checks.ts';
import { parseBikesFile, type BikeCount } from './bikes/parse.ts';
import { ArcDayAccumulator } from './comptages/aggregate.ts';
import { comptagesChecks } from './comptages/checks.ts';
import { computeComptagesMetrics, ComptagesMetricsSchema } from './comptages/metrics.ts';
import type { ArcDay } from './comptages/arc-day.ts';
import { readComptagesFast } from './comptages/fast/reader.ts';
import { parseComptagesFile } from './comptages/parse.ts';
import { SeenInstants } from './comptages/seen-instants.ts';
import { computeChantiersMetrics, ChantiersMetricsSchema } from './chantiers/metrics.ts';
import { parseChantiersFile, type Chantier } from './chantiers/parse.ts';
import { computeReferentielMetrics, lengthByArc, ReferentielMetricsSchema } from './referentiel/metrics.ts';
import { parseReferentielFile, type ReferentielRow } from './referentiel/parse.ts';
import { buildDailyReport, DailyReportSchema } from './report/build.ts';
import { reportToCsv } from './report/csv.ts';
import { rawBikes, rawChantiers, rawComptages, rawReferentiel, rawTraffic, rawWeather } from './sources.ts';
import { computeWeatherMetrics, WeatherMetricsSchema } from './weather/metrics.ts';
import { parseWeatherFile, type WeatherRecord } from './weather/parse.ts';
import { computeTrafficMetrics, TrafficMetricsSchema } from './traffic/metrics.ts';
import { parseTrafficFile, type Disruption } from './traffic/parse.ts';

/**
 * The date part of a road-count timestamp: exports write Paris wall-clock time (with a `+01:00/+02:00`
 * offset or none), so it is the Paris day.
 */
const PARIS_LOCAL_DATE = /[;,]"?(\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}(?::\d{2})?(?:[+-]\d{2}:\d{2})?"?[;,]/;

/** Bad road-count rows kept with full detail (counts stay exact beyond it). */
const MAX_KEPT_REJECTS = 100_000;

const metricsIo = (metricType: string) => ({ io: 'metrics', ioMeta: { metricType } });

export const bikesMetrics = defineAsset({
  key: 'bikes_metrics',
  group: 'metrics',
  tags: ['bikes'],
  description: 'Per bike counter: daily total, peak hour, failing sensors, anomalies (Paris day)',
  partitions: daily(),
  ...metricsIo('bikes'),
  schema: BikesMetricsSchema,
  checks: bikesChecks,
  deps: { raw: dep(rawBikes, hourlyToDaily()) },
  compute: async ({ raw }, ctx) => {
    const records: BikeCount[] = [];
    for (const hour of raw)
      for (const f of hour.value.files) records.push(...(await parseBikesFile(f, ctx.reject)));
    const doc = computeBikesMetrics(ctx.partitionKey, records, ctx.reject);
    ctx.addMetadata({ rows: doc.metrics.length });
    return doc;
  },
});

export const trafficMetrics = defineAsset({
  key: 'traffic_metrics',
  group: 'metrics',
  tags: ['traffic'],
  description: 'Public-transport disruptions active on the day, by severity and metro line',
  partitions: daily(),
  ...metricsIo('traffic'),
  schema: TrafficMetricsSchema,
  checks: trafficChecks,
  deps: { raw: dep(rawTraffic, hourlyToDaily()) },
  compute: async ({ raw }, ctx) => {
    const disruptions: Disruption[] = [];
    for (const hour of raw)
      for (const f of hour.value.files) disruptions.push(...(await parseTrafficFile(f, ctx.reject)));
    const doc = computeTrafficMetrics(ctx.partitionKey, disruptions);
    ctx.addMetadata({ rows: doc.total_disruptions_count });
    return doc;
  },
});

const ArcDaySchema = z.object({
  arc_id: z.string(),
  day: z.string(),
  libelle: z.string(),
  flow: z.array(z.number().nullable()).length(24),
  occupancy: z.array(z.number().nullable()).length(24),
  etat: z.array(z.string().nullable()).length(24),
  geo_point: z.tuple([z.number(), z.number()]).nullable(),
  row_length_m: z.number().nullable(),
  rows: z.number().int(),
});

/** One streaming pass over the road-count file produces every requested day (stored per day). */
export const comptagesArcDays = defineBatchAsset({
  key: 'comptages_arc_days',
  group: 'intermediate',
  tags: ['comptages'],
  description: 'Per road arc per Paris day: the 24 hourly flows/occupancies/states',
  partitions: daily(),
  io: 'intermediate',
  schema: z.array(ArcDaySchema),
  deps: { raw: dep(rawComptages, fromUnpartitioned()) },
  compute: async ({ raw }, ctx) => {
    const days = new Set(ctx.partitionKeys);
    // A bad row whose timestamp is still readable is quarantined with its own day (and counted in that
    // day's metadata); only rows with no readable day go to the batch-level quarantine.
    const reject: Reject = (rec) => {
      const day = PARIS_LOCAL_DATE.exec(rec.raw ?? '')?.[1];
      (day && days.has(day) ? ctx.rejectFor(day) : ctx.reject)(rec);
    };
    // Kept rows whose Etat trafic was not a known value (e.g. Latin-1 bytes) count as Inconnu: say so.
    const warnUnknownEtat = (rows: number) => {
      if (rows > 0)
        ctx.log.warn(
          `${rows} rows had an unrecognised Etat trafic (not Fluide, Pré-saturé, Saturé, Bloqué, Inconnu or ` +
            `a 0-4 code; e.g. a Latin-1 export): kept and counted as Inconnu`,
        );
    };
    // After the read, progress counts the days written (the 6 GB file's 222 days take longer than
    // reading it: each is validated, hashed and stored).
    const emitDays = async (arcDaysOf: (day: string) => ArcDay[]) => {
      const keys = ctx.partitionKeys;
      for (const [i, day] of keys.entries()) {
        const arcDays = arcDaysOf(day);
        await ctx.emit(day, arcDays, { rows: arcDays.length });
        ctx.progress(i + 1, keys.length, 'days written');
      }
    };
    if (raw.files.length === 1) {
      // The real case (one 6.2 GB file): byte-range workers, results identical to the csv-parse path
      // (assets/comptages/fast/reader.test.ts), several times faster (docs/performance.md).
      const file = raw.files[0]!;
      const r = await readComptagesFast(file, {
        days,
        maxRejects: MAX_KEPT_REJECTS,
        onProgress: (done, total) => ctx.progress(done, total, 'bytes'),
      });
      for (const rec of r.rejects) reject(rec);
      if (r.rejected > r.rejects.length) {
        ctx.log.warn(
          `${r.rejected} rows rejected, the first ${r.rejects.length} kept in quarantine: ${JSON.stringify(r.rejectCounts)}`,
        );
      }
      const took = r.timings ? `, scan ${r.timings.scanMs} ms + aggregation ${r.timings.aggregateMs} ms` : '';
      ctx.log.info(
        `${file.key}: ${r.rows} rows read by ${r.mode.parser} (${r.mode.ranges} ranges${took})${r.mode.note ? `: ${r.mode.note}` : ''}`,
      );
      warnUnknownEtat(r.unknownEtat);
      // One day's ArcDay objects at a time, built from the compact state (which then frees that day).
      return emitDays((day) => r.takeArcDays(day));
    }
    // Several files share one accumulator (and one set of rules) through the streaming csv-parse reader.
    const acc = new ArcDayAccumulator();
    const total = raw.files.reduce((a, f) => a + f.size, 0);
    let done = 0;
    let unknownEtat = 0;
    const seen = new SeenInstants(); // a row repeated in a later file is a duplicate, not summed twice
    for (const f of raw.files) {
      unknownEtat += (await parseComptagesFile(f, reject, (row) => acc.add(row), { days, seen })).unknownEtat;
      done += f.size;
      ctx.progress(done, total, 'bytes');
    }
    warnUnknownEtat(unknownEtat);
    return emitDays((day) => acc.arcDays(day));
  },
});

export const weatherMetrics = defineAsset({
  key: 'weather_metrics',
  group: 'metrics',
  tags: ['weather'],
  description: 'Daily weather of the Paris day and its mobility impact',
  partitions: daily(),
  ...metricsIo('weather'),
  schema: WeatherMetricsSchema,
  checks: weatherChecks,
  deps: { raw: dep(rawWeather, hourlyToDaily()) },
  compute: async ({ raw }, ctx) => {
    const records: WeatherRecord[] = [];
    for (const hour of raw)
      for (const f of hour.value.files) records.push(...(await parseWeatherFile(f, ctx.reject)));
    return computeWeatherMetrics(ctx.partitionKey, records);
  },
});

export const chantiersMetrics = defineAsset({
  key: 'chantiers_metrics',
  group: 'metrics',
  tags: ['chantiers'],
  description: 'Road works active on the day: impact by arrondissement, critical zones, true areas',
  partitions: daily(),
  ...metricsIo('chantiers'),
  schema: ChantiersMetricsSchema,
  checks: chantiersChecks,
  deps: { raw: dep(rawChantiers, fromUnpartitioned()) },
  compute: async ({ raw }, ctx) => {
    const rows: Chantier[] = [];
    for (const f of raw.files) rows.push(...(await parseChantiersFile(f, ctx.reject)));
    const doc = computeChantiersMetrics(ctx.partitionKey, rows);
    ctx.addMetadata({ rows: doc.total_chantiers_actifs });
    return doc;
  },
});

export const referentielMetrics = defineAsset({
  key: 'referentiel_metrics',
  group: 'metrics',
  tags: ['referentiel'],
  description: 'Road-arc reference: one entry per arc (latest availability period), lengths, arrondissements',
  partitions: daily(),
  ...metricsIo('referentiel'),
  schema: ReferentielMetricsSchema,
  checks: referentielChecks,
  deps: { raw: dep(rawReferentiel, fromUnpartitioned()) },
  compute: async ({ raw }, ctx) => {
    const rows: ReferentielRow[] = [];
    for (const f of raw.files) rows.push(...(await parseReferentielFile(f, ctx.reject)));
    const doc = computeReferentielMetrics(ctx.partitionKey, rows);
    ctx.addMetadata({ rows: doc.statistiques.nombre_troncons });
    return doc;
  },
});

export const comptagesMetrics = defineAsset({
  key: 'comptages_metrics',
  group: 'metrics',
  tags: ['comptages'],
  description: 'Road traffic per arc and day: flows, peak hour, lost time, congestion, failing sensors',
  partitions: daily(),
  ...metricsIo('comptages'),
  schema: ComptagesMetricsSchema,
  checks: [...comptagesChecks],
  deps: { arcDays: comptagesArcDays, referentiel: referentielMetrics },
  compute: ({ arcDays, referentiel }, ctx) => {
    const lengths = lengthByArc(referentiel);
    const doc = computeComptagesMetrics(arcDays, ctx.partitionKey, { lengthOf: (arc) => lengths.get(arc) });
    ctx.addMetadata({ rows: doc.metrics.length });
    return doc;
  },
});

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

/** The same report as a `;` CSV, one section per block (docs/report.md). */
export const dailyReportCsv = defineAsset({
  key: 'daily_report_csv',
  group: 'report',
  tags: ['report'],
  description: 'The daily report as a sectioned ; CSV (UTF-8)',
  partitions: daily(),
  io: 'report_files',
  ioMeta: { report: true, format: 'csv' },
  schema: z.string(),
  deps: { report: dailyReport },
  compute: ({ report }) => reportToCsv(report),
});

export const cityflowAssets: AnyAsset[] = [
  rawBikes,
  rawTraffic,
  rawWeather,
  rawComptages,
  rawChantiers,
  rawReferentiel,
  bikesMetrics,
  trafficMetrics,
  weatherMetrics,
  chantiersMetrics,
  referentielMetrics,
  comptagesArcDays,
  comptagesMetrics,
  dailyReport,
  dailyReportCsv,
];
