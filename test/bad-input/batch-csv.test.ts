/**
 * Chantiers (road works) and referentiel (road-arc reference) parsers on the bad-input corpus.
 * Chantiers records contain quoted line breaks: the 15 real records of the slice start on lines
 * 2, 5, 6, 7, 8, 12, 14, 15, 16, 18, 19, 20, 21, 22, 24 (quote-aware scan: each record's line = 1 +
 * the line breaks before it, CRLF outside quotes and LF inside). Referentiel: 10 records, lines 2–11.
 */
import { describe, expect, it } from 'vitest';
import { parseChantiersFile } from '../../assets/chantiers/parse.ts';
import { parseReferentielFile } from '../../assets/referentiel/parse.ts';
import { badFile, collector } from './helpers.ts';

const CHANTIER_LINES = [2, 5, 6, 7, 8, 12, 14, 15, 16, 18, 19, 20, 21, 22, 24];

async function chantiers(rel: string) {
  const c = collector();
  const rows = await parseChantiersFile(badFile(rel), c.reject);
  return { ...c, rows };
}

async function referentiel(rel: string) {
  const c = collector();
  const rows = await parseReferentielFile(badFile(rel), c.reject);
  return { ...c, rows };
}

describe('chantiers parser on the bad-input corpus', () => {
  it('embedded newlines: the 15 real records keep their true starting lines', async () => {
    const p = await chantiers('chantiers/embedded-newlines.csv');
    expect(p.rejects).toEqual([]);
    expect(p.rows.map((r) => r.line)).toEqual(CHANTIER_LINES);
  });

  it('unparsable dates: records 4 (07/09/2020) and 9 (2023-02-30) rejected at lines 7 and 16, 13 kept', async () => {
    const p = await chantiers('chantiers/unparsable-dates.csv');
    expect(p.summary()).toEqual(['unparsable_date@7', 'unparsable_date@16']);
    expect(p.rows.map((r) => r.line)).toEqual(CHANTIER_LINES.filter((l) => l !== 7 && l !== 16));
  });

  it('truncated last record (cut inside a quoted field): one malformed_csv at its start line 24, 14 kept', async () => {
    const p = await chantiers('chantiers/truncated-last-row.csv');
    expect(p.summary()).toEqual(['malformed_csv@24']);
    expect(p.rows).toHaveLength(14);
  });

  it('duplicate Identifiant: the repeat (line 27) is quarantined, the first kept (15 rows)', async () => {
    // Fixed: the repeat used to be kept, counting the same works twice in the day's metrics.
    const p = await chantiers('chantiers/duplicate-rows.csv');
    expect(p.summary()).toEqual(['duplicate_record@27']);
    expect(p.rejects[0]!.detail).toBe('Identifiant CP001735 already on line 2');
    expect(p.rows).toHaveLength(15);
  });

  it('invalid GeoJSON (records 2 and 6, lines 5 and 12): rows kept without shape and area, each value quarantined', async () => {
    const p = await chantiers('chantiers/invalid-geojson.csv');
    expect(p.summary()).toEqual(['invalid_geo_shape@5', 'invalid_geo_shape@12']);
    const noShape = p.rows.filter((r) => r.geo_shape === null).map((r) => r.line);
    expect(noShape).toEqual([5, 12]);
    expect(p.rows.filter((r) => r.geo_shape === null).every((r) => r.surface_m2 === 0)).toBe(true);
  });

  it('empty file: one empty_file reject at line 0', async () => {
    expect((await chantiers('chantiers/empty.csv')).summary()).toEqual(['empty_file@0']);
  });
});

describe('referentiel parser on the bad-input corpus', () => {
  it.each([
    ['referentiel/bom.csv', [], 10, 'BOM added: header still found'],
    ['referentiel/crlf-lf-mix.csv', [], 10, 'LF on even lines (all 10 were lost before the fix)'],
    [
      'referentiel/duplicate-rows.csv',
      ['duplicate_row@12'],
      10,
      'line 12 repeats line 4 (same arc, period and shape): the repeat quarantined',
    ],
    ['referentiel/extra-missing-columns.csv', ['wrong_column_count@5', 'wrong_column_count@9'], 8, '10 − 2'],
    ['referentiel/truncated-last-row.csv', ['wrong_column_count@11'], 9, 'line 11 cut after 3 fields'],
    [
      'referentiel/invalid-geojson.csv',
      ['invalid_geo_shape@3', 'invalid_geo_shape@7'],
      10,
      'shapes of lines 3 and 7 unreadable: values quarantined, rows kept',
    ],
    ['referentiel/empty.csv', ['empty_file@0'], 0, '0 bytes'],
  ] as [string, string[], number, string][])('%s → %j, %i kept (%s)', async (rel, expected, kept) => {
    const p = await referentiel(rel);
    expect(p.summary()).toEqual(expected);
    expect(p.rows).toHaveLength(kept);
  });

  it('invalid GeoJSON: exactly the two damaged rows lose their shape', async () => {
    const p = await referentiel('referentiel/invalid-geojson.csv');
    expect(p.rows.filter((r) => r.parts.length === 0).map((r) => r.line)).toEqual([3, 7]);
  });
});
