import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QuarantineCollector } from '../../engine/quarantine.ts';
import { computeReferentielMetrics, lengthByArc, ReferentielMetricsSchema } from './metrics.ts';
import { availabilityMs, parseReferentielFile } from './parse.ts';

const KEY =
  'referentiel-geographique-pour-les-donnees-trafic-issues-des-capteurs-permanents/referentiel-comptages-routiers_export_2020.csv';
const fixture = { path: new URL(`../../test/fixtures/real/${KEY}`, import.meta.url).pathname, key: KEY };
const dir = mkdtempSync(join(tmpdir(), 'cityflow-referentiel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('referentiel CSV (real 2020 export, 1,500 rows)', () => {
  it('joins an arc drawn in several rows: 1,438 arcs, nothing quarantined', async () => {
    const q = new QuarantineCollector();
    const arcs = await parseReferentielFile(fixture, q.add);
    expect(arcs).toHaveLength(1438);
    expect(q.total).toBe(0);
    // 59 arcs come as 2–3 rows (same label, nodes and period); 53 of them join end to end into one line
    const multi = arcs.filter((a) => a.pieces > 1);
    expect(multi).toHaveLength(59);
    expect(multi.reduce((s, a) => s + a.pieces, 0)).toBe(121);
    expect(multi.filter((a) => a.parts.length === 1)).toHaveLength(53);
    // arc 6605 (lines 13 and 263): the second piece starts where the first ends; Python: 86.09 + 9.95 m
    const a6605 = arcs.find((r) => r.arc === '6605')!;
    expect(a6605).toMatchObject({ pieces: 2, lines: [13, 263], line: 13 });
    expect(a6605.parts).toHaveLength(1);
    expect(a6605.length_m).toBeCloseTo(96.042871, 5); // the original kept the later row only: 9.948941 m
  });

  it('maps the first arc with its columns in this file’s order (aval before amont)', async () => {
    const m = computeReferentielMetrics('2024-01-15', await parseReferentielFile(fixture, () => {}));
    ReferentielMetricsSchema.parse(m);
    const a = m.mapping['5419']!;
    expect(a).toMatchObject({
      libelle: 'PI_Champerret',
      morceaux: 1,
      noeud_aval: '2736',
      noeud_amont: '2746',
      geo_point_2d: [48.8864119309, 2.28932548179], // "lat,lon" without space
      center: [2.291171077137395, 48.887548948221394], // middle vertex of the 3-vertex LineString
      arrondissement: '75017',
      source_arrondissement: 'geo_point_2d',
      date_debut_dispo: '2005-01-01T02:00:00+01:00',
    });
    // 3 vertices: two haversine legs, R = 6,371,000 m (Python: 604.353897 m)
    expect(a.longueur_metres).toBeCloseTo(604.353897, 5);
    expect(m.date).toBe('2024-01-15');
  });

  it('computes the length statistics by hand (Python haversine, pieces of an arc summed)', async () => {
    const m = computeReferentielMetrics('2024-01-15', await parseReferentielFile(fixture, () => {}));
    const s = m.statistiques;
    expect(s.nombre_troncons).toBe(1438);
    expect(s.troncons_avec_longueur).toBe(1438);
    // last-row-wins (the original, and this module before) gave 252,426.855341 m, mean 175.540233
    expect(s.longueur_totale_metres).toBeCloseTo(259_286.528626, 3);
    expect(s.longueur_moyenne_metres).toBeCloseTo(180.310521, 5);
    expect(s.longueur_min_metres).toBeCloseTo(5.375057, 5);
    expect(s.longueur_mediane_metres).toBeCloseTo(160.823691, 5);
    expect(s.longueur_max_metres).toBeCloseTo(992.616175, 5);
    const lengths = lengthByArc(m);
    expect(lengths.size).toBe(1438);
    expect(lengths.get('6605')).toBeCloseTo(96.042871, 5);
  });
});

