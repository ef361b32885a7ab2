import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QuarantineCollector } from '../../engine/quarantine.ts';
import { ChantiersMetricsSchema, computeChantiersMetrics } from './metrics.ts';
import { parseChantiersFile } from './parse.ts';

const KEY = 'chantiers-perturbants-la-circulation/chantiers-perturbants_export_2023.csv';
const fixture = { path: new URL(`../../test/fixtures/real/${KEY}`, import.meta.url).pathname, key: KEY };
const dir = mkdtempSync(join(tmpdir(), 'cityflow-chantiers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('chantiers CSV (real 2023 export: BOM, multi-line quoted fields)', () => {
  it('parses 191 of 192 records; the one with empty dates is quarantined at its start line', async () => {
    const q = new QuarantineCollector();
    const cs = await parseChantiersFile(fixture, q.add);
    expect(cs).toHaveLength(191);
    // CP002436 has empty Date de début/fin; earlier records span several physical lines, so it starts at line 192
    expect(q.records).toMatchObject([{ reason: 'unparsable_date', line: 192, file: KEY }]);
    expect(q.records[0]!.raw).toMatch(/^CP002436;/);
    expect(cs[0]).toMatchObject({
      identifiant: 'CP001735',
      arrondissement: '75018',
      typologie: '1',
      line: 2,
    });
    expect(new Set(cs.map((c) => c.statut))).toEqual(new Set(['2', '3', '4']));
    // 18 MultiPolygon shapes, all shapes valid
    expect(cs.filter((c) => c.geo_shape?.type === 'MultiPolygon')).toHaveLength(18);
    expect(cs.every((c) => c.geo_shape !== null && c.surface_m2 > 0)).toBe(true);
  });

  it('computes 2023-07-01 by hand (Python cross-check over the raw CSV)', async () => {
    const m = computeChantiersMetrics('2023-07-01', await parseChantiersFile(fixture, () => {}));
    ChantiersMetricsSchema.parse(m);
    // works with début ≤ 2023-07-01 ≤ fin: 77 (61 RESTREINTE, 9 SENS_UNIQUE, 5 BARRAGE_TOTAL, 2 empty)
    expect(m.total_chantiers_actifs).toBe(77);
    expect(m.chantiers_actifs.slice(0, 3).map((c) => c.identifiant)).toEqual([
      'CP000116',
      'CP000139',
      'CP000665',
    ]);
    // CP002337 has no postal code: geo_point 48.8693, 2.3082 falls in the 8th by point-in-polygon
    expect(m.chantiers_actifs.find((c) => c.identifiant === 'CP002337')!.arrondissement).toBe('75008');
    // Σ coefficients per postal code (RESTREINTE 50, SENS_UNIQUE 30, BARRAGE_TOTAL 100); 75008 = 200 + 50 (CP002337)
    expect(m.impact_by_arrondissement).toEqual({
      '75001': 200,
      '75002': 50,
      '75004': 100,
      '75005': 310,
      '75006': 150,
      '75007': 100,
      '75008': 250,
      '75009': 200,
      '75010': 380,
      '75012': 200,
      '75013': 430,
      '75014': 230,
      '75015': 350,
      '75016': 160,
      '75017': 200,
      '75018': 230,
      '75019': 280,
    });
    // > 3 active works: 13e 10, 10e 8, 15e 6, 5e 6, 8e 5 (4 + CP002337), 14e/16e/19e 5, 1er/9e/12e/17e/18e 4
    expect(m.zones_critiques).toEqual([
      { arrondissement: '75013', nombre_chantiers: 10 },
      { arrondissement: '75010', nombre_chantiers: 8 },
      { arrondissement: '75005', nombre_chantiers: 6 },
      { arrondissement: '75015', nombre_chantiers: 6 },
      { arrondissement: '75008', nombre_chantiers: 5 },
      { arrondissement: '75014', nombre_chantiers: 5 },
      { arrondissement: '75016', nombre_chantiers: 5 },
      { arrondissement: '75019', nombre_chantiers: 5 },
      { arrondissement: '75001', nombre_chantiers: 4 },
      { arrondissement: '75009', nombre_chantiers: 4 },
      { arrondissement: '75012', nombre_chantiers: 4 },
      { arrondissement: '75017', nombre_chantiers: 4 },
      { arrondissement: '75018', nombre_chantiers: 4 },
    ]);
    // Python, local equirectangular projection (x scaled by cos of the ring's mean latitude): 784,737 m²
    expect(Math.abs(m.surface_totale_impactee_m2 / 784_737.04 - 1)).toBeLessThan(0.002);
  });

  it('uses the processing day, not the wall clock: nothing active in 2011 (earliest start 2012-01-01)', async () => {
    const m = computeChantiersMetrics('2011-06-01', await parseChantiersFile(fixture, () => {}));
    expect(m).toMatchObject({
      total_chantiers_actifs: 0,
      zones_critiques: [],
      surface_totale_impactee_m2: 0,
    });
  });

  it('quarantines bad dates, inverted ranges and wrong column counts', async () => {
    const text = readFileSync(fixture.path, 'utf8');
    const header = text.split('\r\n')[0]!;
    const cols = header.split(';').length; // 19
    const row = (id: string, debut: string, fin: string) =>
      [id, '', '75005', '', '2', '', '', '', '', '', debut, fin, 'IMPASSE', '', '1', '2', '', '', ''].join(
        ';',
      );
    const content = [
      header,
      row('CP1', '2023-01-01', '2023-12-31'),
      row('CP2', '01-01-2023', '2023-12-31'), // DD-MM-YYYY as the docs wrongly said
      row('CP3', '2023-12-31', '2023-01-01'),
      'CP4;only;three',
      row('CP5', '2023-02-30', '2023-12-31'),
    ].join('\r\n');
    expect(cols).toBe(19);
    writeFileSync(join(dir, 'c.csv'), content);
    const q = new QuarantineCollector();
    const cs = await parseChantiersFile({ path: join(dir, 'c.csv'), key: 'batch/c.csv' }, q.add);
    expect(cs.map((c) => [c.identifiant, c.arrondissement, c.geo_shape, c.surface_m2])).toEqual([
      ['CP1', '75005', null, 0],
    ]);
    // csv-parse reports structural errors while parsing ahead, so order by line
    expect(q.records.map((r) => [r.reason, r.line]).sort((a, b) => Number(a[1]) - Number(b[1]))).toEqual([
      ['unparsable_date', 3],
      ['inverted_dates', 4],
      ['wrong_column_count', 5],
      ['unparsable_date', 6],
    ]);
    expect(computeChantiersMetrics('2023-06-01', cs).impact_by_arrondissement).toEqual({ '75005': 80 });
  });
});
