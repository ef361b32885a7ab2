import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { QuarantineCollector } from '../../engine/quarantine.ts';
import { ArcDayAccumulator, compareArcIds } from './aggregate.ts';
import { parseComptagesFile } from './parse.ts';
import type { ComptagesRow } from './row.ts';

const REAL = fileURLToPath(
  new URL('../../test/fixtures/real/comptages-routiers-permanents/', import.meta.url),
);
const HANDMADE = fileURLToPath(new URL('../../test/fixtures/comptages/', import.meta.url));

async function accumulate(path: string): Promise<{ acc: ArcDayAccumulator; q: QuarantineCollector }> {
  const acc = new ArcDayAccumulator();
  const q = new QuarantineCollector();
  await parseComptagesFile({ path, key: path }, q.add, (r) => acc.add(r));
  return { acc, q };
}

const empty = (n = 24): null[] => Array.from({ length: n }, () => null);
const withSlots = <T>(values: Record<number, T>): (T | null)[] =>
  empty().map((_, h) => (h in values ? values[h]! : null));

describe('ArcDayAccumulator', () => {
  it('builds one 24-slot arc-day per Paris day from a real unsorted export', async () => {
    const { acc } = await accumulate(REAL + 'champs-elysees_arc4264_2023-2024_export.csv');
    expect(acc.days()).toHaveLength(85);
    expect(acc.days()[0]).toBe('2023-11-02');
    const [d] = acc.arcDays('2023-11-02');
    // The 10 rows of 2023-11-02 (lines 775–784 of the file, in reverse time order), by local hour:
    // 2: 834/46.48056 Saturé, 3: 864/48.22056 Saturé, 4: 614/51.55167 Bloqué, 5: 403/95.37 Bloqué,
    // 7: 772/94.80667, 8: 627/93.96722, 10: 1256/80.32611, 12: 1135/(empty) Inconnu,
    // 13: 898/91.43556, 14: 886/86.68834 (7, 8, 10, 13, 14 Bloqué).
    expect(d).toEqual({
      arc_id: '4264',
      day: '2023-11-02',
      libelle: 'AV_Champs_Elysees',
      flow: withSlots({
        2: 834,
        3: 864,
        4: 614,
        5: 403,
        7: 772,
        8: 627,
        10: 1256,
        12: 1135,
        13: 898,
        14: 886,
      }),
      occupancy: withSlots({
        2: 46.48056,
        3: 48.22056,
        4: 51.55167,
        5: 95.37,
        7: 94.80667,
        8: 93.96722,
        10: 80.32611,
        13: 91.43556,
        14: 86.68834,
      }),
      etat: withSlots({
        2: 'Saturé',
        3: 'Saturé',
        4: 'Bloqué',
        5: 'Bloqué',
        7: 'Bloqué',
        8: 'Bloqué',
        10: 'Bloqué',
        12: 'Inconnu',
        13: 'Bloqué',
        14: 'Bloqué',
      }),
      geo_point: [48.87153587897717, 2.3017227924560615], // line 775, the first of the day in file order
      // Haversine of the 2-vertex LineString (R = 6,371,000 m), Python: 119.18635794186…
      row_length_m: expect.closeTo(119.186358, 5),
      rows: 10,
    });
    expect(acc.arcDays('2099-01-01')).toEqual([]);
  });

  it('autumn DST: the repeated hour shares slot 2 (flows added, occupancies averaged, worst state)', async () => {
    // dst-offsets.csv, arc 9001 on 2024-10-27: 01:00+02:00 100/10 Fluide, 02:00+02:00 120/20 Fluide,
    // 02:00+01:00 80/40 Saturé, 03:00+01:00 90/15 Fluide; line 6 repeats 02:00+01:00 (duplicate).
    const { acc, q } = await accumulate(HANDMADE + 'dst-offsets.csv');
    const [autumn] = acc.arcDays('2024-10-27');
    expect(autumn!.flow).toEqual(withSlots({ 1: 100, 2: 120 + 80, 3: 90 }));
    expect(autumn!.occupancy).toEqual(withSlots({ 1: 10, 2: (20 + 40) / 2, 3: 15 }));
    expect(autumn!.etat).toEqual(withSlots({ 1: 'Fluide', 2: 'Saturé', 3: 'Fluide' }));
    expect(autumn!.rows).toBe(4);
    // Spring: 01:00+01:00 and 03:00+02:00 fill slots 1 and 3; slot 2 stays empty. Line 9,
    // 02:00+01:00, is the instant 03:00+02:00 again and is rejected as a duplicate.
    const [spring] = acc.arcDays('2024-03-31');
    expect(spring!.flow).toEqual(withSlots({ 1: 300, 3: 310 }));
    expect(spring!.etat).toEqual(withSlots({ 1: 'Saturé', 3: 'Bloqué' }));
    expect(q.records.map((r) => [r.line, r.reason])).toEqual([
      [6, 'duplicate_row'],
      [9, 'duplicate_row'],
    ]);
  });

  it('autumn DST without offsets: two rows at 02:00 are the two real hours, a third is a duplicate', async () => {
    // dst-wallclock.csv (API names, ','): 2024-10-27 01:00 100/10 code 1, 02:00 120/20 code 1,
    // 02:00 80/40 code 3, 02:00 again (line 5), 2024-03-31 02:00 (does not exist), 03:00 60/(empty).
    const { acc, q } = await accumulate(HANDMADE + 'dst-wallclock.csv');
    const [autumn] = acc.arcDays('2024-10-27');
    expect(autumn!.flow).toEqual(withSlots({ 1: 100, 2: 200 }));
    expect(autumn!.occupancy).toEqual(withSlots({ 1: 10, 2: 30 }));
    expect(autumn!.etat).toEqual(withSlots({ 1: 'Fluide', 2: 'Saturé' }));
    const [spring] = acc.arcDays('2024-03-31');
    expect(spring!.flow).toEqual(withSlots({ 3: 60 }));
    expect(spring!.occupancy).toEqual(empty());
    expect(q.records.map((r) => [r.line, r.reason])).toEqual([
      [5, 'duplicate_row'],
      [6, 'nonexistent_local_time'],
    ]);
  });

  it('sorts arc-days by numeric arc id and keeps the first label, point and valid shape', () => {
    const acc = new ArcDayAccumulator();
    const row = (arc: string, hour: number, extra: Partial<ComptagesRow> = {}): ComptagesRow => ({
      arc_id: arc,
      libelle: '',
      instant: Date.UTC(2024, 4, 14, hour - 2),
      day: '2024-05-14',
      hour,
      offset_minutes: 120,
      flow: 10,
      occupancy: null,
      etat: 'Fluide',
      etat_arc: 'Invalide',
      geo_point: null,
      geo_shape_text: null,
      ...extra,
    });
    acc.add(row('10001', 0));
    acc.add(row('376', 0, { geo_shape_text: 'not json' }));
    // 0.001° of latitude ≈ 111.19 m (R = 6,371,000 m: 6371000 × π/180 × 0.001 = 111.1949 m).
    acc.add(
      row('376', 1, {
        libelle: 'St_Antoine',
        geo_point: [48.85, 2.37],
        geo_shape_text: '{"type":"LineString","coordinates":[[2.37,48.85],[2.37,48.851]]}',
      }),
    );
    acc.add(
      row('376', 2, {
        libelle: 'Other',
        geo_point: [1, 1],
        geo_shape_text: '{"type":"LineString","coordinates":[[2.37,48.85],[2.37,48.86]]}',
      }),
    );
    acc.add(row('4264', 0));
    const days = acc.arcDays('2024-05-14');
    expect(days.map((d) => d.arc_id)).toEqual(['376', '4264', '10001']);
    expect(days[0]).toMatchObject({ libelle: 'St_Antoine', geo_point: [48.85, 2.37], rows: 3 });
    expect(days[0]!.row_length_m).toBeCloseTo(111.1949, 3);
    expect(['B', 'A', '12', '9'].sort(compareArcIds)).toEqual(['9', '12', 'A', 'B']);
  });
});
