/**
 * Daily road-count indicators (`comptages_metrics`) computed from the `ArcDay` records of one Paris
 * day. Pure: the référentiel lengths and the arrondissement lookup come in through `env`.
 * Formulas, units and the deliberate differences from the original: docs/metrics-comptages.md.
 */
import { arrondissementOf as officialArrondissementOf } from '../geo/arrondissements.ts';
import type { ArcDay } from './arc-day.ts';
import { arcDayColumns, arcDaysToTable, type ArcDayColumns, type ArcDayTable } from './arc-day-table.ts';
import { compareArcIds } from './aggregate.ts';
import {
  ComptagesMetricsSchema,
  type ArcMetrics,
  type ComptagesMetrics,
  type CongestionAlert,
  type FailingSensor,
  type TopTroncon,
  type ZoneMetrics,
} from './metrics-schema.ts';
import { ETATS_TRAFIC, ETAT_SEVERITY, type EtatTrafic } from './normalize.ts';
import { existingHourSlots } from './paris-clock.ts';

export { ComptagesMetricsSchema } from './metrics-schema.ts';
export type { ArcMetrics, ComptagesMetrics } from './metrics-schema.ts';

export interface ComptagesEnv {
  /** Arc length in metres from the référentiel, undefined when the arc is not in it. */
  lengthOf(arcId: string): number | undefined;
  /** Postal code '75001'…'75020' of a point, null outside Paris. */
  arrondissementOf(lon: number, lat: number): string | null;
}

/** Length used when neither the référentiel nor the row's own geo_shape gives one (as the original). */
export const DEFAULT_ARC_LENGTH_M = 500;
/** Occupancy (%) at or above which an hour counts as congested. */
export const CONGESTION_OCCUPANCY = 80;
/** Consecutive congested hours that raise an alert. */
export const CONGESTION_MIN_HOURS = 2;
/** A sensor with fewer hours of flow than this on a day is failing. */
export const MIN_MEASURED_HOURS = 18;
/** A sensor repeating the same non-zero flow for this many consecutive hours is failing. */
export const CONSTANT_FLOW_HOURS = 6;

/**
 * Lost minutes per vehicle and per km, by occupancy band (SPEC §2.5): reference speed 50 km/h,
 * observed 50 / 40 / 30 / 20 km/h below 30 / 50 / 70 % and above ⇒ 60/V − 60/50 = 0, 0.3, 0.8, 1.8.
 */
export function lostMinutesPerVehicleKm(occupancy: number): number {
  if (occupancy < 30) return 0;
  if (occupancy < 50) return 0.3;
  if (occupancy < 70) return 0.8;
  return 1.8;
}

/**
 * The dominant state of a row's hours: the most frequent of the five states among the hours that have
 * one (another string counts for nothing); ties go to the most severe, 'Inconnu' when none. Made once per
 * day: the day's dictionary codes are mapped to the five states once, and the counts are an array (a
 * `Map` and a string search per hour were ≈ 5 % of the 6 GB metrics' CPU).
 */
class DominantEtat {
  private readonly known: Int8Array;
  private readonly counts = new Int32Array(ETATS_TRAFIC.length);
  constructor(private readonly c: ArcDayColumns) {
    this.known = Int8Array.from(c.etatNames, (n) => (ETATS_TRAFIC as readonly string[]).indexOf(n));
  }

  of(i: number): EtatTrafic {
    const counts = this.counts.fill(0);
    for (let h = 0; h < 24; h++) {
      const code = this.c.etat[i * 24 + h]!;
      if (code < 0) continue;
      const k = this.known[code]!;
      if (k >= 0) counts[k]!++;
    }
    // Severities are distinct: the order the states are looked at does not matter.
    let best: EtatTrafic = 'Inconnu';
    let bestCount = 0;
    for (let k = 0; k < ETATS_TRAFIC.length; k++) {
      const n = counts[k]!;
      const etat = ETATS_TRAFIC[k]!;
      if (n > bestCount || (n > 0 && n === bestCount && ETAT_SEVERITY[etat] > ETAT_SEVERITY[best])) {
        best = etat;
        bestCount = n;
      }
    }
    return best;
  }
}

