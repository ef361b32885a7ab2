import { daily, defineAsset, dep, fromUnpartitioned } from '../../engine/index.ts';
import { metricsIo } from '../shared/metrics-io.ts';
import { rawChantiers } from '../sources.ts';
import { chantiersChecks } from './checks.ts';
import { computeChantiersMetrics, ChantiersMetricsSchema } from './metrics.ts';
import type { Chantier } from './parse.ts';

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
    const { parseChantiersFile } = await import('./parse.ts'); // loaded when the asset computes
    const rows: Chantier[] = [];
    for (const f of raw.files) rows.push(...(await parseChantiersFile(f, ctx.reject)));
    const doc = computeChantiersMetrics(ctx.partitionKey, rows);
    ctx.addMetadata({ rows: doc.total_chantiers_actifs });
    return doc;
  },
});
