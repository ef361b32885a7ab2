import { daily, defineAsset, dep, hourlyToDaily } from '../../engine/index.ts';
import { metricsIo } from '../shared/metrics-io.ts';
import { rawTraffic } from '../sources.ts';
import { trafficChecks } from './checks.ts';
import { computeTrafficMetrics, TrafficMetricsSchema } from './metrics.ts';
import type { Disruption } from './parse.ts';

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
    const { parseTrafficFile } = await import('./parse.ts'); // loaded when the asset computes
    const disruptions: Disruption[] = [];
    for (const hour of raw)
      for (const f of hour.value.files) disruptions.push(...(await parseTrafficFile(f, ctx.reject)));
    const doc = computeTrafficMetrics(ctx.partitionKey, disruptions);
    ctx.addMetadata({ rows: doc.total_disruptions_count });
    return doc;
  },
});
