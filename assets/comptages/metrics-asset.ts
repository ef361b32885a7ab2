import { daily, defineAsset } from '../../engine/index.ts';
import { lengthByArc } from '../referentiel/metrics.ts';
import { referentielMetrics } from '../referentiel/asset.ts';
import { metricsIo } from '../shared/metrics-io.ts';
import { comptagesArcDays } from './arc-days-asset.ts';
import { comptagesChecks } from './checks.ts';
import { computeComptagesMetrics, ComptagesMetricsSchema } from './metrics.ts';

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
