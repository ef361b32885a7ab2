/**
 * Road counts (`comptages`) on the bad-input corpus, through both readers the pipeline uses: the
 * streaming csv-parse reader (parse.ts, several files) and the byte-range reader (fast/reader.ts, one
 * file). Every corpus file is header + 12 real Champs-Élysées records (lines 2–13) unless said
 * otherwise; expected lines follow from the damage listed in test/fixtures/bad/README.md.
 */
import { describe, expect, it } from 'vitest';
import { readComptagesFast } from '../../assets/comptages/fast/reader.ts';
import { parseComptagesFile, type ParseResult } from '../../assets/comptages/parse.ts';
import type { ComptagesRow } from '../../assets/comptages/row.ts';
import { badFile, collector } from './helpers.ts';

async function parse(rel: string, days?: string[]) {
  const c = collector();
  const rows: ComptagesRow[] = [];
  const result: ParseResult = await parseComptagesFile(badFile(rel), c.reject, (r) => rows.push(r), {
    days: days && new Set(days),
  });
  const fast = await readComptagesFast(badFile(rel), { workers: 1, days: days && new Set(days) });
  return { ...c, rows, result, fast };
}

/** [file, expected reason@line list, rows kept, how the figures were derived] */
const cases: [string, string[], number, string][] = [
  [
    'comptages/truncated-last-row.csv',
    ['wrong_column_count@13'],
    11,
    'line 13 cut after 4 of 15 fields; 12 − 1',
  ],
  [
    'comptages/truncated-in-quotes.csv',
    ['malformed_csv@13'],
    11,
    'line 13 ends inside an open quote; 12 − 1',
  ],
  [
    'comptages/extra-missing-columns.csv',
    ['wrong_column_count@4', 'wrong_column_count@8'],
    10,
    '16 and 14 fields',
  ],
  ['comptages/stray-quote.csv', ['malformed_csv@3'], 11, 'unclosed quote in the Libelle of line 3'],
  [
    'comptages/unparsable-dates.csv',
    ['unparsable_date@3', 'unparsable_date@6', 'unparsable_date@10'],
    9,
    '12 − 3',
  ],
  [
    'comptages/nan-negative.csv',
    ['non_numeric_flow@3', 'negative_flow@5', 'non_numeric_occupancy@7', 'occupancy_out_of_range@9'],
    8,
    'NaN flow, -12.0 flow, NaN occupancy, -1 occupancy; 12 − 4',
  ],
  [
    'comptages/occupancy-over-100.csv',
    ['occupancy_out_of_range@4', 'occupancy_out_of_range@6'],
    10,
    '100.5 and 250 rejected, 100 (line 8) kept; 12 − 2',
  ],
  [
    'comptages/duplicate-rows.csv',
    ['duplicate_row@14', 'duplicate_row@15'],
    12,
    'lines 14, 15 repeat lines 2, 5',
  ],
  ['comptages/bom-mid-file.csv', ['unparsable_date@8'], 12, '2nd header (with BOM) on line 8 is a row'],
  [
    'comptages/embedded-newline.csv',
    ['non_numeric_flow@12'],
    11,
    'line 4–5 is one record, so record 10 is line 12',
  ],
  ['comptages/crlf-lf-mix.csv', [], 12, 'LF on even lines, CRLF on odd ones: all 12 kept'],
  ['comptages/extra-unknown-column.csv', [], 12, 'an unknown trailing column is ignored'],
  ['comptages/invalid-geojson.csv', [], 12, 'geo_shape is informative: rows kept (see below)'],
  ['comptages/utf16le.csv', [], 12, 'csv-parse decodes UTF-16LE from its BOM'],
  ['comptages/header-only.csv', [], 0, 'no data row, nothing wrong'],
  // Whole-file rejects: exactly one reject at line 0, no row.
  ['comptages/wrong-separator.csv', ['missing_columns@0'], 0, "'|' separator: one header column"],
  ['comptages/unknown-header.csv', ['missing_columns@0'], 0, "'Débit horaire' renamed"],
  ['comptages/latin1.csv', ['missing_columns@0'], 0, "'D\\xE9bit horaire' does not decode as UTF-8"],
  ['comptages/empty.csv', ['empty_file@0'], 0, '0 bytes'],
];

