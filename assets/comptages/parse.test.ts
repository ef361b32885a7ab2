import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuarantineCollector, type QuarantineRecord } from '../../engine/quarantine.ts';
import { parseComptagesFile, type ParseOptions, type ParseResult } from './parse.ts';
import type { ComptagesRow } from './row.ts';

const REAL = fileURLToPath(
  new URL('../../test/fixtures/real/comptages-routiers-permanents/', import.meta.url),
);
const HANDMADE = fileURLToPath(new URL('../../test/fixtures/comptages/', import.meta.url));
const CHAMPS = 'champs-elysees_arc4264_2023-2024_export.csv';
const CONVENTION = 'convention_arc5671_2021-2022_export.csv';
const DERIVED = 'DERIVED_historique-api-fieldnames_st-antoine_arc376_2023.csv';
/** Excerpt (last 336 records) of the export that writes the availability dates DD/MM/YYYY. */
const DDMM = 'VARIANT_ddmmyyyy-dispo_champs-elysees_arc4264_2025-10-25_to_2025-11-07_excerpt.csv';

async function parseAll(
  path: string,
  opts?: ParseOptions,
): Promise<{ rows: ComptagesRow[]; result: ParseResult; rejects: QuarantineRecord[] }> {
  const q = new QuarantineCollector();
  const rows: ComptagesRow[] = [];
  const key = path.split('/').at(-1)!;
  const result = await parseComptagesFile({ path, key }, q.add, (r) => rows.push(r), opts);
  return { rows, result, rejects: q.records };
}

const countBy = <T>(items: T[], key: (t: T) => string): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const it of items) out[key(it)] = (out[key(it)] ?? 0) + 1;
  return out;
};

const sum = (xs: (number | null)[]): number => xs.reduce<number>((s, x) => s + (x ?? 0), 0);

/*
 * Expected figures were computed independently of this code, from the raw files:
 *   awk -F';' 'NR>1 && $4==""' FILE | wc -l          (empty Débit horaire; $5 for Taux d'occupation)
 *   awk -F';' 'NR>1 {print $6}' FILE | sort | uniq -c  (Etat trafic; $11 for Etat arc)
 *   awk -F',' 'NR>1 {print $10, $11}' DERIVED | sort | uniq -c   (etat_trafic / etat_barre codes)
 * and with Python's csv module + zoneinfo('Europe/Paris') for the flow sums and distinct Paris days.
 */
