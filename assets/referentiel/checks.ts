/** Data-quality checks on referentiel metric documents, beyond their zod schema (see assets/checks.ts). */
import type { AssetCheck } from '../../engine/index.ts';
import { pass, fail } from '../shared/check-helpers.ts';
import type { ReferentielMetrics } from './metrics.ts';

export const referentielChecks: AssetCheck<ReferentielMetrics>[] = [
  {
    name: 'referentiel_arcs_have_lengths',
    blocking: false,
    fn: (v) => {
      const s = v.statistiques;
      if (s.nombre_troncons === 0) return fail('no arc in the référentiel');
      const missing = s.nombre_troncons - s.troncons_avec_longueur;
      return missing
        ? { status: 'warn', message: `${missing} of ${s.nombre_troncons} arcs have no LineString length` }
        : pass(`${s.nombre_troncons} arcs`);
    },
  },
];
