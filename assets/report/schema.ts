/**
 * Shape of the daily report (`daily_report`, one per Paris day). Every column is documented in
 * docs/report.md. The report has its own schemas (not the metrics modules'), so its contract stays
 * stable when a metrics document gains fields. There is no `generated_at`: the report is a pure
 * function of its inputs, and re-running a day must write byte-identical JSON and CSV.
 */
import { z } from 'zod';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
const nonNegative = z.number().nonnegative();
const percent = z.number().min(0).max(100);

export const REPORT_SOURCES = [
  'bikes',
  'traffic',
  'weather',
  'comptages',
  'chantiers',
  'referentiel',
] as const;
export const ReportSourceSchema = z.enum(REPORT_SOURCES);
export type ReportSource = z.infer<typeof ReportSourceSchema>;

/** Numeric summary figures: the ones compared with the week before. null = source missing. */
export const SUMMARY_FIGURES = [
  'total_vehicules_paris',
  'temps_perdu_total_minutes',
  'nombre_troncons_satures',
  'taux_disponibilite_capteurs',
  'total_velos_paris',
  'perturbations_actives',
  'chantiers_actifs',
  'temperature_moyenne',
] as const;
export type SummaryFigure = (typeof SUMMARY_FIGURES)[number];

/** The source each numeric summary figure comes from (compared with D−7 only when both days have it). */
export const FIGURE_SOURCE: Record<SummaryFigure, ReportSource> = {
  total_vehicules_paris: 'comptages',
  temps_perdu_total_minutes: 'comptages',
  nombre_troncons_satures: 'comptages',
  taux_disponibilite_capteurs: 'comptages',
  total_velos_paris: 'bikes',
  perturbations_actives: 'traffic',
  chantiers_actifs: 'chantiers',
  temperature_moyenne: 'weather',
};

/**
 * The sources that measure the day. Without any of them there is no report for the day (the works
 * list and the référentiel are the same files every day: alone, they would make a report of nothing).
 */
export const DAY_SOURCES = [
  'bikes',
  'traffic',
  'weather',
  'comptages',
] as const satisfies readonly ReportSource[];

export const SummarySchema = z.object({
  total_vehicules_paris: nonNegative.nullable(),
  temps_perdu_total_minutes: nonNegative.nullable(),
  nombre_troncons_satures: z.number().int().nonnegative().nullable(),
  taux_disponibilite_capteurs: percent.nullable(),
  total_velos_paris: nonNegative.nullable(),
  perturbations_actives: z.number().int().nonnegative().nullable(),
  chantiers_actifs: z.number().int().nonnegative().nullable(),
  temperature_moyenne: z.number().nullable(),
  /** One line, e.g. "11.6 °C (7.3 à 15.6 °C), 0.0 mm, vent 15.5 km/h, Partially cloudy". */
  meteo_resume: z.string().nullable(),
});

export const ReportTronconSchema = z.object({
  rang: z.number().int().positive(),
  arc_id: z.string(),
  libelle: z.string(),
  arrondissement: z.string().nullable(),
  debit_journalier_total: nonNegative,
  temps_perdu_total_minutes: nonNegative,
  taux_occupation_moyen: percent.nullable(),
  etat_trafic_dominant: z.string(),
});

export const ReportZoneSchema = z.object({
  rang: z.number().int().positive(),
  arrondissement: z.string(),
  nombre_troncons: z.number().int().positive(),
  total_vehicules: nonNegative,
  temps_perdu_total_minutes: nonNegative,
  nombre_troncons_satures: z.number().int().nonnegative(),
  taux_saturation: percent,
});

export const ReportCongestionAlertSchema = z.object({
  arc_id: z.string(),
  libelle: z.string(),
  arrondissement: z.string().nullable(),
  heures_congestion_max: z.number().int().min(0).max(24),
  taux_occupation_max: percent,
  temps_perdu_total_minutes: nonNegative,
  severite: z.string(),
});

export const ReportFailingSensorSchema = z.object({
  /** `route` = road-count arc sensor, `velo` = bike counter. */
  type: z.enum(['route', 'velo']),
  identifiant: z.string(),
  libelle: z.string(),
  /** Reason codes of the metrics module (e.g. heures_insuffisantes, debit_constant, too_few_hours). */
  raisons: z.array(z.string()).min(1),
});