describe('parseComptagesFile on the real exports', () => {
  it('champs-élysées (BOM, CRLF, "lat, lon" with space, unsorted, empty flows)', async () => {
    const { rows, result, rejects } = await parseAll(REAL + CHAMPS);
    expect(result).toEqual({ rows: 1000, skipped: 0, rejected: 0, unknownEtat: 0 });
    expect(rejects).toEqual([]);
    // The BOM did not leak into the first header name: every row found its arc id.
    expect(countBy(rows, (r) => r.arc_id)).toEqual({ '4264': 1000 });
    expect(rows.filter((r) => r.flow === null)).toHaveLength(86);
    expect(rows.filter((r) => r.occupancy === null)).toHaveLength(109);
    expect(sum(rows.map((r) => r.flow))).toBe(723221);
    expect(countBy(rows, (r) => r.etat)).toEqual({
      Fluide: 430,
      'Pré-saturé': 379,
      Saturé: 51,
      Bloqué: 31, // FIX: normalised as 'Bloqué', not 'BLOQUÉ'
      Inconnu: 109,
    });
    // 'Invalide' rows are kept (992 of 1000 carry it).
    expect(countBy(rows, (r) => r.etat_arc)).toEqual({ Invalide: 992, Barré: 8 });
    expect(new Set(rows.map((r) => r.day)).size).toBe(85);
    // First record (line 2): 2024-01-04T22:00:00+01:00;1034.0;22.86333;Pré-saturé.
    expect(rows[0]).toMatchObject({
      libelle: 'AV_Champs_Elysees',
      instant: Date.UTC(2024, 0, 4, 21),
      day: '2024-01-04',
      hour: 22,
      flow: 1034,
      occupancy: 22.86333,
      etat: 'Pré-saturé',
      geo_point: [48.87153587897717, 2.3017227924560615],
    });
    // CRLF: no '\r' is left at the end of the last column.
    expect(rows.every((r) => r.geo_shape_text?.endsWith('"type": "LineString"}'))).toBe(true);
    // Export order is kept (not time-sorted): the second row is an hour earlier than the first.
    expect(rows[1]!.instant).toBeLessThan(rows[0]!.instant);
  });

  it('convention (no BOM, "lat,lon" without space, flow empty while occupancy present)', async () => {
    const { rows, result } = await parseAll(REAL + CONVENTION);
    expect(result).toEqual({ rows: 1000, skipped: 0, rejected: 0, unknownEtat: 0 });
    expect(rows.filter((r) => r.flow === null)).toHaveLength(118);
    expect(rows.filter((r) => r.occupancy === null)).toHaveLength(11);
    // FIX of the coupled parsing: an empty flow does not blank the occupancy (107 such rows).
    expect(rows.filter((r) => r.flow === null && r.occupancy !== null)).toHaveLength(107);
    expect(sum(rows.map((r) => r.flow))).toBe(480651);
    expect(countBy(rows, (r) => r.etat)).toEqual({
      Fluide: 888,
      'Pré-saturé': 65,
      Saturé: 32,
      Bloqué: 4,
      Inconnu: 11,
    });
    expect(countBy(rows, (r) => r.etat_arc)).toEqual({ Invalide: 1000 });
    expect(rows[0]!.geo_point).toEqual([48.838634372743535, 2.2932056027175345]);
    expect(new Set(rows.map((r) => r.day)).size).toBe(98);
  });

  it('historique (API field names, "," separator, integer codes, offset-less local times)', async () => {
    const { rows, result } = await parseAll(REAL + DERIVED);
    expect(result).toEqual({ rows: 500, skipped: 0, rejected: 0, unknownEtat: 0 });
    expect(rows.filter((r) => r.flow === null)).toHaveLength(7);
    expect(rows.filter((r) => r.occupancy === null)).toHaveLength(9);
    expect(sum(rows.map((r) => r.flow))).toBe(60794);
    // etat_trafic codes: 1 ×488, 0 ×9, 2 ×2, 4 ×1; etat_barre codes: 2 ×499, 3 ×1.
    expect(countBy(rows, (r) => r.etat)).toEqual({ Fluide: 488, Inconnu: 9, 'Pré-saturé': 2, Bloqué: 1 });
    expect(countBy(rows, (r) => r.etat_arc)).toEqual({ Barré: 499, Invalide: 1 });
    // '2023-02-05 01:00:00' is Paris winter time: 00:00 UTC.
    expect(rows[0]).toMatchObject({
      arc_id: '376',
      libelle: 'St_Antoine',
      instant: Date.UTC(2023, 1, 5, 0),
      day: '2023-02-05',
      hour: 1,
      flow: 122,
      occupancy: 4.545,
      geo_point: null,
      geo_shape_text: null,
    });
    expect(new Set(rows.map((r) => r.day)).size).toBe(23);
  });

  it('DD/MM/YYYY availability dates (10/10/1996;01/01/2023): every row read, none rejected', async () => {
    const { rows, result, rejects } = await parseAll(REAL + DDMM);
    // the dispo columns are not used by any metric: their format must not reject rows
    expect(result).toEqual({ rows: 336, skipped: 0, rejected: 0, unknownEtat: 0 });
    expect(rejects).toEqual([]);
    // Python (csv + zoneinfo): Σ flow 250,957 with 1 empty flow; 14 Paris days of 24 rows (10-26 lacks 02:00+02:00)
    expect(sum(rows.map((r) => r.flow))).toBe(250957);
    expect(rows.filter((r) => r.flow === null)).toHaveLength(1);
    expect(countBy(rows, (r) => r.day)['2025-11-03']).toBe(24);
    expect(new Set(rows.map((r) => r.day)).size).toBe(14);
    expect(countBy(rows, (r) => r.etat_arc)).toEqual({ Ouvert: 335, Invalide: 1 });
    const nov3 = rows.filter((r) => r.day === '2025-11-03');
    expect(sum(nov3.map((r) => r.flow))).toBe(17221);
  });

  it('emits only the requested days and skips the others without rejecting them', async () => {
    const { rows, result, rejects } = await parseAll(REAL + CHAMPS, {
      days: new Set(['2024-03-04', '2023-11-02']),
    });
    // Paris-day counts from Python: 24 rows on 2024-03-04 and 10 on 2023-11-02.
    expect(result).toEqual({ rows: 34, skipped: 966, rejected: 0, unknownEtat: 0 });
    expect(countBy(rows, (r) => r.day)).toEqual({ '2024-03-04': 24, '2023-11-02': 10 });
    expect(rejects).toEqual([]);
  });
});

