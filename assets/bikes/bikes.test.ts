import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QuarantineCollector } from '../../engine/quarantine.ts';
import { BikesMetricsSchema, computeBikesMetrics } from './metrics.ts';
import { parseBikesFile, type BikeCount } from './parse.ts';

const FIXTURE_KEY = 'comptage-velo-donnees-compteurs/comptage-velo-donnees-compteurs_export_2021-09.csv';
const fixture = {
  path: new URL(`../../test/fixtures/real/${FIXTURE_KEY}`, import.meta.url).pathname,
  key: FIXTURE_KEY,
};
const dir = mkdtempSync(join(tmpdir(), 'cityflow-bikes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tmpFile = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return { path, key: `api/bikes/${name}` };
};

// SPEC §1.1 reconstructed API example (two hours of the 28 bd Diderot counter), plus our own records.
const diderot = (
  date: string,
  sum_counts: unknown,
  coordinates: unknown = { lon: 2.37559, lat: 48.84613 },
) => ({
  id_compteur: '100007049-101007049',
  nom_compteur: '28 boulevard Diderot O-E',
  id: '100007049',
  name: '28 boulevard Diderot',
  sum_counts,
  date,
  coordinates,
});

describe('bikes CSV export (real fixture)', () => {
  it('parses all 14 rows of the 2021-09 export with no reject', async () => {
    const q = new QuarantineCollector();
    const recs = await parseBikesFile(fixture, q.add);
    expect(q.total).toBe(0);
    expect(recs).toHaveLength(14);
    expect(recs[0]).toMatchObject({
      id_compteur: '100003096-353242251',
      nom_compteur: '97 avenue Denfert Rochereau SO-NE',
      sum_counts: 3,
      date: '2021-09-01T03:00:00+02:00',
      timestampMs: Date.UTC(2021, 8, 1, 1),
      coordinates: { lon: 2.33314, lat: 48.83504 }, // "48.83504,2.33314" is lat,lon without space
      line: 2,
    });
    expect(recs.at(-1)!.line).toBe(15);
  });

  it('computes the day metrics of 2021-09-01 by hand', async () => {
    const q = new QuarantineCollector();
    const m = computeBikesMetrics('2021-09-01', await parseBikesFile(fixture, q.add), q.add);
    BikesMetricsSchema.parse(m);
    expect(q.total).toBe(0);
    // 14 rows, counts 3+16+0+5+63+62+193+280+53+85+70+28+57+76 = 991
    expect(m.metrics).toHaveLength(1);
    const c = m.metrics[0]!;
    expect(c.total_jour).toBe(991);
    expect(c.heures_mesurees).toBe(14);
    expect(c.moyenne_horaire).toBeCloseTo(991 / 14, 10); // not /24
    expect(c.pic_horaire).toBe(8); // 280 at 2021-09-01T08:00:00+02:00, Paris local hour 8
    expect(c.arrondissement).toBe('75014'); // 97 av. Denfert-Rochereau
    // population z of the 280 peak = (280 − 70.79)/74.81 = 2.80 ≤ 3 → no anomaly on the real day
    expect(c.anomalie_detectee).toBe(false);
    expect(m.anomalies).toEqual([]);
    // 14 hours with data < 18 → failing, kept in metrics but out of the top list
    expect(m.failing_sensors).toEqual(['100003096-353242251']);
    expect(m.failing_reasons['100003096-353242251']).toEqual(['too_few_hours']);
    expect(c.defaillant).toBe(true);
    expect(m.top_counters).toEqual([]);
    expect(m.total_velos).toBe(991);
    expect(m.frequentation_index).toBeCloseTo(0.991, 10); // 991 / 100,000 × 100
  });

  it('rejects every row of another day as outside_partition, with its line', async () => {
    const q = new QuarantineCollector();
    const recs = await parseBikesFile(fixture, q.add, { day: '2021-09-02' });
    expect(recs).toEqual([]);
    expect(q.counts).toEqual({ outside_partition: 14 });
    expect(q.records.map((r) => r.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    // computeBikesMetrics also refuses records of other days
    const q2 = new QuarantineCollector();
    const m = computeBikesMetrics('2021-08-31', await parseBikesFile(fixture, () => {}), q2.add);
    expect(q2.counts).toEqual({ outside_partition: 14 });
    expect(m.metrics).toEqual([]);
  });

  it('quarantines broken rows with reason and line, keeps rows without coordinates', () => {
    const lines = readFileSync(fixture.path, 'utf8').split('\r\n');
    const header = lines[0]!;
    const row = (i: number) => lines[i]!.split(';');
    const bad = [
      header,
      row(1).join(';'), // line 2: fine
      row(2).slice(0, 10).join(';'), // line 3: 10 columns instead of 16
      [...row(3).slice(0, 5), 'hier', ...row(3).slice(6)].join(';'), // line 4: bad date
      [...row(4).slice(0, 4), '-2.0', ...row(4).slice(5)].join(';'), // line 5: negative count
      [...row(5).slice(0, 4), 'abc', ...row(5).slice(5)].join(';'), // line 6: non-numeric count
      [...row(6).slice(0, 8), '', ...row(6).slice(9)].join(';'), // line 7: no coordinates → kept
      [...row(7).slice(0, 4), '', ...row(7).slice(5)].join(';'), // line 8: empty count → kept, no data
      ['', ...row(8).slice(1)].join(';'), // line 9: no counter id
    ].join('\r\n');
    const q = new QuarantineCollector();
    return parseBikesFile(tmpFile('broken.csv', bad), q.add).then((recs) => {
      expect(q.counts).toEqual({
        wrong_column_count: 1,
        unparsable_date: 1,
        negative_count: 1,
        invalid_count: 1,
        invalid_record: 1,
      });
      expect(q.records.map((r) => [r.reason, r.line])).toEqual([
        ['wrong_column_count', 3],
        ['unparsable_date', 4],
        ['negative_count', 5],
        ['invalid_count', 6],
        ['invalid_record', 9],
      ]);
      expect(recs.map((r) => r.line)).toEqual([2, 7, 8]);
      expect(recs[1]!.coordinates).toBeNull();
      expect(recs[2]!.sum_counts).toBeNull();
    });
  });

  it('rejects a CSV with missing columns or an empty file once, at line 0', async () => {
    const q = new QuarantineCollector();
    expect(await parseBikesFile(tmpFile('other.csv', 'a;b\r\n1;2\r\n'), q.add)).toEqual([]);
    expect(await parseBikesFile(tmpFile('empty.csv', ''), q.add)).toEqual([]);
    expect(q.records.map((r) => [r.reason, r.line])).toEqual([
      ['missing_columns', 0],
      ['empty_file', 0],
    ]);
  });
});

describe('bikes API JSON', () => {
  it('reads the SPEC example: 21:00Z + 22:00Z = Paris 22 h and 23 h of 2025-11-01 → 57, peak 22', async () => {
    const file = tmpFile(
      'bikes_data.json',
      JSON.stringify(
        {
          total_count: 881878,
          results: [diderot('2025-11-01T22:00:00+00:00', 25), diderot('2025-11-01T21:00:00+00:00', 32)],
        },
        null,
        2,
      ),
    );
    const q = new QuarantineCollector();
    const recs = await parseBikesFile(file, q.add);
    expect(q.total).toBe(0);
    // pretty-printed (indent 2): "{", 6 scalar fields, 4 lines of coordinates, "}" = 12 lines per element from line 4
    expect(recs.map((r) => r.line)).toEqual([4, 16]);
    const m = computeBikesMetrics('2025-11-01', recs, q.add);
    const c = m.metrics[0]!;
    expect(c.total_jour).toBe(57); // 25 + 32, as the real output
    expect(c.pic_horaire).toBe(22); // 32 at 21:00Z = 22:00 Paris (UTC+1 in November); the original said 21 (UTC)
    expect(c.moyenne_horaire).toBe(28.5); // 57 / 2 hours with data
    expect(c.arrondissement).toBe('75012');
  });

  it('keeps a counter with null coordinates (arrondissement null) instead of failing the dataset', async () => {
    const q = new QuarantineCollector();
    const recs = await parseBikesFile(
      tmpFile(
        'nullcoords.json',
        JSON.stringify({
          results: [diderot('2025-11-01T10:00:00+00:00', 4, null), { nom_compteur: 'x', date: 'y' }],
        }),
      ),
      q.add,
    );
    expect(recs).toHaveLength(1);
    expect(q.records.map((r) => [r.reason, r.line])).toEqual([['invalid_record', 1]]);
    const m = computeBikesMetrics('2025-11-01', recs);
    expect(m.metrics[0]).toMatchObject({ arrondissement: null, coordinates: null, total_jour: 4 });
  });

  it('turns invalid files into one line-0 reject, and throws for a file the system cannot read', async () => {
    const q = new QuarantineCollector();
    await parseBikesFile(tmpFile('bad.json', '{"results": ['), q.add);
    await parseBikesFile(tmpFile('shape.json', '{"foo": 1}'), q.add);
    expect(q.records.map((r) => [r.reason, r.line])).toEqual([
      ['invalid_json', 0],
      ['unexpected_shape', 0],
    ]);
    await expect(
      parseBikesFile({ path: join(dir, 'missing.json'), key: 'missing.json' }, q.add),
    ).rejects.toThrow(/cannot read missing\.json: ENOENT/);
  });

  it('de-duplicates the same counter-hour across snapshots (last file wins)', async () => {
    const a = tmpFile('h01.json', JSON.stringify({ results: [diderot('2025-11-01T10:00:00+00:00', 5)] }));
    const b = tmpFile('h02.json', JSON.stringify({ results: [diderot('2025-11-01T10:00:00+00:00', 7)] }));
    const q = new QuarantineCollector();
    const recs = [...(await parseBikesFile(a, q.add)), ...(await parseBikesFile(b, q.add))];
    const m = computeBikesMetrics('2025-11-01', recs, q.add);
    expect(m.metrics[0]!.total_jour).toBe(7);
    expect(q.records).toMatchObject([{ reason: 'duplicate_record', file: 'api/bikes/h01.json', line: 1 }]);
  });
});

describe('bikes rules on built days', () => {
  const rec = (id: string, hourUtc: number, count: number): BikeCount => ({
    id_compteur: id,
    nom_compteur: id,
    id: null,
    name: null,
    sum_counts: count,
    date: '',
    timestampMs: Date.UTC(2025, 5, 10, hourUtc) - 2 * 3_600_000, // Paris hour = hourUtc (UTC+2 in June)
    coordinates: null,
    file: 'f',
    line: 1,
  });
  const day = (id: string, counts: number[]) => counts.map((c, h) => rec(id, h, c));

  it('flags a spike with |z| > 3 as an anomaly', () => {
    // 23 hours of 10 and one of 100 at 17 h: mean 13.75, σ = √(7762.5/24) = 17.984, z = 86.25/17.984 = 4.80
    const counts = Array.from({ length: 24 }, (_, h) => (h === 17 ? 100 : 10));
    const m = computeBikesMetrics('2025-06-10', day('A', counts));
    expect(m.anomalies).toHaveLength(1);
    expect(m.anomalies[0]).toMatchObject({ id_compteur: 'A', heure: 17, valeur: 100, moyenne: 13.75 });
    expect(m.anomalies[0]!.z_score).toBeCloseTo(86.25 / Math.sqrt(7762.5 / 24), 10);
    expect(m.metrics[0]!.anomalie_detectee).toBe(true);
    expect(m.failing_sensors).toEqual([]);
  });

  it('applies the failing rules and sorts the top list by total then id', () => {
    const m = computeBikesMetrics('2025-06-10', [
      ...day('Z-zero', Array(24).fill(0)), // every count zero → no_counts
      ...day('Y-stuck', Array(20).fill(7)), // 20 identical non-zero values (> 12) → stuck_value
      ...day('B', Array(18).fill(1).concat([2])), // 19 hours, total 20
      ...day('A', [2, 0, ...Array(18).fill(1)]), // 20 hours, total 2 + 18 = 20: ties with B, A first by id
      ...day('C', [...Array(23).fill(5), 10]), // total 23·5 + 10 = 125
      ...day('D-short', Array(17).fill(3).concat([4])), // 18 hours: just enough
      ...day('E-short', Array(16).fill(3).concat([4])), // 17 hours < 18 → too_few_hours
    ]);
    expect(m.failing_reasons).toEqual({
      'Z-zero': ['no_counts'],
      'Y-stuck': ['stuck_value'],
      'E-short': ['too_few_hours'],
    });
    expect(m.failing_sensors).toEqual(['E-short', 'Y-stuck', 'Z-zero']);
    // totals: C 125, D 17·3+4 = 55, A 20, B 20 (tie → id order)
    expect(m.top_counters.map((c) => c.id_compteur)).toEqual(['C', 'D-short', 'A', 'B']);
    expect(m.total_velos).toBe(0 + 140 + 20 + 20 + 125 + 55 + 52);
  });
});