describe('comptages parsers on the bad-input corpus', () => {
  it.each(cases)('%s → %j, %i rows kept (%s)', async (rel, expected, kept) => {
    const p = await parse(rel);
    expect(p.summary()).toEqual(expected);
    expect(p.rows).toHaveLength(kept);
    expect(p.result).toMatchObject({ rows: kept, rejected: expected.length });
    for (const r of p.rejects) expect(r.file).toBe(rel);
    // The fast reader (used by the pipeline for a single file) gives the same rejects and rows.
    expect(p.fast.rejects.map((r) => `${r.reason}@${r.line}`)).toEqual(expected);
    expect(p.fast.rows).toBe(kept);
  });

  it('a file cut inside a quoted field (a truncated download) stays on the fast path, same reject', async () => {
    const p = await parse('comptages/truncated-in-quotes.csv');
    expect(p.fast.mode.parser).toBe('fast');
    expect(p.fast.rejects).toEqual(p.rejects);
    expect(p.fast.rejects[0]!.detail).toMatch(/Quote Not Closed.*line 13$/);
    // A quoted line break before the end is still refused by the byte scanner (csv-parse reads it).
    expect((await parse('comptages/embedded-newline.csv')).fast.mode.parser).toBe('csv-parse');
  });

  it('a rejected header is one line-0 reject naming the missing field, not one per row', async () => {
    // Before the fix, wrong-separator.csv gave missing_columns@0 plus 12 malformed_csv rows parsed
    // while the stream was being torn down (13 rejects for a file that cannot be read at all).
    const p = await parse('comptages/wrong-separator.csv');
    expect(p.rejects).toHaveLength(1);
    expect(p.rejects[0]!.detail).toContain('arc_id');
    const h = await parse('comptages/unknown-header.csv');
    expect(h.rejects[0]!.detail).toMatch(/header lacks flow \(separator ';'\)/);
  });

  it('Latin-1 bytes in three rows: rows kept, their Etat trafic read as Inconnu and counted', async () => {
    // Lines 3, 5, 7 carry 'Pr\xE9-satur\xE9' (was 'Pré-saturé' on lines 3, 5, 7 of the slice).
    const p = await parse('comptages/latin1-rows.csv');
    expect(p.rejects).toEqual([]);
    expect(p.result.unknownEtat).toBe(3);
    expect(p.rows.filter((r) => r.etat === 'Inconnu')).toHaveLength(3);
    expect(p.fast.unknownEtat).toBe(3);
  });

  it('invalid GeoJSON in geo_shape: rows kept, arc length unknown for those rows', async () => {
    const p = await parse('comptages/invalid-geojson.csv');
    const shapes = p.rows.map((r) => r.geo_shape_text);
    // Lines 3 and 5 carry the broken texts; they are kept as text and fail only when measured.
    expect(shapes[1]).toBe('{"coordinates": [[2.30099');
    expect(shapes[3]).toBe('{"type": "Circle", "radius": 5}');
  });

  it('rows of days outside the partition are skipped and counted, not rejected', async () => {
    // The 12 records: 9 on 2024-01-04, 1 on 2024-01-05 (line 6), 2 on 2024-12-02 (lines 12, 13).
    const p = await parse('comptages/unparsable-dates.csv', ['2024-01-04']);
    // Lines 3, 6, 10 are unparsable (rejected before the day filter); of the other 9, line 6 was the
    // 2024-01-05 row (now unparsable) so 2 rows are of another day and 7 are kept.
    expect(p.summary()).toEqual(['unparsable_date@3', 'unparsable_date@6', 'unparsable_date@10']);
    expect(p.result).toMatchObject({ rows: 7, skipped: 2, rejected: 3 });
    expect(p.fast).toMatchObject({ rows: 7, skipped: 2, rejected: 3 });
  });

  it('every reject carries the raw record text (the quarantine shows what was wrong)', async () => {
    const p = await parse('comptages/nan-negative.csv');
    expect(p.rejects[0]!.raw).toContain(';NaN;');
    expect(p.rejects[1]!.raw).toContain(';-12.0;');
  });
});
