import { daily, defineAsset, dep, identity } from '../../engine/index.ts';
import { lengthByArc } from '../referentiel/metrics.ts';
import { referentielMetrics } from '../referentiel/asset.ts';
import { metricsIo } from '../shared/metrics-io.ts';
import { comptagesArcDays } from './arc-days-asset.ts';
import { comptagesChecks } from './checks.ts';
import { ComptagesMetricsSchema } from './metrics-schema.ts';

export const comptagesMetrics = defineAsset({
  key: 'comptages_metrics',
  group: 'metrics',
  tags: ['comptages'],
  description: 'Road traffic per arc and day: flows, peak hour, lost time, congestion, failing sensors',
  partitions: daily(),
  ...metricsIo('comptages'),
  schema: ComptagesMetricsSchema,
  checks: [...comptagesChecks],
  // Without a référentiel for the day, arcs take their length from their own shape (or the default):
  // road counts are still measured, so they are not "no data".
  deps: {
    arcDays: comptagesArcDays,
    referentiel: dep(referentielMetrics, identity(), { optional: true }),
  },
  compute: async ({ arcDays, referentiel }, ctx) => {
    if (!arcDays.numRows) return ctx.noData('no road-count row for the day');
    const { computeComptagesMetrics } = await import('./metrics.ts'); // loaded when the asset computes
    const lengths = referentiel ? lengthByArc(referentiel) : new Map<string, number>();
    const doc = computeComptagesMetrics(arcDays, ctx.partitionKey, { lengthOf: (arc) => lengths.get(arc) });
    ctx.addMetadata({ rows: doc.metrics.length });
    return doc;
  },
});
