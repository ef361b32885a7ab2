/**
 * The daily report of Paris day D (SPEC §3.2, fixed per §5.12): a pure, deterministic function of the
 * day's metrics documents and of the report of D−7. Any input may be missing — no document (its raw
 * files are absent that day), or a document that measured nothing on D: its figures become null, its
 * sections empty, and it is listed in `sources_manquantes` (the original crashed without bikes, and
 * later versions wrote zeros). Without any of the day's measurements there is no report at all
 * (`noReportReason`). No wall-clock timestamp is written, so re-running a day gives byte-identical output.
 */
import type { BikesMetrics } from '../bikes/metrics.ts';
import type { ChantiersMetrics } from '../chantiers/metrics.ts';
import type { ComptagesMetrics } from '../comptages/metrics-schema.ts';
import type { TrafficMetrics } from '../traffic/metrics.ts';
import type { WeatherMetrics } from '../weather/metrics.ts';
import {
  DailyReportSchema,
  DAY_SOURCES,
  FIGURE_SOURCE,
  REPORT_SOURCES,
  SUMMARY_FIGURES,
  type DailyReport,
  type Evolution,
  type EvolutionFigure,
  type ReportFailingSensor,
  type ReportSource,
  type ReportSummary,
  type SummaryFigure,
} from './schema.ts';

export { DailyReportSchema, type DailyReport } from './schema.ts';

/** The disruption alerts listed in the report (all are counted in `nombre_alertes`). */
export const MAX_DISRUPTION_ALERTS = 20;

/**
 * What the report needs from the référentiel document. Only `statistiques` is read, so this accepts
 * the référentiel metrics document whatever else it carries.
 */
export interface ReferentielInput {
  statistiques: { nombre_troncons: number; longueur_totale_metres: number };
}

export interface ReportInputs {
  bikes?: BikesMetrics;
  traffic?: TrafficMetrics;
  weather?: WeatherMetrics;
  comptages?: ComptagesMetrics;
  chantiers?: ChantiersMetrics;
  referentiel?: ReferentielInput;
}

/**
 * The inputs that have data for the day. A document that measured nothing on D is no data, not zeros:
 * bikes with no counter counted, weather without a summary of D, road counts with no arc measured, a
 * référentiel without any arc. Every other document counts (a disruption feed listing no disruption
 * is a real "nothing disrupted"; a works file with no active work is a real 0).
 */
export function presentInputs(i: ReportInputs): ReportInputs {
  const out: ReportInputs = {};
  if (i.bikes && i.bikes.nombre_compteurs > 0) out.bikes = i.bikes;
  if (i.traffic) out.traffic = i.traffic;
  if (i.weather?.metrics) out.weather = i.weather;
  if (i.comptages && i.comptages.global_metrics.nombre_troncons > 0) out.comptages = i.comptages;
  if (i.chantiers) out.chantiers = i.chantiers;
  if (i.referentiel && i.referentiel.statistiques.nombre_troncons > 0) out.referentiel = i.referentiel;
  return out;
}

/** The inputs absent for the day (after `presentInputs`), in `REPORT_SOURCES` order. */
export function missingSources(i: ReportInputs): ReportSource[] {
  const present = presentInputs(i);
  return REPORT_SOURCES.filter((s) => present[s] === undefined);
}

/**
 * Why there is no report for the day, or undefined when there is one: none of the sources that measure
 * the day (bikes, traffic, weather, comptages) has data. The report is then recorded as having no data
 * (nothing written), not written with every figure null or zero.
 */
export function noReportReason(day: string, i: ReportInputs): string | undefined {
  const present = presentInputs(i);
  if (DAY_SOURCES.some((s) => present[s] !== undefined)) return undefined;
  const also = (['chantiers', 'referentiel'] as const).filter((s) => present[s] !== undefined);
  return (
    `no report for ${day}: no ${DAY_SOURCES.join(', ')} data that day` +
    (also.length ? ` (${also.join(' and ')} alone make no report)` : '')
  );
}