describe('referentiel with API field names (real 2020-01 export, whole: 3,739 rows)', () => {
  const KEY2 =
    'referentiel-geographique-pour-les-donnees-trafic-issues-des-capteurs-permanents/VARIANT_fieldname-headers_referentiel-comptages-routiers_export_2020-01.csv';
  const api = { path: new URL(`../../test/fixtures/real/${KEY2}`, import.meta.url).pathname, key: KEY2 };

  it('reads IU_AC;DATE_DEBUT;…;SHAPE.LEN: 3,348 arcs, only two older versions quarantined', async () => {
    const q = new QuarantineCollector();
    const arcs = await parseReferentielFile(api, q.add);
    expect(arcs).toHaveLength(3348);
    // arcs 563 and 217: two rows each with different end dates (2017 vs 2019) → the older is superseded
    expect(q.records.map((r) => [r.reason, r.line, r.detail?.slice(0, 8)])).toEqual([
      ['superseded_duplicate_arc', 58, 'arc 563:'],
      ['superseded_duplicate_arc', 1821, 'arc 217:'],
    ]);
    // columns in this file's order: LIBELLE_ND_AMONT before LIBELLE_ND_AVAL, SHAPE.LEN (always 0.0) ignored
    expect(arcs.find((a) => a.arc === '5444')).toMatchObject({
      libelle: 'PE_Auteuil',
      noeud_aval: '2859',
      noeud_amont: '2465',
      date_debut: '2005-01-01T02:00:00+01:00',
      date_fin: '2019-06-01T04:00:00+02:00',
      geo_point_2d: [48.8480073438, 2.25343813301],
    });
    // 336 arcs in 2–6 rows (725 rows): 321 chain end to end into one line; 15 keep separate parts (gaps, forks)
    const multi = arcs.filter((a) => a.pieces > 1);
    expect(multi).toHaveLength(336);
    expect(multi.reduce((s, a) => s + a.pieces, 0)).toBe(725);
    expect(multi.filter((a) => a.parts.length === 1)).toHaveLength(321);
    const a4011 = arcs.find((a) => a.arc === '4011')!; // two pieces ~7 m apart: both counted, not bridged
    expect(a4011.parts).toHaveLength(2);
    expect(a4011.length_m).toBeCloseTo(174.499952, 5);
    expect(arcs.find((a) => a.arc === '5113')).toMatchObject({ pieces: 6 });
    expect(arcs.find((a) => a.arc === '5113')!.length_m).toBeCloseTo(208.824807, 5);
    expect(arcs.find((a) => a.arc === '563')!.length_m).toBeCloseTo(10.723825, 5); // the 2019 version
  });

  it('computes the statistics by hand (Python: pieces summed per arc and period)', async () => {
    const m = computeReferentielMetrics('2025-11-04', await parseReferentielFile(api, () => {}));
    ReferentielMetricsSchema.parse(m);
    const s = m.statistiques;
    expect(s.nombre_troncons).toBe(3348);
    expect(s.troncons_avec_longueur).toBe(3348);
    // the original's rule (later row overwrites) gives 615,641.857700 m, mean 183.883, min 4.912 on this file
    expect(s.longueur_totale_metres).toBeCloseTo(657_862.045377, 3);
    expect(s.longueur_moyenne_metres).toBeCloseTo(196.49404, 5);
    expect(s.longueur_min_metres).toBeCloseTo(9.97412, 5);
    expect(s.longueur_mediane_metres).toBeCloseTo(174.441527, 5);
    expect(s.longueur_max_metres).toBeCloseTo(992.616175, 5);
  });

  it('places arcs whose point is outside Paris by their shape; only arcs wholly outside get none', async () => {
    const m = computeReferentielMetrics('2025-11-04', await parseReferentielFile(api, () => {}));
    const bySource: Record<string, number> = {};
    for (const e of Object.values(m.mapping)) {
      const k = String(e.source_arrondissement);
      bySource[k] = (bySource[k] ?? 0) + 1;
    }
    expect(bySource).toEqual({ geo_point_2d: 3308, shape_midpoint: 6, shape_point: 12, null: 22 });
    // independent Python ray casting over the official polygons, shapes sampled every 1 % of each segment:
    // 40 arcs have their point outside; 18 of them have part of their shape in exactly this arrondissement
    const placedByShape = Object.fromEntries(
      Object.entries(m.mapping)
        .filter(([, e]) => e.source_arrondissement?.startsWith('shape'))
        .map(([arc, e]) => [arc, e.arrondissement]),
    );
    expect(placedByShape).toEqual({
      '776': '75014', // Romain_Rolland-Pierre_Masse: every vertex in 75014, the published point off the curve
      '786': '75014',
      '5261': '75016',
      '5266': '75013',
      '5310': '75013',
      '5462': '75012',
      '5464': '75020',
      '5465': '75020',
      '5479': '75020', // Bagnolet_bretelle_6: slip road leaving the ring
      '5480': '75020',
      '5481': '75020',
      '5495': '75012',
      '6088': '75014',
      '6096': '75020',
      '6124': '75014',
      '6139': '75016',
      '6158': '75018',
      '6874': '75018',
    });
    const none = Object.entries(m.mapping)
      .filter(([, e]) => e.arrondissement === null)
      .map(([arc]) => arc);
    expect(none).toEqual(
      ['826', '829', '5262', '5482', '5483', '6737', '6773', '6777', '6778', '6779', '6780'].concat([
        '6782',
        '6783',
        '6826',
        '6827',
        '6828',
        '6829',
        '6830',
        '6875',
        '6876',
        '6877',
        '6878',
      ]),
    );
    expect(m.mapping['6773']).toMatchObject({
      libelle: 'A13_W',
      arrondissement: null,
      source_arrondissement: null,
    });
  });
});

