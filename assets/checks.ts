/**
 * Data-quality checks on the metric documents, beyond what their zod schemas already enforce
 * (non-negative numbers, ranges): internal consistency and one row per entity per day.
 */
import type { AssetCheck, CheckResult } from '../engine/index.ts';
import type { BikesMetrics } from './bikes/metrics.ts';
import type { ChantiersMetrics } from './chantiers/metrics.ts';
import type { ReferentielMetrics } from './referentiel/metrics.ts';
import type { TrafficMetrics } from './traffic/metrics.ts';
import type { WeatherMetrics } from './weather/metrics.ts';

const pass = (message: string): CheckResult => ({ status: 'pass', message });
const fail = (message: string): CheckResult => ({ status: 'fail', message });

function duplicates(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  return [...new Set(ids.filter((id) => seen.size === seen.add(id).size))];
}

const oneRowPer = <T>(name: string, what: string, ids: (v: T) => string[]): AssetCheck<T> => ({
  name,
  fn: (v) => {
    const d = duplicates(ids(v));
    return d.length
      ? fail(`${d.length} ${what} appear twice: ${d.slice(0, 5).join(', ')}`)
      : pass(`one row per ${what}`);
  },
});

const closeTo = (a: number, b: number): boolean =>
  Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a), Math.abs(b));

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

export const trafficChecks: AssetCheck<TrafficMetrics>[] = [
  {
    name: 'traffic_active_within_total',
    fn: (v) =>
      v.active_disruptions_count <= v.total_disruptions_count
        ? pass(`${v.active_disruptions_count} of ${v.total_disruptions_count} active`)
        : fail(`${v.active_disruptions_count} active > ${v.total_disruptions_count} in total`),
  },
];

export const weatherChecks: AssetCheck<WeatherMetrics>[] = [
  {
    name: 'weather_min_mean_max_ordered',
    fn: (v) => {
      const m = v.metrics;
      if (!m) return { status: 'warn', message: v.note ?? 'no weather data for the day' };
      return m.temp_min <= m.temp_moyenne && m.temp_moyenne <= m.temp_max
        ? pass(`${m.temp_min} ≤ ${m.temp_moyenne} ≤ ${m.temp_max} °C`)
        : fail(`temperatures out of order: min ${m.temp_min}, mean ${m.temp_moyenne}, max ${m.temp_max}`);
    },
  },
];

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
