import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { QuarantineCollector } from '../../engine/quarantine.ts';
import { ArcDayAccumulator } from './aggregate.ts';
import type { ArcDay } from './arc-day.ts';
import { comptagesChecks } from './checks.ts';
import {
  ComptagesMetricsSchema,
  computeComptagesMetrics,
  lostMinutesPerVehicleKm,
  type ComptagesMetrics,
} from './metrics.ts';
import { parseComptagesFile } from './parse.ts';

const REAL = fileURLToPath(
  new URL('../../test/fixtures/real/comptages-routiers-permanents/', import.meta.url),
);
const HANDMADE = fileURLToPath(new URL('../../test/fixtures/comptages/', import.meta.url));

async function accumulate(path: string): Promise<ArcDayAccumulator> {
  const acc = new ArcDayAccumulator();
  await parseComptagesFile({ path, key: path }, new QuarantineCollector().add, (r) => acc.add(r));
  return acc;
}

describe('computeComptagesMetrics on real slices', () => {
  let champs: ArcDayAccumulator;
  let convention: ArcDayAccumulator;
  beforeAll(async () => {
    champs = await accumulate(REAL + 'champs-elysees_arc4264_2023-2024_export.csv');
    convention = await accumulate(REAL + 'convention_arc5671_2021-2022_export.csv');
  });

  it('arc 4264 on 2024-03-04: a full day, lost time from the shape length (not in the référentiel slice)', () => {
    /*
     * The 24 rows of 2024-03-04 (Paris hours), flow / occupancy %:
     *  0: 868/12.21  1: 793/10.83  2: 508/6.35   3: 407/5.26   4: 286/4.06   5: 218/2.28
     *  6: 354/4.27   7: 827/9.86   8: 1329/15.28 9: 1475/18.88 10: 1538/19.84 11: 1452/22.59
     * 12: 1350/28.88 13: 1447/34.36 14: 1365/33.38 15: 1311/32.17 16: 1201/38.16 17: 1226/27.92
     * 18: 1154/24.84 19: 1493/30.47 20: 1254/21.63 21: 1143/18.72 22: 870/15.86 23: 742/11.85
     * States: Pré-saturé ×10, Fluide ×9, Saturé ×5.
     * total = 24,611; mean = 24,611 / 24 = 1,025.458…; max 1,538 at 10 h; mean occupancy 18.74785 (Python).
     * L = haversine of the row's 2-vertex LineString = 119.186358 m.
     * Lost: hours 13, 14, 15, 16, 19 are in the 30–50 % band (0.3 min/veh/km), the others < 30 % (0):
     *   0.3 × 0.119186358 × (1447 + 1365 + 1311 + 1201 + 1493 = 6817) = 243.7480 min.
     */
    const doc = computeComptagesMetrics(champs.arcDays('2024-03-04'), '2024-03-04');
    expect(doc.metrics).toHaveLength(1);
    const m = doc.metrics[0]!;
    expect(m).toMatchObject({
      arc_id: '4264',
      libelle: 'AV_Champs_Elysees',
      date: '2024-03-04',
      heures_mesurees: 24,
      debit_journalier_total: 24611,
      debit_max: 1538,
      heure_pic: 10,
      etat_trafic_dominant: 'Pré-saturé',
      source_longueur: 'geo_shape',
      arrondissement: '75008', // official polygon of the 8th (Élysée) contains 48.8715 N, 2.3017 E
      heures_congestion_max: 0,
      congestion_alerte: false,
      capteur_defaillant: false,
    });
    expect(m.debit_horaire_moyen).toBeCloseTo(1025.4583333, 6);
    expect(m.taux_occupation_moyen).toBeCloseTo(18.74784958, 6);
    expect(m.longueur_metres).toBeCloseTo(119.186358, 5);
    expect(m.temps_perdu_total_minutes).toBeCloseTo(243.748021, 5);
    expect(doc.alertes_congestion).toEqual([]);
    expect(doc.capteurs_defaillants).toEqual([]);
    expect(doc.global_metrics).toMatchObject({
      total_vehicules_jour: 24611,
      nombre_troncons: 1,
      taux_disponibilite_capteurs: 100,
    });
    expect(() => ComptagesMetricsSchema.parse(doc)).not.toThrow();
  });

  it('arc 4264 on 2023-11-02: congestion alert and a failing sensor (10 hours of data)', () => {
    /*
     * Rows (hour: flow/occupancy): 2: 834/46.48 3: 864/48.22 4: 614/51.55 5: 403/95.37 7: 772/94.81
     * 8: 627/93.97 10: 1256/80.33 12: 1135/(empty) 13: 898/91.44 14: 886/86.69; Bloqué ×7.
     * Occupancy ≥ 80 at 5, 7, 8, 10, 13, 14 → longest consecutive runs 7–8 and 13–14 = 2 h → alert (MOYENNE).
     * Lost = 0.119186358 × (0.3 × (834 + 864) + 0.8 × 614 + 1.8 × (403 + 772 + 627 + 1256 + 898 + 886))
     *      = 0.119186358 × (509.4 + 491.2 + 8715.6) = 0.119186358 × 9716.2 = 1158.0385 min
     * (hour 12 has no occupancy, so it adds nothing). Total 8,289 over 10 h.
     * Mean occupancy = (46.48056 + 48.22056 + 51.55167 + 95.37 + 94.80667 + 93.96722 + 80.32611
     *                   + 91.43556 + 86.68834) / 9 = 76.538521.
     */
    const doc = computeComptagesMetrics(champs.arcDays('2023-11-02'), '2023-11-02');
    const m = doc.metrics[0]!;
    expect(m).toMatchObject({
      heures_mesurees: 10,
      debit_journalier_total: 8289,
      debit_horaire_moyen: 828.9,
      debit_max: 1256,
      heure_pic: 10,
      etat_trafic_dominant: 'Bloqué',
      heures_congestion_max: 2,
      congestion_alerte: true,
      capteur_defaillant: true,
    });
    expect(m.taux_occupation_moyen).toBeCloseTo(76.538521, 5);
    expect(m.temps_perdu_total_minutes).toBeCloseTo(1158.0385, 3);
    expect(doc.alertes_congestion).toEqual([
      {
        arc_id: '4264',
        libelle: 'AV_Champs_Elysees',
        arrondissement: '75008',
        heures_congestion_max: 2,
        taux_occupation_max: 95.37,
        temps_perdu_total_minutes: m.temps_perdu_total_minutes,
        severite: 'MOYENNE',
      },
    ]);
    expect(doc.capteurs_defaillants).toEqual([
      {
        arc_id: '4264',
        libelle: 'AV_Champs_Elysees',
        raisons: ['heures_insuffisantes'],
        heures_mesurees: 10,
      },
    ]);
    expect(doc.global_metrics).toMatchObject({
      nombre_troncons_satures: 1,
      nombre_capteurs_defaillants: 1,
      taux_disponibilite_capteurs: 0,
    });
    expect(doc.top_10_zones_congestionnees).toEqual([
      {
        arrondissement: '75008',
        nombre_troncons: 1,
        total_vehicules: 8289,
        temps_perdu_total_minutes: m.temps_perdu_total_minutes,
        nombre_troncons_satures: 1,
        taux_saturation: 100,
      },
    ]);
  });

  it('arc 5671 on 2022-10-06 uses the référentiel length when given', () => {
    /*
     * Référentiel row of arc 5671 (referentiel-comptages-routiers_export_2020.csv, line 523): LineString
     * [[2.291878306272706, 48.83923810714603], [2.294532899162363, 48.83803063834104]] → 236.1605053 m.
     * Hours in the 30–50 % band: 13 (709 veh, 34.60 %), 17 (866, 35.28 %), 18 (798, 41.32 %), 20 (898, 37.41 %);
     * 50–70 %: 19 (908, 50.46 %). Lost = 0.2361605053 × (0.3 × 3271 + 0.8 × 908) = 0.2361605053 × 1707.7
     * = 403.2913 min. Total 14,950 vehicles, peak 1,061 at 21 h, Fluide 17 of 24 hours.
     */
    const doc = computeComptagesMetrics(convention.arcDays('2022-10-06'), '2022-10-06', {
      lengthOf: (id) => (id === '5671' ? 236.1605053075268 : undefined),
    });
    expect(doc.metrics[0]).toMatchObject({
      debit_journalier_total: 14950,
      heure_pic: 21,
      etat_trafic_dominant: 'Fluide',
      longueur_metres: 236.1605053075268,
      source_longueur: 'referentiel',
      arrondissement: '75015',
    });
    expect(doc.metrics[0]!.temps_perdu_total_minutes).toBeCloseTo(403.291295, 5);
  });

  it('arc 5671 on 2022-12-02: 24 rows with occupancy but no flow (the file quirk)', () => {
    // All 24 'Débit horaire' cells are empty; occupancies are present (mean 10.9978475 by Python).
    const doc = computeComptagesMetrics(convention.arcDays('2022-12-02'), '2022-12-02');
    expect(doc.metrics[0]).toMatchObject({
      heures_mesurees: 0,
      debit_journalier_total: 0,
      debit_horaire_moyen: null,
      debit_max: null,
      heure_pic: null,
      temps_perdu_total_minutes: 0,
      capteur_defaillant: true,
      etat_trafic_dominant: 'Fluide',
    });
    expect(doc.metrics[0]!.taux_occupation_moyen).toBeCloseTo(10.9978475, 6);
  });

  it('spring DST: hours 01:00 and 03:00 are consecutive real hours for the congestion rule', async () => {
    // dst-offsets.csv, 2024-03-31: slot 1 at 85 %, slot 3 at 90 %, slot 2 does not exist that day.
    const acc = await accumulate(HANDMADE + 'dst-offsets.csv');
    const doc = computeComptagesMetrics(acc.arcDays('2024-03-31'), '2024-03-31');
    expect(doc.metrics[0]).toMatchObject({ heures_congestion_max: 2, congestion_alerte: true });
  });
});

