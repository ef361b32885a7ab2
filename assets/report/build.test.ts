import { describe, expect, it } from 'vitest';
import {
  buildDailyReport,
  DailyReportSchema,
  missingSources,
  noReportReason,
  percentChange,
  shiftDay,
} from './build.ts';
import { reportToCsv } from './csv.ts';
import {
  allInputs,
  bikes,
  chantiers,
  comptages,
  DAY,
  referentiel,
  traffic,
  weather,
} from './test-fixtures.ts';

describe('buildDailyReport', () => {
  it('summarises the day from hand-made metrics documents', () => {
    const r = buildDailyReport(DAY, allInputs());
    expect(r.sources_manquantes).toEqual([]);
    expect(r.summary).toEqual({
      total_vehicules_paris: 30_000, // comptages global total_vehicules_jour
      temps_perdu_total_minutes: 900, // comptages global temps_perdu_total_minutes
      nombre_troncons_satures: 1,
      taux_disponibilite_capteurs: 66.66666666666667, // 2 of 3 road sensors working = 200/3 %
      total_velos_paris: 1200, // bikes total_velos (991 + 209)
      perturbations_actives: 4, // traffic active_disruptions_count
      chantiers_actifs: 2, // chantiers total_chantiers_actifs
      temperature_moyenne: 11.6,
      // toFixed(1) of temp, min, max, precip, wind + conditions
      meteo_resume: '11.6 °C (7.3 à 15.6 °C), 0.0 mm, vent 15.5 km/h, Partially cloudy',
    });
    expect(r.top_10_troncons.map((t) => [t.rang, t.arc_id, t.debit_journalier_total])).toEqual([
      [1, '4264', 20_000],
      [2, '5671', 10_000],
    ]);
    expect(r.top_10_zones).toEqual([
      {
        rang: 1,
        arrondissement: '75008',
        nombre_troncons: 1,
        total_vehicules: 20_000,
        temps_perdu_total_minutes: 900,
        nombre_troncons_satures: 1,
        taux_saturation: 100,
      },
    ]);
    expect(r.alertes_congestion.map((a) => [a.arc_id, a.heures_congestion_max, a.severite])).toEqual([
      ['4264', 2, 'MOYENNE'],
    ]);
  });

  it('lists failing road sensors then bike counters, with type, label and reasons', () => {
    const r = buildDailyReport(DAY, allInputs());
    expect(r.capteurs_defaillants).toEqual([
      { type: 'route', identifiant: '5671', libelle: 'Convention', raisons: ['heures_insuffisantes'] },
      {
        type: 'velo',
        identifiant: '100003096-353242251',
        libelle: '97 avenue Denfert Rochereau SO-NE',
        raisons: ['too_few_hours'],
      },
    ]);
  });

  it('carries works (sorted by id), disruptions, weather and the référentiel', () => {
    const r = buildDailyReport(DAY, allInputs());
    expect(r.chantiers_actifs.map((c) => [c.identifiant, c.impact, c.arrondissement])).toEqual([
      ['CP002664', 'IMPASSE', null],
      ['CP002669', 'RESTREINTE', '75010'],
    ]);
    expect(r.perturbations).toMatchObject({
      total: 6,
      actives: 4,
      par_severite: { CRITIQUE: 1, ELEVEE: 2, MOYENNE: 0, FAIBLE: 1 },
      nombre_alertes: 2,
      lignes_impactees: [
        { ligne: '1', perturbations: 2 },
        { ligne: '8', perturbations: 1 },
      ],
    });
    expect(r.perturbations?.alertes[1]).toEqual({
      id: 'a-2',
      severite: 'ELEVEE',
      priorite: 30,
      duree_heures: 3.5,
      lignes: ['1', '8'],
    });
    expect(r.meteo).toMatchObject({ date: DAY, temp_moyenne: 11.6, impact_mobilite: 50, source: 'daily' });
    // 2 of the 3 measured arcs took their length from the référentiel (376 used its geo_shape).
    expect(r.referentiel).toEqual({
      nombre_troncons: 1438,
      longueur_totale_metres: 265_000.5,
      couverture_troncons_mesures: 66.66666666666667,
    });
  });

  it('survives every input missing: null figures, empty sections, sources listed', () => {
    const r = buildDailyReport(DAY, {});
    expect(r.sources_manquantes).toEqual([
      'bikes',
      'traffic',
      'weather',
      'comptages',
      'chantiers',
      'referentiel',
    ]);
    expect(Object.values(r.summary).every((v) => v === null)).toBe(true);
    expect(r.top_10_troncons).toEqual([]);
    expect(r.capteurs_defaillants).toEqual([]);
    expect(r.perturbations).toBeNull();
    expect(r.meteo).toBeNull();
    expect(r.referentiel).toBeNull();
    expect(DailyReportSchema.safeParse(r).success).toBe(true);
  });

  it('keeps bikes when only the bikes document is missing (the original crashed)', () => {
    const { bikes: _omit, ...rest } = allInputs();
    const r = buildDailyReport(DAY, rest);
    expect(r.sources_manquantes).toEqual(['bikes']);
    expect(r.summary.total_velos_paris).toBeNull();
    expect(r.capteurs_defaillants.map((c) => c.type)).toEqual(['route']);
  });

  it('treats a weather document without a day summary as missing weather', () => {
    const w = { ...weather(), metrics: null, impact_mobilite: null, source: null, note: 'no weather data' };
    const r = buildDailyReport(DAY, { ...allInputs(), weather: w });
    expect(r.sources_manquantes).toEqual(['weather']);
    expect(r.summary.temperature_moyenne).toBeNull();
    expect(r.summary.meteo_resume).toBeNull();
    expect(r.meteo).toBeNull();
  });

  it('a document that measured nothing on D is missing, not zeros (bikes, road counts, référentiel)', () => {
    const noCounter = {
      ...bikes(0),
      metrics: [],
      top_counters: [],
      failing_sensors: [],
      failing_reasons: {},
    };
    const c = comptages();
    const noArc = {
      ...c,
      global_metrics: { ...c.global_metrics, nombre_troncons: 0, total_vehicules_jour: 0 },
      metrics: [],
      top_10_troncons: [],
      top_10_zones_congestionnees: [],
      alertes_congestion: [],
      capteurs_defaillants: [],
    };
    const inputs = {
      ...allInputs(),
      bikes: { ...noCounter, nombre_compteurs: 0 },
      comptages: noArc,
      referentiel: { statistiques: { nombre_troncons: 0, longueur_totale_metres: 0 } },
    };
    expect(missingSources(inputs)).toEqual(['bikes', 'comptages', 'referentiel']);
    const r = buildDailyReport(DAY, inputs);
    expect(r.sources_manquantes).toEqual(['bikes', 'comptages', 'referentiel']);
    expect(r.summary.total_velos_paris).toBeNull();
    expect(r.summary.total_vehicules_paris).toBeNull();
    expect(r.summary.taux_disponibilite_capteurs).toBeNull();
    expect(r.referentiel).toBeNull();
    // A disruption feed listing nothing and a works file with no active work are real zeros.
    const quiet = buildDailyReport(DAY, { ...allInputs(), traffic: traffic(0) });
    expect(quiet.sources_manquantes).toEqual([]);
    expect(quiet.summary.perturbations_actives).toBe(0);
  });
});

