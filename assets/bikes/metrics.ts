/**
 * Daily bike-counter metrics for one Paris day D (SPEC §2.2, §3.1), with the original's bugs fixed:
 * only records of day D count, the mean divides by the hours that have data (not 24), the peak hour
 * is a Paris local hour, every arrondissement is reachable, missing coordinates keep the counter
 * (arrondissement null), and anomalies are really computed.
 */
import { z } from 'zod';
import type { Reject } from '../../engine/quarantine.ts';
import { arrondissementOf } from '../geo/arrondissements.ts';
import { parisDayWindow, parisHour } from '../shared/paris-time.ts';
import type { BikeCount } from './parse.ts';

/** A counter with fewer hours with data than this is failing (our addition to SPEC §2.2). */
export const MIN_HOURS_WITH_DATA = 18;
/** Rule (b): more than this many non-zero values, all identical ⇒ stuck sensor. */
export const STUCK_MIN_NONZERO = 12;
/** Anomaly: an hour whose count is more than this many standard deviations from the counter's day mean. */
export const ANOMALY_Z = 3;
/** Anomaly detection needs at least this many hours with data to make σ meaningful. */
export const ANOMALY_MIN_HOURS = 12;
/** frequentation_index = min(100, total / this × 100) (SPEC §2.2). */
export const FREQUENTATION_REFERENCE = 100_000;

const Coordinates = z.object({ lon: z.number(), lat: z.number() });

export const BikeCounterMetricSchema = z.object({
  date: z.string(),
  id_compteur: z.string(),
  nom_compteur: z.string(),
  total_jour: z.number().nonnegative(),
  heures_mesurees: z.number().int().nonnegative(),
  moyenne_horaire: z.number().nonnegative(),
  pic_horaire: z.number().int().min(0).max(23).nullable(),
  arrondissement: z.string().nullable(),
  coordinates: Coordinates.nullable(),
  anomalie_detectee: z.boolean(),
  defaillant: z.boolean(),
});

export const BikeAnomalySchema = z.object({
  id_compteur: z.string(),
  nom_compteur: z.string(),
  heure: z.number().int().min(0).max(23),
  valeur: z.number(),
  moyenne: z.number(),
  ecart_type: z.number(),
  z_score: z.number(),
});

export const BikesMetricsSchema = z.object({
  date: z.string(),
  metrics: z.array(BikeCounterMetricSchema),
  failing_sensors: z.array(z.string()),
  failing_reasons: z.record(z.string(), z.array(z.enum(['no_counts', 'stuck_value', 'too_few_hours']))),
  anomalies: z.array(BikeAnomalySchema),
  top_counters: z.array(BikeCounterMetricSchema),
  total_velos: z.number().nonnegative(),
  nombre_compteurs: z.number().int().nonnegative(),
  frequentation_index: z.number().min(0).max(100),
});

export type BikeCounterMetric = z.infer<typeof BikeCounterMetricSchema>;
export type BikeAnomaly = z.infer<typeof BikeAnomalySchema>;
export type BikesMetrics = z.infer<typeof BikesMetricsSchema>;

/** Keeps the last record per (counter, hour instant): later files (sorted snapshot keys) win. */
function dedupe(records: BikeCount[], reject?: Reject): BikeCount[] {
  const byKey = new Map<string, BikeCount>();
  for (const r of records) {
    const key = `${r.id_compteur}\u0000${r.timestampMs}`;
    const prev = byKey.get(key);
    if (prev)
      reject?.({
        reason: 'duplicate_record',
        file: prev.file,
        line: prev.line,
        detail: `superseded by ${r.file}:${r.line} (same counter and hour)`,
      });
    byKey.set(key, r);
  }
  return [...byKey.values()];
}

function anomaliesOf(id: string, name: string, hourly: Map<number, number>): BikeAnomaly[] {
  const values = [...hourly.values()];
  if (values.length < ANOMALY_MIN_HOURS) return [];
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  if (sd === 0) return [];
  const out: BikeAnomaly[] = [];
  for (const [hour, v] of [...hourly.entries()].sort((a, b) => a[0] - b[0])) {
    const zScore = (v - mean) / sd;
    if (Math.abs(zScore) > ANOMALY_Z)
      out.push({
        id_compteur: id,
        nom_compteur: name,
        heure: hour,
        valeur: v,
        moyenne: mean,
        ecart_type: sd,
        z_score: zScore,
      });
  }
  return out;
}