/** A synthetic arc-day built from per-hour functions (null = no value). */
function arcDay(
  arc_id: string,
  fill: (h: number) => [number | null, number | null, string | null],
  extra: Partial<ArcDay> = {},
): ArcDay {
  const hours = Array.from({ length: 24 }, (_, h) => fill(h));
  return {
    arc_id,
    day: '2024-05-14',
    libelle: `Arc_${arc_id}`,
    flow: hours.map((x) => x[0]),
    occupancy: hours.map((x) => x[1]),
    etat: hours.map((x) => x[2]),
    geo_point: null,
    row_length_m: null,
    rows: 24,
    ...extra,
  };
}

describe('DD/MM/YYYY availability-date export (real excerpt, 2025-10-25 … 2025-11-07)', () => {
  it("the original's reference days 2025-11-03 and 2025-11-04 come out whole (Python cross-check)", async () => {
    const acc = await accumulate(
      REAL + 'VARIANT_ddmmyyyy-dispo_champs-elysees_arc4264_2025-10-25_to_2025-11-07_excerpt.csv',
    );
    expect(acc.days()).toHaveLength(14);
    for (const [day, total, peak] of [
      ['2025-11-03', 17221, 12],
      ['2025-11-04', 17850, 9],
    ] as const) {
      const doc = computeComptagesMetrics(acc.arcDays(day), day);
      ComptagesMetricsSchema.parse(doc);
      expect(doc.metrics).toHaveLength(1);
      expect(doc.metrics[0]).toMatchObject({
        arc_id: '4264',
        heures_mesurees: 24,
        debit_journalier_total: total,
        heure_pic: peak,
        arrondissement: '75008',
        capteur_defaillant: false,
      });
    }
  });
});

