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
  it('keeps one row per arc: 1,438 arcs, 62 superseded duplicates reported', async () => {
    const q = new QuarantineCollector();
    const rows = await parseReferentielFile(fixture, q.add);
    expect(rows).toHaveLength(1438);
    expect(q.counts).toEqual({ superseded_duplicate_arc: 62 });
    // arc 6605 appears on lines 13 and 263 with identical dates: full tie → the later row wins
    expect(rows.find((r) => r.arc === '6605')!.line).toBe(263);
    expect(q.records.find((r) => r.line === 13)).toMatchObject({
      reason: 'superseded_duplicate_arc',
      file: KEY,
    });
  });

  it('maps the first arc with its columns in this file’s order (aval before amont)', async () => {
    const m = computeReferentielMetrics('2024-01-15', await parseReferentielFile(fixture, () => {}));
    ReferentielMetricsSchema.parse(m);
    const a = m.mapping['5419']!;
    expect(a).toMatchObject({
      libelle: 'PI_Champerret',
      noeud_aval: '2736',
      noeud_amont: '2746',
      geo_point_2d: [48.8864119309, 2.28932548179], // "lat,lon" without space
      center: [2.291171077137395, 48.887548948221394], // middle vertex of the 3-vertex LineString
      arrondissement: '75017',
      date_debut_dispo: '2005-01-01T02:00:00+01:00',
    });
    // 3 vertices: two haversine legs, R = 6,371,000 m (Python: 604.353897 m)
    expect(a.longueur_metres).toBeCloseTo(604.353897, 5);
    expect(m.date).toBe('2024-01-15');
  });

  it('computes the length statistics by hand (Python haversine over the kept rows)', async () => {
    const m = computeReferentielMetrics('2024-01-15', await parseReferentielFile(fixture, () => {}));
    const s = m.statistiques;
    expect(s.nombre_troncons).toBe(1438);
    expect(s.troncons_avec_longueur).toBe(1438);
    expect(s.longueur_totale_metres).toBeCloseTo(252_426.855341, 3);
    expect(s.longueur_moyenne_metres).toBeCloseTo(175.540233, 5);
    expect(s.longueur_min_metres).toBeCloseTo(5.375057, 5);
    expect(s.longueur_mediane_metres).toBeCloseTo(155.771891, 5);
    expect(s.longueur_max_metres).toBeCloseTo(992.616175, 5);
    const lengths = lengthByArc(m);
    expect(lengths.size).toBe(1438);
    expect(lengths.get('5419')).toBe(m.mapping['5419']!.longueur_metres);
    // every arc of the slice is placed in an arrondissement or outside Paris; most are inside
    const placed = Object.values(m.mapping).filter((x) => x.arrondissement !== null).length;
    expect(placed).toBeGreaterThan(1300);
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
});
