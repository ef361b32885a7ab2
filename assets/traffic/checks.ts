/** Data-quality checks on traffic metric documents, beyond their zod schema (see assets/checks.ts). */
import type { AssetCheck } from '../../engine/index.ts';
import { pass, fail } from '../shared/check-helpers.ts';
import type { TrafficMetrics } from './metrics.ts';

export const trafficChecks: AssetCheck<TrafficMetrics>[] = [
  {
    name: 'traffic_active_within_total',
    fn: (v) =>
      v.active_disruptions_count <= v.total_disruptions_count
        ? pass(`${v.active_disruptions_count} of ${v.total_disruptions_count} active`)
        : fail(`${v.active_disruptions_count} active > ${v.total_disruptions_count} in total`),
  },
];