describe('computeComptagesMetrics day totals, rankings and rules', () => {
  /*
   * Three arcs on 2024-05-14 (points of arcs 4264 → 75008 and 5671 → 15e):
   *  '100' (75008, référentiel 1000 m): flow 100 + h all day; occupancy 85 % at 8, 9, 10 else 10 %.
   *        total = 24 × 100 + (0 + … + 23 = 276) = 2,676; lost = 1 km × 1.8 × (108 + 109 + 110) = 588.6;
   *        congestion run 3 h → alert MOYENNE.
   *  '20'  (75015, own shape 200 m): flow 50 + h for h < 12 only, occupancy 40 %.
   *        total = 600 + 66 = 666; lost = 0.2 × 0.3 × 666 = 39.96; 12 h < 18 → failing (heures_insuffisantes).
   *  '3'   (no point, default 500 m): flow 200 every hour, occupancy 75 % for h < 6 else 10 %.
   *        total 4,800; lost = 0.5 × 1.8 × 6 × 200 = 1,080; 24 equal non-zero flows → failing (debit_constant).
   * Day: 8,142 vehicles, 1,708.56 min, 3 arcs, 1 saturated, 2 failing → availability 1/3 = 33.33 %.
   */
  const arcs = [
    arcDay('100', (h) => [100 + h, h >= 8 && h <= 10 ? 85 : 10, h >= 8 && h <= 10 ? 'Bloqué' : 'Fluide'], {
      geo_point: [48.87153587897717, 2.3017227924560615],
    }),
    arcDay('20', (h) => (h < 12 ? [50 + h, 40, 'Saturé'] : [null, null, null]), {
      geo_point: [48.838634372743535, 2.2932056027175345],
      row_length_m: 200,
    }),
    arcDay('3', (h) => [200, h < 6 ? 75 : 10, 'Fluide']),
    arcDay('999', () => [1, 1, 'Fluide'], { day: '2024-05-15' }), // another day: ignored
  ];
  const env = { lengthOf: (id: string) => (id === '100' ? 1000 : undefined) };
  let doc: ComptagesMetrics;
  beforeAll(() => {
    doc = computeComptagesMetrics(arcs, '2024-05-14', env);
  });

  it('computes the day totals', () => {
    expect(doc.global_metrics.total_vehicules_jour).toBe(8142);
    expect(doc.global_metrics.temps_perdu_total_minutes).toBeCloseTo(1708.56, 9);
    expect(doc.global_metrics).toMatchObject({
      date: '2024-05-14',
      nombre_troncons: 3,
      nombre_troncons_satures: 1,
      nombre_capteurs_defaillants: 2,
      moyenne_debit_par_troncon: 2714,
      troncons_sans_arrondissement: 1,
    });
    expect(doc.global_metrics.taux_disponibilite_capteurs).toBeCloseTo(100 / 3, 9);
  });

  it('orders arcs by numeric id and ranks tronçons, zones, alerts and failing sensors deterministically', () => {
    expect(doc.metrics.map((m) => m.arc_id)).toEqual(['3', '20', '100']);
    expect(doc.metrics.map((m) => m.source_longueur)).toEqual(['defaut', 'geo_shape', 'referentiel']);
    expect(doc.top_10_troncons.map((t) => [t.arc_id, t.debit_journalier_total])).toEqual([
      ['3', 4800],
      ['100', 2676],
      ['20', 666],
    ]);
    expect(
      doc.top_10_zones_congestionnees.map((z) => [
        z.arrondissement,
        z.nombre_troncons,
        z.total_vehicules,
        z.taux_saturation,
      ]),
    ).toEqual([
      ['75008', 1, 2676, 100],
      ['75015', 1, 666, 0],
    ]);
    expect(doc.top_10_zones_congestionnees[0]!.temps_perdu_total_minutes).toBeCloseTo(588.6, 9);
    expect(doc.top_10_zones_congestionnees[1]!.temps_perdu_total_minutes).toBeCloseTo(39.96, 9);
    expect(doc.alertes_congestion).toEqual([
      expect.objectContaining({
        arc_id: '100',
        heures_congestion_max: 3,
        taux_occupation_max: 85,
        severite: 'MOYENNE',
      }),
    ]);
    expect(doc.capteurs_defaillants).toEqual([
      { arc_id: '3', libelle: 'Arc_3', raisons: ['debit_constant'], heures_mesurees: 24 },
      { arc_id: '20', libelle: 'Arc_20', raisons: ['heures_insuffisantes'], heures_mesurees: 12 },
    ]);
    expect(doc.metrics.find((m) => m.arc_id === '100')!.etat_trafic_dominant).toBe('Fluide');
    expect(ComptagesMetricsSchema.parse(doc)).toEqual(doc);
  });

  it('breaks ties: earliest peak hour, most severe dominant state, arc id for equal totals', () => {
    const tie = computeComptagesMetrics(
      [
        arcDay('7', (h) => [h === 5 || h === 17 ? 900 : 100 + h, 10, h < 12 ? 'Fluide' : 'Saturé']),
        arcDay('6', (h) => [h === 5 || h === 17 ? 900 : 100 + h, 10, 'Fluide']),
      ],
      '2024-05-14',
    );
    expect(tie.metrics[1]).toMatchObject({ arc_id: '7', heure_pic: 5, etat_trafic_dominant: 'Saturé' });
    expect(tie.top_10_troncons.map((t) => t.arc_id)).toEqual(['6', '7']);
  });

  it('grades alert severity by the longest congested run and the lost-time bands', () => {
    const runs = computeComptagesMetrics(
      [
        arcDay('1', (h) => [100 + h, h < 6 ? 95 : 10, 'Bloqué']),
        arcDay('2', (h) => [100 + h, h < 4 ? 95 : 10, 'Bloqué']),
      ],
      '2024-05-14',
    );
    expect(runs.alertes_congestion.map((a) => [a.arc_id, a.severite])).toEqual([
      ['1', 'CRITIQUE'],
      ['2', 'ELEVEE'],
    ]);
    expect([0, 29.99, 30, 49.99, 50, 69.99, 70, 100].map(lostMinutesPerVehicleKm)).toEqual([
      0, 0, 0.3, 0.3, 0.8, 0.8, 1.8, 1.8,
    ]);
  });

  it('handles a day without any arc', () => {
    const none = computeComptagesMetrics([], '2024-05-14');
    expect(none.global_metrics).toMatchObject({
      nombre_troncons: 0,
      total_vehicules_jour: 0,
      taux_disponibilite_capteurs: null,
    });
    expect(ComptagesMetricsSchema.parse(none)).toEqual(none);
  });

  it('checks pass on a good document and fail on a corrupted one', () => {
    expect(comptagesChecks.map((c) => [c.name, c.fn(doc).status])).toEqual([
      ['comptages_non_negative_totals', 'pass'],
      ['comptages_occupancy_in_range', 'pass'],
      ['comptages_one_row_per_arc', 'pass'],
      ['comptages_sensor_availability', 'warn'], // 33 % of sensors available
    ]);
    const bad: ComptagesMetrics = structuredClone(doc);
    bad.metrics.push({ ...bad.metrics[0]!, debit_journalier_total: -1, taux_occupation_moyen: 120 });
    expect(comptagesChecks.map((c) => c.fn(bad).status)).toEqual(['fail', 'fail', 'fail', 'warn']);
  });
});