describe('a day without measurements', () => {
  it('has no report when none of bikes, traffic, weather, comptages has data', () => {
    expect(noReportReason(DAY, {})).toBe(
      `no report for ${DAY}: no bikes, traffic, weather, comptages data that day`,
    );
    expect(noReportReason(DAY, { chantiers: chantiers(), referentiel })).toBe(
      `no report for ${DAY}: no bikes, traffic, weather, comptages data that day ` +
        '(chantiers and referentiel alone make no report)',
    );
    const w = { ...weather(), metrics: null, impact_mobilite: null, source: null, note: 'no weather data' };
    expect(noReportReason(DAY, { weather: w, chantiers: chantiers() })).toMatch(/^no report for/);
  });

  it('has a report as soon as one of them has data', () => {
    for (const one of [
      { bikes: bikes() },
      { traffic: traffic() },
      { weather: weather() },
      { comptages: comptages() },
    ])
      expect(noReportReason(DAY, one)).toBeUndefined();
  });
});

describe('evolution_vs_semaine_precedente', () => {
  const previous = () =>
    buildDailyReport('2025-10-28', {
      ...allInputs(),
      comptages: comptages(24_000, 0),
      bikes: bikes(1000),
      traffic: traffic(0),
      weather: weather(-2),
    });

  it('is unavailable, with a note naming D−7, when the week-earlier report is absent', () => {
    const r = buildDailyReport(DAY, allInputs());
    expect(r.evolution_vs_semaine_precedente).toEqual({
      available: false,
      date_reference: '2025-10-28',
      note: 'no report for 2025-10-28',
    });
  });

  it('gives each summary figure, its value a week before and the % change', () => {
    const ev = buildDailyReport(DAY, allInputs(), previous()).evolution_vs_semaine_precedente;
    expect(ev.available).toBe(true);
    if (!ev.available) return;
    expect(ev.date_reference).toBe('2025-10-28');
    // (30000 − 24000) / 24000 × 100 = 25
    expect(ev.indicateurs.total_vehicules_paris).toEqual({
      valeur: 30_000,
      valeur_semaine_precedente: 24_000,
      variation_pct: 25,
    });
    // (1200 − 1000) / 1000 × 100 = 20
    expect(ev.indicateurs.total_velos_paris.variation_pct).toBeCloseTo(20, 10);
    // previous 0, current 900: ratio undefined → null
    expect(ev.indicateurs.temps_perdu_total_minutes).toEqual({
      valeur: 900,
      valeur_semaine_precedente: 0,
      variation_pct: null,
    });
    // previous 0 active disruptions, now 4 → null; identical figures → 0
    expect(ev.indicateurs.perturbations_actives.variation_pct).toBeNull();
    expect(ev.indicateurs.nombre_troncons_satures.variation_pct).toBe(0);
    // (11.6 − (−2)) / |−2| × 100 = 680: warmer reads as an increase
    expect(ev.indicateurs.temperature_moyenne.variation_pct).toBeCloseTo(680, 10);
  });

  it('compares a figure only where both days have its source', () => {
    // D has no bikes; D−7 had no traffic.
    const { bikes: _b, ...noBikes } = allInputs();
    const { traffic: _t, ...noTraffic } = allInputs();
    const before = buildDailyReport('2025-10-28', noTraffic);
    const ev = buildDailyReport(DAY, noBikes, before).evolution_vs_semaine_precedente;
    expect(ev.available).toBe(true);
    if (!ev.available) return;
    expect(ev.indicateurs.total_velos_paris).toEqual({
      valeur: null,
      valeur_semaine_precedente: 1200,
      variation_pct: null,
    });
    expect(ev.indicateurs.perturbations_actives).toEqual({
      valeur: 4,
      valeur_semaine_precedente: null,
      variation_pct: null,
    });
    expect(ev.indicateurs.total_vehicules_paris.variation_pct).toBe(0);
  });

  it('ignores a figure of D−7 whose source that report lists as missing (an old report wrote 0)', () => {
    const old = buildDailyReport('2025-10-28', allInputs());
    const zeroed = {
      ...old,
      sources_manquantes: ['bikes' as const],
      summary: { ...old.summary, total_velos_paris: 0 },
    };
    const ev = buildDailyReport(DAY, allInputs(), zeroed).evolution_vs_semaine_precedente;
    if (!ev.available) throw new Error('expected a comparison');
    expect(ev.indicateurs.total_velos_paris).toEqual({
      valeur: 1200,
      valeur_semaine_precedente: null,
      variation_pct: null,
    });
  });

  it('refuses a report that is not the one of D−7', () => {
    const ev = buildDailyReport('2025-11-05', allInputs(), previous()).evolution_vs_semaine_precedente;
    expect(ev).toEqual({
      available: false,
      date_reference: '2025-10-29',
      note: 'no report for 2025-10-29 (the report given is for 2025-10-28)',
    });
  });

  it('percentChange and shiftDay edge cases', () => {
    expect(percentChange(null, 3)).toBeNull();
    expect(percentChange(3, null)).toBeNull();
    expect(percentChange(0, 0)).toBe(0);
    expect(percentChange(50, 200)).toBe(-75);
    expect(shiftDay('2025-11-04', -7)).toBe('2025-10-28');
    expect(shiftDay('2025-03-31', -7)).toBe('2025-03-24'); // across the spring DST change
    expect(shiftDay('2024-03-01', -1)).toBe('2024-02-29');
  });
});

describe('determinism', () => {
  it('re-running gives byte-identical JSON and CSV', () => {
    const a = buildDailyReport(DAY, allInputs(), buildDailyReport('2025-10-28', allInputs()));
    const b = buildDailyReport(DAY, allInputs(), buildDailyReport('2025-10-28', allInputs()));
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(reportToCsv(b)).toBe(reportToCsv(a));
    expect(JSON.stringify(a)).not.toMatch(/generated_at/);
  });
});
