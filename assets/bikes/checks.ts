/** Data-quality checks on bikes metric documents, beyond their zod schema (see assets/checks.ts). */
import type { AssetCheck } from '../../engine/index.ts';
import { pass, fail, oneRowPer, closeTo } from '../shared/check-helpers.ts';
import type { BikesMetrics } from './metrics.ts';

export const bikesChecks: AssetCheck<BikesMetrics>[] = [
  oneRowPer('bikes_one_row_per_counter', 'counter', (v) => v.metrics.map((m) => m.id_compteur)),
  {
    name: 'bikes_total_is_sum_of_counters',
    fn: (v) => {
      const sum = v.metrics.reduce((a, m) => a + m.total_jour, 0);
      return closeTo(sum, v.total_velos)
        ? pass(`${v.total_velos} bikes`)
        : fail(`total ${v.total_velos} ≠ Σ counters ${sum}`);
    },
  },
];
