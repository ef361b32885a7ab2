/**
 * Data-quality checks over a `comptages_metrics` document, in the engine's check shape
 * (`{ name, blocking?, fn(value) → { status, message } }`).
 */
import type { CheckStatus } from '../../engine/events.ts';
import type { ComptagesMetrics } from './metrics-schema.ts';

export interface ComptagesCheck {
  name: string;
  blocking?: boolean;
  fn: (doc: ComptagesMetrics) => { status: CheckStatus; message: string };
}

const sample = (ids: string[]): string =>
  ids.slice(0, 5).join(', ') + (ids.length > 5 ? ` (+${ids.length - 5})` : '');

export const comptagesChecks: readonly ComptagesCheck[] = [
  {
    name: 'comptages_non_negative_totals',
    fn: (doc) => {
      const g = doc.global_metrics;
      const bad = doc.metrics
        .filter((m) => !(m.debit_journalier_total >= 0) || !(m.temps_perdu_total_minutes >= 0))
        .map((m) => m.arc_id);
      if (!(g.total_vehicules_jour >= 0) || !(g.temps_perdu_total_minutes >= 0) || bad.length > 0) {
        return {
          status: 'fail',
          message: `negative or NaN totals (global ${g.total_vehicules_jour} veh, ${g.temps_perdu_total_minutes} min; arcs ${sample(bad)})`,
        };
      }
      return {
        status: 'pass',
        message: `${g.total_vehicules_jour} vehicles, ${g.temps_perdu_total_minutes.toFixed(1)} lost minutes`,
      };
    },
  },
  {
    name: 'comptages_occupancy_in_range',
    fn: (doc) => {
      const bad = doc.metrics
        .filter(
          (m) =>
            m.taux_occupation_moyen !== null &&
            !(m.taux_occupation_moyen >= 0 && m.taux_occupation_moyen <= 100),
        )
        .map((m) => m.arc_id);
      return bad.length > 0
        ? { status: 'fail', message: `mean occupancy outside 0–100 % for arcs ${sample(bad)}` }
        : { status: 'pass', message: 'every mean occupancy is within 0–100 %' };
    },
  },
  {
    name: 'comptages_one_row_per_arc',
    fn: (doc) => {
      const seen = new Set<string>();
      const dup = new Set<string>();
      const otherDay: string[] = [];
      for (const m of doc.metrics) {
        if (seen.has(m.arc_id)) dup.add(m.arc_id);
        seen.add(m.arc_id);
        if (m.date !== doc.date) otherDay.push(m.arc_id);
      }
      if (dup.size > 0 || otherDay.length > 0) {
        return {
          status: 'fail',
          message: `${dup.size} arcs appear more than once (${sample([...dup])}), ${otherDay.length} entries of another day`,
        };
      }
      return { status: 'pass', message: `${seen.size} arcs, one entry each` };
    },
  },
  {
    // Not blocking: a day where most sensors fail is worth a warning, the numbers are still right.
    name: 'comptages_sensor_availability',
    blocking: false,
    fn: (doc) => {
      const rate = doc.global_metrics.taux_disponibilite_capteurs;
      if (rate === null) return { status: 'warn', message: 'no road-count arc has data on this day' };
      return rate < 50
        ? { status: 'warn', message: `only ${rate.toFixed(1)} % of sensors are available` }
        : { status: 'pass', message: `${rate.toFixed(1)} % of sensors available` };
    },
  },
];
