/**
 * Small hand-made metrics documents for the report tests (each valid against its metrics schema).
 * Figures are chosen so the expected report values can be checked by hand (see the tests).
 */
import type { BikesMetrics } from '../bikes/metrics.ts';
import type { ChantiersMetrics } from '../chantiers/metrics.ts';
import type { ComptagesMetrics } from '../comptages/metrics-schema.ts';
import type { TrafficMetrics } from '../traffic/metrics.ts';
import type { WeatherMetrics } from '../weather/metrics.ts';
import type { ReportInputs } from './build.ts';

export const DAY = '2025-11-04';

const arc = (arc_id: string, libelle: string, over: Partial<ComptagesMetrics['metrics'][number]> = {}) => ({
  arc_id,
  libelle,
  date: DAY,
  heures_mesurees: 24,
  debit_journalier_total: 1000,
  debit_horaire_moyen: 1000 / 24,
  debit_max: 100,
  taux_occupation_moyen: 20,
  heure_pic: 8,
  etat_trafic_dominant: 'Fluide' as const,
  longueur_metres: 500,
  source_longueur: 'referentiel' as const,
  arrondissement: '75008',
  temps_perdu_total_minutes: 0,
  heures_congestion_max: 0,
  congestion_alerte: false,
  capteur_defaillant: false,
  ...over,
});

export function comptages(totalVehicles = 30_000, lostMinutes = 900): ComptagesMetrics {
  return {
    date: DAY,
    global_metrics: {
      date: DAY,
      total_vehicules_jour: totalVehicles,
      temps_perdu_total_minutes: lostMinutes,
      nombre_troncons: 3,
      nombre_troncons_satures: 1,
      nombre_capteurs_defaillants: 1,
      taux_disponibilite_capteurs: 66.66666666666667,
      moyenne_debit_par_troncon: totalVehicles / 3,
      troncons_sans_arrondissement: 0,
    },
    metrics: [
      arc('376', 'St_Antoine', { arrondissement: '75004', source_longueur: 'geo_shape' }),
      arc('4264', 'AV_Champs_Elysees', { congestion_alerte: true, heures_congestion_max: 2 }),
      arc('5671', 'Convention', { arrondissement: '75015', capteur_defaillant: true, heures_mesurees: 10 }),
    ],
    top_10_troncons: [
      {
        arc_id: '4264',
        libelle: 'AV_Champs_Elysees',
        debit_journalier_total: 20_000,
        temps_perdu_total_minutes: 900,
        taux_occupation_moyen: 85.5,
        etat_trafic_dominant: 'Bloqué',
        arrondissement: '75008',
      },
      {
        arc_id: '5671',
        libelle: 'Convention',
        debit_journalier_total: 10_000,
        temps_perdu_total_minutes: 0,
        taux_occupation_moyen: null,
        etat_trafic_dominant: 'Fluide',
        arrondissement: '75015',
      },
    ],
    top_10_zones_congestionnees: [
      {
        arrondissement: '75008',
        nombre_troncons: 1,
        total_vehicules: 20_000,
        temps_perdu_total_minutes: 900,
        nombre_troncons_satures: 1,
        taux_saturation: 100,
      },
    ],
    alertes_congestion: [
      {
        arc_id: '4264',
        libelle: 'AV_Champs_Elysees',
        arrondissement: '75008',
        heures_congestion_max: 2,
        taux_occupation_max: 94.80667,
        temps_perdu_total_minutes: 900,
        severite: 'MOYENNE',
      },
    ],
    capteurs_defaillants: [
      { arc_id: '5671', libelle: 'Convention', raisons: ['heures_insuffisantes'], heures_mesurees: 10 },
    ],
  };
}

const counter = (id: string, nom: string, total: number, defaillant: boolean) => ({
  date: DAY,
  id_compteur: id,
  nom_compteur: nom,
  total_jour: total,
  heures_mesurees: defaillant ? 14 : 24,
  moyenne_horaire: total / (defaillant ? 14 : 24),
  pic_horaire: 8,
  arrondissement: '75014',
  coordinates: { lon: 2.33314, lat: 48.83504 },
  anomalie_detectee: false,
  defaillant,
});

export function bikes(total = 1200): BikesMetrics {
  const a = counter('100003096-353242251', '97 avenue Denfert Rochereau SO-NE', 991, true);
  const b = counter('100007049-101007049', '28 boulevard Diderot; O-E "test"', total - 991, false);
  return {
    date: DAY,
    metrics: [a, b],
    failing_sensors: ['100003096-353242251'],
    failing_reasons: { '100003096-353242251': ['too_few_hours'] },
    anomalies: [],
    top_counters: [b],
    total_velos: total,
    nombre_compteurs: 2,
    frequentation_index: (total / 100_000) * 100,
  };
}

export function traffic(active = 4): TrafficMetrics {
  return {
    date: DAY,
    reliability_index: 95.83333333333333,
    active_disruptions_count: active,
    total_disruptions_count: 6,
    disruptions_by_severity: { CRITIQUE: 1, ELEVEE: 2, MOYENNE: 0, FAIBLE: 1 },
    top_lignes_impactees: [
      { ligne: '1', count: 2 },
      { ligne: '8', count: 1 },
    ],
    alerts: [
      { id: 'a-1', priority: 60, severity: 'CRITIQUE', duration_hours: 24, lignes: ['1'] },
      { id: 'a-2', priority: 30, severity: 'ELEVEE', duration_hours: 3.5, lignes: ['1', '8'] },
    ],
    duree_totale_heures: 51.5,
    heures_ligne_perturbees: 14,
    heures_ligne_total: 336,
  };
}

export function weather(temp = 11.6): WeatherMetrics {
  return {
    date: DAY,
    metrics: {
      date: DAY,
      temp_moyenne: temp,
      temp_min: 7.3,
      temp_max: 15.6,
      precip_totale: 0,
      vent_moyen: 15.5,
      conditions: 'Partially cloudy',
      impact_mobilite: 50,
    },
    impact_mobilite: 50,
    categories: [],
    source: 'daily',
    heures_utilisees: null,
    note: null,
  };
}

export function chantiers(): ChantiersMetrics {
  const w = (identifiant: string, impact: string, arrondissement: string | null) => ({
    identifiant,
    typologie: '2',
    impact,
    arrondissement,
    date_debut: '2025-09-01',
    date_fin: '2025-12-19',
    surface_m2: 120.5,
  });
  return {
    date: DAY,
    // Deliberately out of id order: the report sorts them.
    chantiers_actifs: [w('CP002669', 'RESTREINTE', '75010'), w('CP002664', 'IMPASSE', null)],
    impact_by_arrondissement: { '75010': 50, Unknown: 80 },
    zones_critiques: [],
    surface_totale_impactee_m2: 241,
    total_chantiers_actifs: 2,
  };
}

export const referentiel = { statistiques: { nombre_troncons: 1438, longueur_totale_metres: 265_000.5 } };

export function allInputs(): ReportInputs {
  return {
    bikes: bikes(),
    traffic: traffic(),
    weather: weather(),
    comptages: comptages(),
    chantiers: chantiers(),
    referentiel,
  };
}
