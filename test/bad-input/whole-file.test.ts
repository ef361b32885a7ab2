/**
 * Issue 12, "the wrong data, silently": whole files that used to be dropped without a word. Inputs are
 * corpus files rewritten in a temporary folder (CR-only line endings, another separator…).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBikesFile } from '../../assets/bikes/parse.ts';
import { parseReferentielFile } from '../../assets/referentiel/parse.ts';
import { parseWeatherFile } from '../../assets/weather/parse.ts';
import { BAD, collector } from './helpers.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityflow-whole-file-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `rel` of the corpus, transformed, as `name` in the temp folder. */
async function variant(rel: string, name: string, f: (text: string) => string) {
  const text = f(await readFile(join(BAD, rel), 'utf8'));
  await writeFile(join(dir, name), text);
  return { path: join(dir, name), key: name };
}

type Parser = (f: { path: string; key: string }, reject: (r: never) => void) => Promise<unknown[]>;
async function parse(parser: Parser, file: { path: string; key: string }) {
  const c = collector();
  const rows = await parser(file, c.reject as never);
  return { ...c, rows };
}

describe('CR-only line endings (classic Mac) are read like LF', () => {
  it.each([
    ['bikes', 'bikes/nan-negative.csv', parseBikesFile as Parser],
    ['weather', 'weather/extra-missing-columns.csv', parseWeatherFile as Parser],
    ['referentiel', 'referentiel/duplicate-rows.csv', parseReferentielFile as Parser],
  ])('%s: same rows, rejects and lines as the LF file (was: 0 rows, 0 rejects)', async (_, rel, parser) => {
    const lf = await parse(parser, await variant(rel, `lf-${_}.csv`, (t) => t.replace(/\r\n/g, '\n')));
    const cr = await parse(parser, await variant(rel, `cr-${_}.csv`, (t) => t.replace(/\r?\n/g, '\r')));
    expect(lf.rows.length).toBeGreaterThan(5);
    expect(cr.summary()).toEqual(lf.summary());
    expect(cr.rows.length).toBe(lf.rows.length);
    expect(JSON.stringify(cr.rows).replaceAll(`cr-${_}`, 'X')).toBe(
      JSON.stringify(lf.rows).replaceAll(`lf-${_}`, 'X'),
    );
  });
});

describe('a file with another separator is one file-level record', () => {
  it.each([',', '\t', '|'])(
    'referentiel with %j: 1 missing_columns at line 0, 0 arcs (was: 154 malformed_csv row rejects)',
    async (sep) => {
      const f = await variant('referentiel/duplicate-rows.csv', 'sep.csv', (t) => t.replace(/;/g, sep));
      const p = await parse(parseReferentielFile as Parser, f);
      expect(p.summary()).toEqual(['missing_columns@0']);
      expect(p.rejects[0]!.file).toBe('sep.csv');
      expect(p.rejects[0]!.detail).toMatch(/header lacks "Identifiant arc", "Libelle"/);
      expect(p.rows).toEqual([]);
    },
  );
});

describe('weather values out of their physical range are quarantined with file:line', () => {
  /** Sets column `col` of (1-based) line `line` of the Open-Meteo CSV. */
  const setCell = (text: string, line: number, col: number, value: string) =>
    text
      .split('\n')
      .map((l, i) =>
        i === line - 1
          ? l
              .split(',')
              .map((c, j) => (j === col ? value : c))
              .join(',')
          : l,
      )
      .join('\n');
  const PRECIP = 5; // 'precipitation (mm)'

  it('precipitation −0.1 and −4.0: out_of_range at their lines, read as no value (were summed / failed the day)', async () => {
    const f = await variant('weather/extra-missing-columns.csv', 'neg.csv', (t) =>
      setCell(setCell(t, 3, PRECIP, '-0.1'), 9, PRECIP, '-4.0'),
    );
    const p = await parse(parseWeatherFile as Parser, f);
    expect(p.summary().sort()).toEqual([
      'out_of_range@3',
      'out_of_range@9',
      'wrong_column_count@12',
      'wrong_column_count@6',
    ]);
    expect(p.rejects.find((r) => r.line === 3)).toMatchObject({
      file: 'neg.csv',
      detail: expect.stringContaining('precipitation -0.1 outside [0, 300] mm'),
    });
    const hours = p.rows as { line: number; precip: number | null }[];
    expect(hours.find((h) => h.line === 3)!.precip).toBeNull();
    expect(hours.every((h) => h.precip === null || h.precip >= 0)).toBe(true);
  });

  it('a 50 MB number in a cell: one invalid_value at its line (was: no value, no reject)', async () => {
    const big = '9'.repeat(50 * 1024 * 1024);
    const f = await variant('weather/extra-missing-columns.csv', 'big.csv', (t) =>
      setCell(t, 4, PRECIP, big),
    );
    const t0 = performance.now();
    const p = await parse(parseWeatherFile as Parser, f);
    console.log(`weather CSV with a 50 MB number: ${Math.round(performance.now() - t0)} ms`);
    expect(p.summary().sort()).toEqual(['invalid_value@4', 'wrong_column_count@12', 'wrong_column_count@6']);
    expect(p.rejects.find((r) => r.line === 4)!.detail).toMatch(
      /precipitation 9{20}… \(52428800 characters\) is not a finite number/,
    );
    expect(p.rows).toHaveLength(22);
  }, 20_000);

  it('a 200 °C temperature in Open-Meteo JSON: out_of_range naming its line', async () => {
    const doc = {
      latitude: 48.86,
      longitude: 2.35,
      utc_offset_seconds: 0,
      timezone: 'GMT',
      hourly: {
        time: ['2024-07-18T00:00', '2024-07-18T01:00'],
        temperature_2m: [17.3, 200],
        precipitation: [0, 0],
      },
    };
    const f = await variant('weather/bom.json', 'hot.json', () => JSON.stringify(doc, null, 1));
    const p = await parse(parseWeatherFile as Parser, f);
    expect(p.summary()).toEqual([
      `out_of_range@${
        JSON.stringify(doc, null, 1)
          .split('\n')
          .findIndex((l) => l.includes('"2024-07-18T01:00"')) + 1
      }`,
    ]);
    expect(p.rows).toHaveLength(2);
  });
});
