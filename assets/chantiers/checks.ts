/** Data-quality checks on chantiers metric documents, beyond their zod schema (see assets/checks.ts). */
import type { AssetCheck } from '../../engine/index.ts';
import { pass, fail, oneRowPer } from '../shared/check-helpers.ts';
import type { ChantiersMetrics } from './metrics.ts';

export const chantiersChecks: AssetCheck<ChantiersMetrics>[] = [
  oneRowPer('chantiers_one_row_per_work', 'work', (v) => v.chantiers_actifs.map((c) => c.identifiant)),
  {
    name: 'chantiers_count_matches_list',
    fn: (v) =>
      v.total_chantiers_actifs === v.chantiers_actifs.length
        ? pass(`${v.total_chantiers_actifs} active works`)
        : fail(`total ${v.total_chantiers_actifs} ≠ ${v.chantiers_actifs.length} listed`),
  },
];
