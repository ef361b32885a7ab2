import { daily, defineAsset, dep, hourlyToDaily } from '../../engine/index.ts';
import { metricsIo } from '../shared/metrics-io.ts';
import { rawBikes } from '../sources.ts';
import { bikesChecks } from './checks.ts';
import { computeBikesMetrics, BikesMetricsSchema } from './metrics.ts';
import type { BikeCount } from './parse.ts';

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
    const { parseBikesFile } = await import('./parse.ts'); // loaded when the asset computes
    const records: BikeCount[] = [];
    for (const hour of raw)
      for (const f of hour.value.files) records.push(...(await parseBikesFile(f, ctx.reject)));
    const doc = computeBikesMetrics(ctx.partitionKey, records, ctx.reject);
    ctx.addMetadata({ rows: doc.metrics.length });
    return doc;
  },
});
