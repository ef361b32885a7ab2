/**
 * Shape of the `comptages_metrics` document (one per Paris day). Field meanings, units and formulas
 * are documented in docs/metrics-comptages.md.
 */
import { z } from 'zod';
import { ETATS_TRAFIC } from './normalize.ts';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
const nonNegative = z.number().nonnegative();
const percent = z.number().min(0).max(100);
const hour = z.number().int().min(0).max(23);

export const LengthSourceSchema = z.enum(['referentiel', 'geo_shape', 'defaut']);

export const ArcMetricsSchema = z.object({
  arc_id: z.string().min(1),
  libelle: z.string(),
  date: day,
  heures_mesurees: z.number().int().min(0).max(24),
  debit_journalier_total: nonNegative,
  debit_horaire_moyen: nonNegative.nullable(),
  debit_max: nonNegative.nullable(),
  taux_occupation_moyen: percent.nullable(),
  heure_pic: hour.nullable(),
  etat_trafic_dominant: z.enum(ETATS_TRAFIC),
  longueur_metres: z.number().positive(),
  source_longueur: LengthSourceSchema,
  arrondissement: z.string().nullable(),
  temps_perdu_total_minutes: nonNegative,
  heures_congestion_max: z.number().int().min(0).max(24),
  congestion_alerte: z.boolean(),
  capteur_defaillant: z.boolean(),
});

export const GlobalComptagesSchema = z.object({
  date: day,
  total_vehicules_jour: nonNegative,
  temps_perdu_total_minutes: nonNegative,
  nombre_troncons: z.number().int().nonnegative(),
  nombre_troncons_satures: z.number().int().nonnegative(),
  nombre_capteurs_defaillants: z.number().int().nonnegative(),
  taux_disponibilite_capteurs: percent.nullable(),
  moyenne_debit_par_troncon: nonNegative.nullable(),
  troncons_sans_arrondissement: z.number().int().nonnegative(),
});

export const TopTronconSchema = z.object({
  arc_id: z.string(),
  libelle: z.string(),
  debit_journalier_total: nonNegative,
  temps_perdu_total_minutes: nonNegative,
  taux_occupation_moyen: percent.nullable(),
  etat_trafic_dominant: z.enum(ETATS_TRAFIC),
  arrondissement: z.string().nullable(),
});

export const ZoneSchema = z.object({
  arrondissement: z.string(),
  nombre_troncons: z.number().int().positive(),
  total_vehicules: nonNegative,
  temps_perdu_total_minutes: nonNegative,
  nombre_troncons_satures: z.number().int().nonnegative(),
  taux_saturation: percent,
});

export const AlertSeveritySchema = z.enum(['CRITIQUE', 'ELEVEE', 'MOYENNE']);

export const CongestionAlertSchema = z.object({
  arc_id: z.string(),
  libelle: z.string(),
  arrondissement: z.string().nullable(),
  heures_congestion_max: z.number().int().min(2).max(24),
  taux_occupation_max: percent,
  temps_perdu_total_minutes: nonNegative,
  severite: AlertSeveritySchema,
});

export const SensorFailureReasonSchema = z.enum(['heures_insuffisantes', 'debit_constant']);

export const FailingSensorSchema = z.object({
  arc_id: z.string(),
  libelle: z.string(),
  raisons: z.array(SensorFailureReasonSchema).min(1),
  heures_mesurees: z.number().int().min(0).max(24),
});

export const ComptagesMetricsSchema = z.object({
  date: day,
  global_metrics: GlobalComptagesSchema,
  /** One entry per arc with at least one row on the day, sorted by arc id. */
  metrics: z.array(ArcMetricsSchema),
  top_10_troncons: z.array(TopTronconSchema).max(10),
  top_10_zones_congestionnees: z.array(ZoneSchema).max(10),
  alertes_congestion: z.array(CongestionAlertSchema),
  capteurs_defaillants: z.array(FailingSensorSchema),
});

export type ArcMetrics = z.infer<typeof ArcMetricsSchema>;
export type GlobalComptages = z.infer<typeof GlobalComptagesSchema>;
export type ComptagesMetrics = z.infer<typeof ComptagesMetricsSchema>;
export type CongestionAlert = z.infer<typeof CongestionAlertSchema>;
export type FailingSensor = z.infer<typeof FailingSensorSchema>;
export type ZoneMetrics = z.infer<typeof ZoneSchema>;
export type TopTroncon = z.infer<typeof TopTronconSchema>;
