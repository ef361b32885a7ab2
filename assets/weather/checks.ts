/** Data-quality checks on weather metric documents, beyond their zod schema (see assets/checks.ts). */
import type { AssetCheck } from '../../engine/index.ts';
import { pass, fail } from '../shared/check-helpers.ts';
import type { WeatherMetrics } from './metrics.ts';

export const weatherChecks: AssetCheck<WeatherMetrics>[] = [
  {
    name: 'weather_min_mean_max_ordered',
    fn: (v) => {
      const m = v.metrics;
      if (!m) return { status: 'warn', message: v.note ?? 'no weather data for the day' };
      // The mean is a float sum over the hours: 24 × 15.6 / 24 is 15.600000000000003, not out of order.
      const ulps = 1e-9 * Math.max(1, Math.abs(m.temp_min), Math.abs(m.temp_max));
      return m.temp_min - ulps <= m.temp_moyenne && m.temp_moyenne <= m.temp_max + ulps
        ? pass(`${m.temp_min} ≤ ${m.temp_moyenne} ≤ ${m.temp_max} °C`)
        : fail(`temperatures out of order: min ${m.temp_min}, mean ${m.temp_moyenne}, max ${m.temp_max}`);
    },
  },
];