export const ReportChantierSchema = z.object({
  identifiant: z.string(),
  typologie: z.string(),
  impact: z.string(),
  arrondissement: z.string().nullable(),
  date_debut: z.string(),
  date_fin: z.string(),
  surface_m2: nonNegative,
});

const SeveritySchema = z.enum(['CRITIQUE', 'ELEVEE', 'MOYENNE', 'FAIBLE']);

export const ReportDisruptionAlertSchema = z.object({
  id: z.string(),
  severite: SeveritySchema,
  priorite: z.number(),
  duree_heures: nonNegative,
  lignes: z.array(z.string()),
});

export const PerturbationsSchema = z.object({
  total: z.number().int().nonnegative(),
  actives: z.number().int().nonnegative(),
  par_severite: z.object({
    CRITIQUE: z.number().int().nonnegative(),
    ELEVEE: z.number().int().nonnegative(),
    MOYENNE: z.number().int().nonnegative(),
    FAIBLE: z.number().int().nonnegative(),
  }),
  indice_fiabilite: percent,
  duree_totale_heures: nonNegative,
  lignes_impactees: z.array(z.object({ ligne: z.string(), perturbations: z.number().int().positive() })),
  nombre_alertes: z.number().int().nonnegative(),
  /** The first MAX_DISRUPTION_ALERTS alerts in the metrics' order (severity, then duration). */
  alertes: z.array(ReportDisruptionAlertSchema),
});

export const MeteoSchema = z.object({
  date: day,
  temp_moyenne: z.number(),
  temp_min: z.number(),
  temp_max: z.number(),
  precip_totale: nonNegative,
  vent_moyen: nonNegative,
  conditions: z.string(),
  impact_mobilite: percent,
  categories: z.array(z.string()),
  source: z.string().nullable(),
  note: z.string().nullable(),
});

export const ReferentielSummarySchema = z.object({
  nombre_troncons: z.number().int().nonnegative(),
  longueur_totale_metres: nonNegative,
  /** Share (%) of the day's measured arcs found in the référentiel; null without road counts. */
  couverture_troncons_mesures: percent.nullable(),
});

export const EvolutionFigureSchema = z.object({
  valeur: z.number().nullable(),
  valeur_semaine_precedente: z.number().nullable(),
  /** (valeur − précédente) / précédente × 100; null when either is null or the previous is 0 and the current is not. */
  variation_pct: z.number().nullable(),
});

export const EvolutionSchema = z.discriminatedUnion('available', [
  z.object({
    available: z.literal(true),
    date_reference: day,
    indicateurs: z.object(
      Object.fromEntries(SUMMARY_FIGURES.map((k) => [k, EvolutionFigureSchema])) as Record<
        SummaryFigure,
        typeof EvolutionFigureSchema
      >,
    ),
  }),
  z.object({ available: z.literal(false), date_reference: day, note: z.string() }),
]);

export const DailyReportSchema = z.object({
  date: day,
  /** Inputs that were absent for this day (their figures are null and their sections empty). */
  sources_manquantes: z.array(ReportSourceSchema),
  summary: SummarySchema,
  top_10_troncons: z.array(ReportTronconSchema).max(10),
  top_10_zones: z.array(ReportZoneSchema).max(10),
  alertes_congestion: z.array(ReportCongestionAlertSchema),
  capteurs_defaillants: z.array(ReportFailingSensorSchema),
  chantiers_actifs: z.array(ReportChantierSchema),
  perturbations: PerturbationsSchema.nullable(),
  meteo: MeteoSchema.nullable(),
  referentiel: ReferentielSummarySchema.nullable(),
  evolution_vs_semaine_precedente: EvolutionSchema,
});

export type DailyReport = z.infer<typeof DailyReportSchema>;
export type ReportSummary = z.infer<typeof SummarySchema>;
export type Evolution = z.infer<typeof EvolutionSchema>;
export type EvolutionFigure = z.infer<typeof EvolutionFigureSchema>;
export type ReportFailingSensor = z.infer<typeof ReportFailingSensorSchema>;