/**
 * Metrics of Paris day `day` over bike records (any order, any number of files). Records outside the
 * day are excluded and reported as `outside_partition`; duplicates (same counter and hour) as
 * `duplicate_record` (the last one wins).
 */
export function computeBikesMetrics(
  day: string,
  records: readonly BikeCount[],
  reject?: Reject,
): BikesMetrics {
  const { startMs, endMs } = parisDayWindow(day);
  const inDay: BikeCount[] = [];
  for (const r of records) {
    if (r.timestampMs >= startMs && r.timestampMs < endMs) inDay.push(r);
    else
      reject?.({
        reason: 'outside_partition',
        file: r.file,
        line: r.line,
        detail: `${r.date} is not in Paris day ${day}`,
      });
  }
  const groups = new Map<string, BikeCount[]>();
  for (const r of dedupe(inDay, reject)) {
    const list = groups.get(r.id_compteur);
    if (list) list.push(r);
    else groups.set(r.id_compteur, [r]);
  }

  const metrics: BikeCounterMetric[] = [];
  const failing_reasons: BikesMetrics['failing_reasons'] = {};
  const anomalies: BikeAnomaly[] = [];
  let total_velos = 0;
  for (const id of [...groups.keys()].sort()) {
    const recs = groups.get(id)!.sort((a, b) => a.timestampMs - b.timestampMs);
    const first = recs[0]!;
    const withData = recs.filter((r) => r.sum_counts !== null);
    // Counts per Paris local hour (the repeated autumn hour folds into one key).
    const hourly = new Map<number, number>();
    for (const r of withData) {
      const h = parisHour(r.timestampMs);
      hourly.set(h, (hourly.get(h) ?? 0) + r.sum_counts!);
    }
    const total = withData.reduce((a, r) => a + r.sum_counts!, 0);
    total_velos += total;
    let peak: number | null = null;
    for (const [h, v] of [...hourly.entries()].sort((a, b) => a[0] - b[0]))
      if (v > 0 && (peak === null || v > hourly.get(peak)!)) peak = h;

    const reasons: ('no_counts' | 'stuck_value' | 'too_few_hours')[] = [];
    const nonZero = withData.map((r) => r.sum_counts!).filter((v) => v !== 0);
    if (nonZero.length === 0) reasons.push('no_counts');
    if (nonZero.length > STUCK_MIN_NONZERO && nonZero.every((v) => v === nonZero[0]))
      reasons.push('stuck_value');
    if (withData.length < MIN_HOURS_WITH_DATA) reasons.push('too_few_hours');
    if (reasons.length > 0) failing_reasons[id] = reasons;

    const counterAnomalies = anomaliesOf(id, first.nom_compteur, hourly);
    anomalies.push(...counterAnomalies);
    const coords = recs.find((r) => r.coordinates)?.coordinates ?? null;
    metrics.push({
      date: day,
      id_compteur: id,
      nom_compteur: first.nom_compteur,
      total_jour: total,
      heures_mesurees: withData.length,
      moyenne_horaire: withData.length > 0 ? total / withData.length : 0,
      pic_horaire: peak,
      arrondissement: coords ? arrondissementOf(coords.lon, coords.lat) : null,
      coordinates: coords,
      anomalie_detectee: counterAnomalies.length > 0,
      defaillant: reasons.length > 0,
    });
  }

  const top_counters = metrics
    .filter((m) => !m.defaillant)
    .sort((a, b) => b.total_jour - a.total_jour || a.id_compteur.localeCompare(b.id_compteur))
    .slice(0, 10);
  return {
    date: day,
    metrics,
    failing_sensors: Object.keys(failing_reasons).sort(),
    failing_reasons,
    anomalies,
    top_counters,
    total_velos,
    nombre_compteurs: metrics.length,
    frequentation_index: Math.min(100, (total_velos / FREQUENTATION_REFERENCE) * 100),
  };
}
