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
