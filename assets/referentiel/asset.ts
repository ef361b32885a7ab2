import { daily, defineAsset, dep, fromUnpartitioned } from '../../engine/index.ts';
import { metricsIo } from '../shared/metrics-io.ts';
import { rawReferentiel } from '../sources.ts';
import { referentielChecks } from './checks.ts';
import { computeReferentielMetrics, ReferentielMetricsSchema } from './metrics.ts';
import type { ReferentielRow } from './parse.ts';

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
    const { parseReferentielFile } = await import('./parse.ts'); // loaded when the asset computes
    const rows: ReferentielRow[] = [];
    for (const f of raw.files) rows.push(...(await parseReferentielFile(f, ctx.reject)));
    const doc = computeReferentielMetrics(ctx.partitionKey, rows);
    ctx.addMetadata({ rows: doc.statistiques.nombre_troncons });
    return doc;
  },
});