/** Longest run of consecutive real hours (slots in real-time order) whose slot satisfies `pred`. */
function longestRun(slots: readonly number[], pred: (h: number) => boolean): number {
  let best = 0;
  let run = 0;
  for (const h of slots) {
    run = pred(h) ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}

/** Longest run of consecutive real hours carrying the same non-zero flow (`flow` from `base`; NaN = null). */
function longestConstantFlowRun(slots: readonly number[], flow: Float64Array, base: number): number {
  let best = 0;
  let run = 0;
  let previous = NaN;
  for (const h of slots) {
    const f = flow[base + h]!;
    run = Number.isNaN(f) || f === 0 ? 0 : f === previous ? run + 1 : 1;
    previous = f;
    best = Math.max(best, run);
  }
  return best;
}

interface ArcComputation {
  metric: ArcMetrics;
  occupancyMax: number | null;
  failureReasons: FailingSensor['raisons'];
}

function computeArc(
  c: ArcDayColumns,
  i: number,
  day: string,
  /** existingHourSlots(day), computed once for the day's arcs. */
  slots: readonly number[],
  env: ComptagesEnv,
  dominantEtat: DominantEtat,
): ArcComputation {
  const base = i * 24;
  const arcId = c.arcId[i]!;
  const rowLength = c.rowLengthM[i]!; // NaN = none
  let hours = 0;
  let total = 0;
  let max: number | null = null;
  let peak: number | null = null;
  let occSum = 0;
  let occCount = 0;
  let occMax: number | null = null;

  const fromReferentiel = env.lengthOf(arcId);
  const [length, source] =
    fromReferentiel !== undefined && fromReferentiel > 0
      ? [fromReferentiel, 'referentiel' as const]
      : rowLength > 0 // false for NaN
        ? [rowLength, 'geo_shape' as const]
        : [DEFAULT_ARC_LENGTH_M, 'defaut' as const];
  const lengthKm = length / 1000;
  let lostMinutes = 0;

  for (let h = 0; h < 24; h++) {
    const fv = c.flow[base + h]!;
    const ov = c.occupancy[base + h]!;
    const f = Number.isNaN(fv) ? null : fv;
    const o = Number.isNaN(ov) ? null : ov;
    if (f !== null) {
      hours++;
      total += f;
      if (max === null || f > max) {
        max = f; // strict '>' keeps the earliest hour on ties
        peak = h;
      }
    }
    if (o !== null) {
      occSum += o;
      occCount++;
      occMax = occMax === null ? o : Math.max(occMax, o);
    }
    // Hour by hour: an hour lacking flow or occupancy contributes nothing (its speed is unknown).
    if (f !== null && o !== null) lostMinutes += f * lengthKm * lostMinutesPerVehicleKm(o);
  }

  const congestedRun = longestRun(slots, (h) => c.occupancy[base + h]! >= CONGESTION_OCCUPANCY); // NaN: false
  const constantRun = longestConstantFlowRun(slots, c.flow, base);
  const failureReasons: FailingSensor['raisons'] = [];
  if (hours < MIN_MEASURED_HOURS) failureReasons.push('heures_insuffisantes');
  if (constantRun >= CONSTANT_FLOW_HOURS) failureReasons.push('debit_constant');

  const lat = c.geoPoint[2 * i]!;
  const lon = c.geoPoint[2 * i + 1]!;
  const metric: ArcMetrics = {
    arc_id: arcId,
    libelle: c.libelle[i]!,
    date: day,
    heures_mesurees: hours,
    debit_journalier_total: total,
    debit_horaire_moyen: hours > 0 ? total / hours : null,
    debit_max: max,
    taux_occupation_moyen: occCount > 0 ? occSum / occCount : null,
    heure_pic: peak,
    etat_trafic_dominant: dominantEtat.of(i),
    longueur_metres: length,
    source_longueur: source,
    arrondissement: Number.isNaN(lat) ? null : env.arrondissementOf(lon, lat),
    temps_perdu_total_minutes: lostMinutes,
    heures_congestion_max: congestedRun,
    congestion_alerte: congestedRun >= CONGESTION_MIN_HOURS,
    capteur_defaillant: failureReasons.length > 0,
  };
  return { metric, occupancyMax: occMax, failureReasons };
}

const severityOf = (hours: number): CongestionAlert['severite'] =>
  hours >= 6 ? 'CRITIQUE' : hours >= 4 ? 'ELEVEE' : 'MOYENNE';

const byArc = (a: { arc_id: string }, b: { arc_id: string }): number => compareArcIds(a.arc_id, b.arc_id);

/**
 * Builds the day's metrics document from the arc-days of `day` (arc-days of other days are ignored):
 * the stored table (its columns are read, no per-row object is built) or `ArcDay` records.
 */
export function computeComptagesMetrics(
  arcDays: ArcDayTable | readonly ArcDay[],
  day: string,
  env: Partial<ComptagesEnv> = {},
): ComptagesMetrics {
  const fullEnv: ComptagesEnv = {
    lengthOf: env.lengthOf ?? (() => undefined),
    arrondissementOf: env.arrondissementOf ?? officialArrondissementOf,
  };
  const c = arcDayColumns(Array.isArray(arcDays) ? arcDaysToTable(arcDays) : (arcDays as ArcDayTable));
  const computed: ArcComputation[] = [];
  const slots = existingHourSlots(day);
  const dominantEtat = new DominantEtat(c);
  for (let i = 0; i < c.length; i++)
    if (c.day[i] === day) computed.push(computeArc(c, i, day, slots, fullEnv, dominantEtat));
  computed.sort((x, y) => byArc(x.metric, y.metric));
  const metrics = computed.map((c) => c.metric);

  const total = metrics.reduce((s, m) => s + m.debit_journalier_total, 0);
  const lost = metrics.reduce((s, m) => s + m.temps_perdu_total_minutes, 0);
  const failing = computed.filter((c) => c.failureReasons.length > 0);
  const saturated = metrics.filter((m) => m.congestion_alerte).length;

  const top10: TopTroncon[] = [...metrics]
    .sort((x, y) => y.debit_journalier_total - x.debit_journalier_total || byArc(x, y))
    .slice(0, 10)
    .map((m) => ({
      arc_id: m.arc_id,
      libelle: m.libelle,
      debit_journalier_total: m.debit_journalier_total,
      temps_perdu_total_minutes: m.temps_perdu_total_minutes,
      taux_occupation_moyen: m.taux_occupation_moyen,
      etat_trafic_dominant: m.etat_trafic_dominant,
      arrondissement: m.arrondissement,
    }));

  const zones = new Map<string, ZoneMetrics>();
  for (const m of metrics) {
    if (m.arrondissement === null) continue;
    const z = zones.get(m.arrondissement) ?? {
      arrondissement: m.arrondissement,
      nombre_troncons: 0,
      total_vehicules: 0,
      temps_perdu_total_minutes: 0,
      nombre_troncons_satures: 0,
      taux_saturation: 0,
    };
    z.nombre_troncons++;
    z.total_vehicules += m.debit_journalier_total;
    z.temps_perdu_total_minutes += m.temps_perdu_total_minutes;
    if (m.congestion_alerte) z.nombre_troncons_satures++;
    z.taux_saturation = (z.nombre_troncons_satures / z.nombre_troncons) * 100;
    zones.set(m.arrondissement, z);
  }
  const topZones = [...zones.values()]
    .sort(
      (x, y) =>
        y.temps_perdu_total_minutes - x.temps_perdu_total_minutes ||
        y.total_vehicules - x.total_vehicules ||
        (x.arrondissement < y.arrondissement ? -1 : x.arrondissement > y.arrondissement ? 1 : 0),
    )
    .slice(0, 10);

  const alerts: CongestionAlert[] = computed
    .filter((c) => c.metric.congestion_alerte)
    .map((c) => ({
      arc_id: c.metric.arc_id,
      libelle: c.metric.libelle,
      arrondissement: c.metric.arrondissement,
      heures_congestion_max: c.metric.heures_congestion_max,
      taux_occupation_max: c.occupancyMax ?? 0,
      temps_perdu_total_minutes: c.metric.temps_perdu_total_minutes,
      severite: severityOf(c.metric.heures_congestion_max),
    }))
    .sort((x, y) => y.temps_perdu_total_minutes - x.temps_perdu_total_minutes || byArc(x, y));

  const capteurs: FailingSensor[] = failing.map((c) => ({
    arc_id: c.metric.arc_id,
    libelle: c.metric.libelle,
    raisons: c.failureReasons,
    heures_mesurees: c.metric.heures_mesurees,
  }));

  return {
    date: day,
    global_metrics: {
      date: day,
      total_vehicules_jour: total,
      temps_perdu_total_minutes: lost,
      nombre_troncons: metrics.length,
      nombre_troncons_satures: saturated,
      nombre_capteurs_defaillants: failing.length,
      taux_disponibilite_capteurs:
        metrics.length > 0 ? ((metrics.length - failing.length) / metrics.length) * 100 : null,
      moyenne_debit_par_troncon: metrics.length > 0 ? total / metrics.length : null,
      troncons_sans_arrondissement: metrics.filter((m) => m.arrondissement === null).length,
    },
    metrics,
    top_10_troncons: top10,
    top_10_zones_congestionnees: topZones,
    alertes_congestion: alerts,
    capteurs_defaillants: capteurs,
  };
}

/** Validates a document against the schema (e.g. after loading it from storage). */
export const parseComptagesMetrics = (value: unknown): ComptagesMetrics =>
  ComptagesMetricsSchema.parse(value);
