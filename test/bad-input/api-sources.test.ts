/**
 * Bikes (CSV export + API JSON), traffic (Navitia JSON) and weather (Open-Meteo CSV + JSON) parsers on
 * the bad-input corpus. Whole-file problems are one reject at line 0 and no record (never a throw).
 */
import { describe, expect, it } from 'vitest';
import { computeBikesMetrics } from '../../assets/bikes/metrics.ts';
import { parseBikesFile } from '../../assets/bikes/parse.ts';
import { parseTrafficFile } from '../../assets/traffic/parse.ts';
import { parseWeatherFile } from '../../assets/weather/parse.ts';
import { badFile, collector } from './helpers.ts';

type Parser = (f: { path: string; key: string }, reject: (r: never) => void) => Promise<unknown[]>;
const parsers: Record<string, Parser> = {
  bikes: parseBikesFile as Parser,
  traffic: parseTrafficFile as Parser,
  weather: parseWeatherFile as Parser,
};

/** [file, expected reason@line list, records kept, how the figures were derived] */
const cases: [string, string[], number, string][] = [
  // Bikes CSV: header line 1, 14 real records on lines 2–15.
  [
    'bikes/unparsable-dates.csv',
    ['unparsable_date@4', 'unparsable_date@9'],
    12,
    '01/09/2021 05:00 and hour 25; 14 − 2',
  ],
  ['bikes/nan-negative.csv', ['invalid_count@3', 'negative_count@6'], 12, "'NaN' and '-3.0'; 14 − 2"],
  ['bikes/bom.csv', [], 14, 'BOM added to a file that had none'],
  ['bikes/missing-column.csv', ['missing_columns@0'], 0, "'Comptage horaire' dropped"],
  ['bikes/empty.csv', ['empty_file@0'], 0, '0 bytes'],
  // Bikes JSON: the same 14 records, 12 lines each, record k on line 4 + 12(k − 1).
  [
    'bikes/bad-records.json',
    [
      'invalid_count@16',
      'negative_count@40',
      'unparsable_date@64',
      'invalid_record@88',
      'invalid_record@112',
    ],
    9,
    'records 2, 4, 6, 8, 10 damaged (record 10 is a string on one line); 14 − 5',
  ],
  ['bikes/valid.json', [], 14, 'undamaged control'],
  ['bikes/bom.json', [], 14, 'BOM before the JSON'],
  ['bikes/invalid.json', ['invalid_json@0'], 0, 'first half of valid.json'],
  ['bikes/wrong-shape.json', ['unexpected_shape@0'], 0, "'records' instead of 'results'"],
  ['bikes/empty.json', ['empty_file@0'], 0, '0 bytes'],
  // Traffic: 5 real Navitia disruptions pretty-printed; element 2 starts on line 735 (element 1 spans
  // lines 3–734), element 3 on 736, element 4 on 2601 (grep -n of the file).
  [
    'traffic/bad-records.json',
    ['invalid_record@735', 'invalid_record@736', 'no_valid_period@2601'],
    2,
    'a string, a disruption without id, periods "demain"; 5 − 3',
  ],
  ['traffic/invalid.json', ['invalid_json@0'], 0, 'cut at 60 %'],
  ['traffic/wrong-shape.json', ['unexpected_shape@0'], 0, 'disruptions is an object'],
  ['traffic/wrong-shape-scalar.json', ['unexpected_shape@0'], 0, 'the document is 42'],
  ['traffic/empty.json', ['empty_file@0'], 0, '0 bytes'],
  // Weather CSV: 24 hours of 2024-07-18 on lines 2–25.
  [
    'weather/unparsable-dates.csv',
    ['unparsable_date@3', 'unparsable_date@10'],
    22,
    'dd/mm/yyyy and T24:00; 24 − 2',
  ],
  [
    'weather/extra-missing-columns.csv',
    ['wrong_column_count@6', 'wrong_column_count@12'],
    22,
    '28 and 32 fields of 31',
  ],
  ['weather/wrong-separator.csv', ['missing_columns@0'], 0, "';' instead of ','"],
  ['weather/empty.csv', ['empty_file@0'], 0, '0 bytes'],
  // Weather JSON: hourly.time element i is on line 57 + i (4-space indent), elements 2 and 5 damaged.
  ['weather/unparsable-dates.json', ['unparsable_date@59', 'unparsable_date@62'], 22, '24 − 2'],
  ['weather/bom.json', [], 24, 'BOM before the JSON'],
  ['weather/invalid.json', ['invalid_json@0'], 0, 'first 300 characters'],
  ['weather/wrong-shape.json', ['unexpected_shape@0'], 0, 'hourly.time is a string'],
  ['weather/empty.json', ['empty_file@0'], 0, '0 bytes'],
];

describe('bikes, traffic and weather parsers on the bad-input corpus', () => {
  it.each(cases)('%s → %j, %i kept (%s)', async (rel, expected, kept) => {
    const c = collector();
    const out = await parsers[rel.split('/')[0]!]!(badFile(rel), c.reject);
    expect(c.summary()).toEqual(expected);
    expect(out).toHaveLength(kept);
    for (const r of c.rejects) {
      expect(r.file).toBe(rel);
      expect(r.detail).toBeTruthy();
    }
  });

  it('bikes: a record outside the Paris day and a duplicate are quarantined (parser, then metrics)', async () => {
    // Line 5 moved to 2021-09-02; line 16 repeats line 7 (same counter and hour).
    const c = collector();
    const records = await parseBikesFile(badFile('bikes/outside-day-and-duplicate.csv'), c.reject, {
      day: '2021-09-01',
    });
    expect(c.summary()).toEqual(['outside_partition@5']);
    expect(records).toHaveLength(14); // 15 records − 1
    // Without the day option the parser keeps all 15 and the metrics step does the filtering.
    const m = collector();
    const all = await parseBikesFile(badFile('bikes/outside-day-and-duplicate.csv'), m.reject);
    expect(all).toHaveLength(15);
    computeBikesMetrics('2021-09-01', all, m.reject);
    expect(m.counts()).toEqual({ outside_partition: 1, duplicate_record: 1 });
    expect(m.rejects.find((r) => r.reason === 'outside_partition')!.line).toBe(5);
    // The last of two duplicates wins, so the earlier one (line 7) is the one quarantined.
    expect(m.rejects.find((r) => r.reason === 'duplicate_record')!.line).toBe(7);
  });
});
