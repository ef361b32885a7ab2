/**
 * A 50 MB single field, generated at test time in a temp dir (never committed): the parsers neither
 * crash nor lose the rows around it, and the reject (when there is one) points at the right line.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBikesFile } from '../../assets/bikes/parse.ts';
import { parseChantiersFile } from '../../assets/chantiers/parse.ts';
import { readComptagesFast } from '../../assets/comptages/fast/reader.ts';
import { parseComptagesFile } from '../../assets/comptages/parse.ts';
import { BAD, collector } from './helpers.ts';

const BIG = 50 * 1024 * 1024;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityflow-big-field-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Header + records of a corpus CSV whose records are one line each (CRLF). */
async function csvLines(rel: string): Promise<string[]> {
  return (await readFile(join(BAD, rel), 'utf8')).split('\r\n').filter((l) => l !== '');
}

describe('a 50 MB single field', () => {
  it('comptages: a 50 MB flow cell on line 3 is one non_numeric_flow reject; the 11 other rows kept', async () => {
    const [header, ...rows] = await csvLines('comptages/extra-unknown-column.csv');
    const fields = rows[1]!.split(';');
    fields[3] = '9'.repeat(BIG - 1) + 'x'; // digits then a letter: not a number, 50 MB long
    rows[1] = fields.join(';');
    const path = join(dir, 'comptages-big.csv');
    await writeFile(path, [header, ...rows].join('\r\n') + '\r\n');
    const c = collector();
    let kept = 0;
    await parseComptagesFile({ path, key: 'big.csv' }, c.reject, () => kept++);
    expect(c.summary()).toEqual(['non_numeric_flow@3']);
    expect(kept).toBe(11);
    const fast = await readComptagesFast({ path, key: 'big.csv' }, { workers: 1 });
    expect(fast.rejects.map((r) => `${r.reason}@${r.line}`)).toEqual(['non_numeric_flow@3']);
    expect(fast.rows).toBe(11);
  });

  it('chantiers: a 50 MB quoted Description over 1,000 lines is bounded: one reject where it starts, later records kept', async () => {
    const text = await readFile(join(BAD, 'chantiers/embedded-newlines.csv'), 'utf8');
    // The first record starts on line 2 with 'CP001735;;75018;9;1;SG Mission des JO 2024;CONSTRUCTION_IMMEUBLE;Arena 2;'
    // where 'Arena 2' is the Description: replace it by a quoted 50 MB text holding 1,000 LF.
    const chunk = 'a'.repeat(Math.floor(BIG / 1000) - 1) + '\n';
    const big = `"${chunk.repeat(1000)}"`;
    const path = join(dir, 'chantiers-big.csv');
    await writeFile(path, text.replace(';Arena 2;', `;${big};`));
    const c = collector();
    const rows = await parseChantiersFile({ path, key: 'big.csv' }, c.reject);
    // A quoted field may span 100 lines / 1 MiB: past that its record is rejected where it started
    // and reading resumes on the next line. The runaway field's lines are rejects of their own.
    expect(c.rejects[0]).toMatchObject({
      reason: 'malformed_csv',
      line: 2,
      detail: expect.stringContaining('opened on line 2 runs past 100 lines'),
    });
    expect(c.rejects.map((r) => r.line)).toEqual(Array.from({ length: 1003 }, (_, k) => k + 2));
    // The 14 records after it, each on its own line, 1,000 lines down.
    expect(rows.map((r) => r.line)).toEqual(
      [5, 6, 7, 8, 12, 14, 15, 16, 18, 19, 20, 21, 22, 24].map((l) => l + 1000),
    );
  });

  it('bikes JSON: a record with a 50 MB nom_compteur is kept with the 13 others', async () => {
    const doc = JSON.parse(await readFile(join(BAD, 'bikes/valid.json'), 'utf8')) as {
      results: { nom_compteur: string }[];
    };
    doc.results[0]!.nom_compteur = 'n'.repeat(BIG);
    const path = join(dir, 'bikes-big.json');
    await writeFile(path, JSON.stringify(doc));
    const c = collector();
    const records = await parseBikesFile({ path, key: 'big.json' }, c.reject);
    expect(c.rejects).toEqual([]);
    expect(records).toHaveLength(14);
    expect(records[0]!.nom_compteur).toHaveLength(BIG);
  });
});