/** `day` minus `n` days (calendar arithmetic on the date label, independent of time zones). */
export function shiftDay(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/**
 * Relative change in %: (current − previous) / |previous| × 100. Both 0 → 0; previous 0 and current
 * not → null (undefined ratio); either null → null. |previous| keeps the sign meaning "went up/down"
 * for negative figures (temperatures).
 */
export function percentChange(current: number | null, previous: number | null): number | null {
  if (current === null || previous === null) return null;
  if (previous === 0) return current === 0 ? 0 : null;
  return ((current - previous) / Math.abs(previous)) * 100;
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function weatherLine(w: NonNullable<WeatherMetrics['metrics']>): string {
  const f = (x: number) => x.toFixed(1);
  return `${f(w.temp_moyenne)} °C (${f(w.temp_min)} à ${f(w.temp_max)} °C), ${f(w.precip_totale)} mm, vent ${f(
    w.vent_moyen,
  )} km/h, ${w.conditions}`;
}

function summaryOf(i: ReportInputs): ReportSummary {
  const g = i.comptages?.global_metrics;
  const w = i.weather?.metrics ?? null;
  return {
    total_vehicules_paris: g ? g.total_vehicules_jour : null,
    temps_perdu_total_minutes: g ? g.temps_perdu_total_minutes : null,
    nombre_troncons_satures: g ? g.nombre_troncons_satures : null,
    taux_disponibilite_capteurs: g ? g.taux_disponibilite_capteurs : null,
    total_velos_paris: i.bikes ? i.bikes.total_velos : null,
    perturbations_actives: i.traffic ? i.traffic.active_disruptions_count : null,
    chantiers_actifs: i.chantiers ? i.chantiers.total_chantiers_actifs : null,
    temperature_moyenne: w ? w.temp_moyenne : null,
    meteo_resume: w ? weatherLine(w) : null,
  };
}

/** Road sensors (comptages) then bike counters, each sorted by id. */
function failingSensors(i: ReportInputs): ReportFailingSensor[] {
  const road: ReportFailingSensor[] = (i.comptages?.capteurs_defaillants ?? [])
    .map((s) => ({
      type: 'route' as const,
      identifiant: s.arc_id,
      libelle: s.libelle,
      raisons: [...s.raisons],
    }))
    .sort((a, b) => byString(a.identifiant, b.identifiant));
  const names = new Map((i.bikes?.metrics ?? []).map((m) => [m.id_compteur, m.nom_compteur]));
  const bikes: ReportFailingSensor[] = Object.entries(i.bikes?.failing_reasons ?? {})
    .filter(([, reasons]) => reasons.length > 0)
    .map(([id, reasons]) => ({
      type: 'velo' as const,
      identifiant: id,
      libelle: names.get(id) ?? '',
      raisons: [...reasons],
    }))
    .sort((a, b) => byString(a.identifiant, b.identifiant));
  return [...road, ...bikes];
}

function perturbationsOf(t: TrafficMetrics | undefined): DailyReport['perturbations'] {
  if (!t) return null;
  return {
    total: t.total_disruptions_count,
    actives: t.active_disruptions_count,
    par_severite: { ...t.disruptions_by_severity },
    indice_fiabilite: t.reliability_index,
    duree_totale_heures: t.duree_totale_heures,
    lignes_impactees: t.top_lignes_impactees.map((l) => ({ ligne: l.ligne, perturbations: l.count })),
    nombre_alertes: t.alerts.length,
    alertes: t.alerts.slice(0, MAX_DISRUPTION_ALERTS).map((a) => ({
      id: a.id,
      severite: a.severity,
      priorite: a.priority,
      duree_heures: a.duration_hours,
      lignes: [...a.lignes],
    })),
  };
}

function meteoOf(w: WeatherMetrics | undefined): DailyReport['meteo'] {
  if (!w?.metrics) return null;
  const m = w.metrics;
  return {
    date: m.date,
    temp_moyenne: m.temp_moyenne,
    temp_min: m.temp_min,
    temp_max: m.temp_max,
    precip_totale: m.precip_totale,
    vent_moyen: m.vent_moyen,
    conditions: m.conditions,
    impact_mobilite: m.impact_mobilite,
    categories: [...w.categories],
    source: w.source,
    note: w.note,
  };
}

function referentielOf(i: ReportInputs): DailyReport['referentiel'] {
  if (!i.referentiel) return null;
  const arcs = i.comptages?.metrics ?? [];
  return {
    nombre_troncons: i.referentiel.statistiques.nombre_troncons,
    longueur_totale_metres: i.referentiel.statistiques.longueur_totale_metres,
    // An arc's length came from the référentiel exactly when the arc is in it (comptages metrics).
    couverture_troncons_mesures:
      i.comptages && arcs.length > 0
        ? (100 * arcs.filter((a) => a.source_longueur === 'referentiel').length) / arcs.length
        : null,
  };
}

/** Each summary figure against the report of D−7; unavailable when that report is absent or not D−7's. */
export function evolutionOf(day: string, summary: ReportSummary, previousWeek?: DailyReport): Evolution {
  const ref = shiftDay(day, -7);
  if (!previousWeek) return { available: false, date_reference: ref, note: `no report for ${ref}` };
  if (previousWeek.date !== ref)
    return {
      available: false,
      date_reference: ref,
      note: `no report for ${ref} (the report given is for ${previousWeek.date})`,
    };
  // A figure whose source was missing on D−7 is no value (a report written before missing sources
  // were nulls may still hold a 0 there).
  const missingBefore = new Set(previousWeek.sources_manquantes);
  const figure = (k: SummaryFigure): EvolutionFigure => {
    const valeur = summary[k];
    const prev = missingBefore.has(FIGURE_SOURCE[k]) ? null : previousWeek.summary[k];
    return { valeur, valeur_semaine_precedente: prev, variation_pct: percentChange(valeur, prev) };
  };
  return {
    available: true,
    date_reference: ref,
    indicateurs: Object.fromEntries(SUMMARY_FIGURES.map((k) => [k, figure(k)])) as Record<
      SummaryFigure,
      EvolutionFigure
    >,
  };
}

export function buildDailyReport(day: string, given: ReportInputs, previousWeek?: DailyReport): DailyReport {
  const inputs = presentInputs(given);
  const summary = summaryOf(inputs);
  const c = inputs.comptages;
  const report: DailyReport = {
    date: day,
    sources_manquantes: REPORT_SOURCES.filter((s: ReportSource) => inputs[s] === undefined),
    summary,
    top_10_troncons: (c?.top_10_troncons ?? []).slice(0, 10).map((t, idx) => ({
      rang: idx + 1,
      arc_id: t.arc_id,
      libelle: t.libelle,
      arrondissement: t.arrondissement,
      debit_journalier_total: t.debit_journalier_total,
      temps_perdu_total_minutes: t.temps_perdu_total_minutes,
      taux_occupation_moyen: t.taux_occupation_moyen,
      etat_trafic_dominant: t.etat_trafic_dominant,
    })),
    top_10_zones: (c?.top_10_zones_congestionnees ?? []).slice(0, 10).map((z, idx) => ({
      rang: idx + 1,
      arrondissement: z.arrondissement,
      nombre_troncons: z.nombre_troncons,
      total_vehicules: z.total_vehicules,
      temps_perdu_total_minutes: z.temps_perdu_total_minutes,
      nombre_troncons_satures: z.nombre_troncons_satures,
      taux_saturation: z.taux_saturation,
    })),
    alertes_congestion: (c?.alertes_congestion ?? []).map((a) => ({
      arc_id: a.arc_id,
      libelle: a.libelle,
      arrondissement: a.arrondissement,
      heures_congestion_max: a.heures_congestion_max,
      taux_occupation_max: a.taux_occupation_max,
      temps_perdu_total_minutes: a.temps_perdu_total_minutes,
      severite: a.severite,
    })),
    capteurs_defaillants: failingSensors(inputs),
    chantiers_actifs: (inputs.chantiers?.chantiers_actifs ?? [])
      .map((w) => ({
        identifiant: w.identifiant,
        typologie: w.typologie,
        impact: w.impact,
        arrondissement: w.arrondissement,
        date_debut: w.date_debut,
        date_fin: w.date_fin,
        surface_m2: w.surface_m2,
      }))
      .sort((a, b) => byString(a.identifiant, b.identifiant)),
    perturbations: perturbationsOf(inputs.traffic),
    meteo: meteoOf(inputs.weather),
    referentiel: referentielOf(inputs),
    evolution_vs_semaine_precedente: evolutionOf(day, summary, previousWeek),
  };
  // Validates our own output (a metrics document that broke its schema would fail here, loudly).
  return DailyReportSchema.parse(report);
}