describe('duplicate rule and formats', () => {
  it('prefers the latest début, then the latest fin with empty = still open', async () => {
    const lines = readFileSync(fixture.path, 'utf8').split('\r\n');
    const header = lines[0]!;
    const base = lines[1]!.split(';'); // arc 5419
    const row = (debut: string, fin: string, libelle: string) =>
      [base[0], debut, fin, libelle, ...base.slice(4)].join(';');
    const content = [
      header,
      row('2005-01-01T02:00:00+01:00', '2019-06-01T03:00:00+01:00', 'old'), // line 2
      row('2019-06-01', '2021-01-01', 'newer_start_closed'), // line 3
      row('2019-06-01T00:00:00+02:00', '', 'newer_start_open'), // line 4: same instant as line 3's date, open end
      row('2019-06-01', '2020-01-01', 'newer_start_earlier_end'), // line 5
      [';2005-01-01;;;;;;;;'].join(''), // line 6: no arc id
    ].join('\r\n');
    writeFileSync(join(dir, 'r.csv'), content);
    const q = new QuarantineCollector();
    const rows = await parseReferentielFile({ path: join(dir, 'r.csv'), key: 'batch/r.csv' }, q.add);
    expect(rows.map((r) => [r.libelle, r.line])).toEqual([['newer_start_open', 4]]);
    expect(q.counts).toEqual({ invalid_record: 1, superseded_duplicate_arc: 3 });
    expect(availabilityMs('2019-06-01')).toBe(availabilityMs('2019-06-01T00:00:00+02:00')); // Paris midnight
    expect(availabilityMs('junk')).toBeNull();
  });

  it('same period: a repeated piece is a duplicate_row, another label a conflict; pieces are joined', async () => {
    const lines = readFileSync(fixture.path, 'utf8').split('\r\n');
    // real rows 13 and 263: the two pieces of arc 6605 (same label, nodes and period)
    const [header, p1, p2] = [lines[0]!, lines[13 - 1]!, lines[263 - 1]!];
    const relabelled = p2
      .split(';')
      .map((c, i) => (i === 3 ? 'Other_label' : c))
      .join(';');
    const content = [header, p2, p1, p1, relabelled].join('\r\n');
    writeFileSync(join(dir, 'pieces.csv'), content);
    const q = new QuarantineCollector();
    const arcs = await parseReferentielFile(
      { path: join(dir, 'pieces.csv'), key: 'batch/pieces.csv' },
      q.add,
    );
    expect(q.records.map((r) => [r.reason, r.line])).toEqual([
      ['duplicate_row', 4],
      ['conflicting_duplicate_arc', 5],
    ]);
    // listed second-piece-first: still one line, starting with the first piece
    expect(arcs).toHaveLength(1);
    expect(arcs[0]).toMatchObject({ arc: '6605', pieces: 2, lines: [2, 3] });
    expect(arcs[0]!.parts).toHaveLength(1);
    expect(arcs[0]!.length_m).toBeCloseTo(96.042871, 5);
    const ordered = await parseReferentielFile(fixture, () => {});
    expect(arcs[0]!.parts).toEqual(ordered.find((a) => a.arc === '6605')!.parts);
  });
});