describe('parseComptagesFile rejects', () => {
  it('quarantines each bad row once, with its reason and 1-based starting line', async () => {
    const { rows, result, rejects } = await parseAll(HANDMADE + 'bad-rows.csv');
    // Lines of bad-rows.csv (header = line 1, line 13 empty, lines 18–19 are one record):
    expect(rejects.map((r) => [r.line, r.reason]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      [3, 'unparsable_date'],
      [4, 'missing_arc_id'],
      [5, 'wrong_column_count'],
      [6, 'non_numeric_flow'],
      [7, 'negative_flow'],
      [8, 'occupancy_out_of_range'],
      [9, 'occupancy_out_of_range'],
      [10, 'duplicate_row'], // same arc, same text timestamp as line 2
      [11, 'duplicate_row'], // 09:00Z is the same instant as line 2's 10:00+01:00
      [12, 'timestamp_not_on_hour'],
      [16, 'non_numeric_flow'],
      [18, 'non_numeric_flow'], // record spanning lines 18–19 reported at its start
      [20, 'malformed_csv'], // stray quote in an unquoted field
    ]);
    expect(rejects.every((r) => r.file === 'bad-rows.csv')).toBe(true);
    expect(rejects.find((r) => r.line === 7)?.raw).toContain('2024-03-04T14:00:00+01:00;-5;');
    expect(result).toEqual({ rows: 5, skipped: 0, rejected: 13, unknownEtat: 1 });
    expect(rows.map((r) => [r.hour, r.flow, r.occupancy, r.etat])).toEqual([
      [10, 1538, 19.83556, 'Pré-saturé'],
      [18, null, null, 'Inconnu'],
      [19, 1493, 30.47111, 'Saturé'], // French decimal commas, quoted ';' in the label
      [21, 1143, 18.72, 'Inconnu'], // unknown label 'Embouteillé' kept as Inconnu and counted
      [23, 742, 11.85111, 'Fluide'], // parsing resumed after the malformed record
    ]);
    expect(rows[2]!.libelle).toBe('AV_Champs;Elysees');
  });

  describe('whole-file problems', () => {
    let dir = '';
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'comptages-parse-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('rejects a file whose header lacks required columns at line 0', async () => {
      const path = join(dir, 'no-flow.csv');
      await writeFile(
        path,
        'Identifiant arc;Libelle;Date et heure de comptage\n4264;X;2024-03-04T10:00:00+01:00\n',
      );
      const { rows, result, rejects } = await parseAll(path);
      expect(rows).toEqual([]);
      expect(result.rejected).toBe(1);
      expect(rejects[0]).toMatchObject({ reason: 'missing_columns', line: 0, file: 'no-flow.csv' });
      expect(rejects[0]!.detail).toContain('flow, occupancy');
    });

    it('rejects an empty file at line 0', async () => {
      const path = join(dir, 'empty.csv');
      await writeFile(path, '');
      const { result, rejects } = await parseAll(path);
      expect(result.rows).toBe(0);
      expect(rejects).toEqual([expect.objectContaining({ reason: 'empty_file', line: 0 })]);
    });

    it('fails loudly (no silent empty result) when the file cannot be read', async () => {
      await expect(parseAll(join(dir, 'missing.csv'))).rejects.toThrow(/ENOENT/);
    });

    it('streams a large file with columns in another order and tab separators', async () => {
      // 50,000 rows (≈ 3 MB): 2,084 arcs × 24 hours of one day, minus 16 rows of the last arc.
      const path = join(dir, 'big.tsv');
      const lines = ['t_1h\tq\tk\tiu_ac\tetat_trafic'];
      for (let i = 0; i < 50_000; i++) {
        const hour = String(i % 24).padStart(2, '0');
        lines.push(
          `2024-05-14T${hour}:00:00+02:00\t${i % 997}\t${(i % 101) * 0.5}\t${Math.floor(i / 24)}\t${i % 5}`,
        );
      }
      await writeFile(path, lines.join('\n'));
      const { rows, result } = await parseAll(path);
      expect(result).toEqual({ rows: 50_000, skipped: 0, rejected: 0, unknownEtat: 0 });
      expect(rows[49_999]).toMatchObject({ arc_id: '2083', hour: 7, flow: 49_999 % 997 });
    });
  });
});
