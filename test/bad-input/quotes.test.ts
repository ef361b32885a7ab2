/**
 * Issue 12: stray CRs and broken quotes in the CSV sources. Each case is read in linear time, every
 * bad record is one reject naming the line where it starts, and a broken quote never takes the rows
 * around it. The real référentiel (data/batch, 1,500 rows, one quoted geo_shape per row) is the base.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsvRecordGuard, type GuardReject } from '../../assets/shared/csv-record-guard.ts';
import { readCsvRows } from '../../assets/shared/csv-source.ts';
import { parseReferentielFile } from '../../assets/referentiel/parse.ts';
import { collector } from './helpers.ts';

const REFERENTIEL = join(
  import.meta.dirname,
  '..',
  '..',
  'data',
  'batch',
  'referentiel-geographique-pour-les-donnees-trafic-issues-des-capteurs-permanents.csv',
);
let dir: string;
let clean: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityflow-quotes-'));
  clean = await readFile(REFERENTIEL, 'utf8');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rowsOf(name: string, content: string) {
  const path = join(dir, name);
  await writeFile(path, content);
  const c = collector();
  const t0 = performance.now();
  const lines: number[] = [];
  for await (const row of readCsvRows({ path, key: name }, c.reject, { delimiter: ';' }))
    lines.push(row.line);
  const ms = performance.now() - t0;
  console.log(
    `${name} (${(content.length / 1024).toFixed(0)} KB): ${lines.length} rows, ${c.rejects.length} rejects, ${ms.toFixed(0)} ms`,
  );
  return { lines, c, ms };
}

/** The référentiel's records (one per line), header first, without their CRLF. */
const records = (): string[] => clean.split('\r\n').filter((l) => l !== '');

describe('stray CRs before the line feed (\\r\\r\\r\\n)', () => {
  it('are line ends: every row kept on its own line, no reject (was 3,000 rejects with wrong lines, 42 s)', async () => {
    const strayed = clean.replace(/\r\n/g, '\r\r\r\n');
    const once = await rowsOf('stray-cr.csv', strayed);
    expect(once.c.rejects).toEqual([]);
    expect(once.lines).toEqual(Array.from({ length: 1500 }, (_, k) => k + 2));
    // Four times the file: it was quadratic (52 s for twice the file); now it stays linear.
    const [header, ...rows] = records();
    const four = await rowsOf(
      'stray-cr-x4.csv',
      [header, ...rows, ...rows, ...rows, ...rows].join('\r\r\r\n') + '\r\r\r\n',
    );
    expect(four.c.rejects).toEqual([]);
    expect(four.lines).toHaveLength(6000);
    expect(four.ms).toBeLessThan(10_000);
  });

  it('give the same arcs as the clean file', async () => {
    const path = join(dir, 'stray-ref.csv');
    await writeFile(path, clean.replace(/\r\n/g, '\r\r\n'));
    const strayed = collector();
    const base = collector();
    const a = await parseReferentielFile({ path, key: 'ref.csv' }, strayed.reject);
    const b = await parseReferentielFile({ path: REFERENTIEL, key: 'ref.csv' }, base.reject);
    expect(strayed.rejects).toEqual(base.rejects);
    expect(a).toEqual(b);
  });
});

describe('a broken quote', () => {
  it('an unclosed geo_shape on line 10 is one reject there; the 1,499 other rows keep their lines', async () => {
    const recs = records();
    recs[9] = recs[9]!.replace(/"$/, ''); // line 10 loses its closing quote
    const { lines, c } = await rowsOf('unclosed.csv', recs.join('\r\n') + '\r\n');
    expect(c.summary()).toEqual(['malformed_csv@10']);
    expect(c.rejects[0]!.detail).toContain('opened on line 10');
    expect(c.rejects[0]!.raw).toBe(recs[9]);
    expect(lines).toEqual(Array.from({ length: 1500 }, (_, k) => k + 2).filter((l) => l !== 10));
  });

  it('an unclosed quote on the last line (end of file) is one reject there', async () => {
    const recs = records();
    recs[recs.length - 1] = recs.at(-1)!.replace(/"$/, '');
    const { lines, c } = await rowsOf('unclosed-last.csv', recs.join('\r\n'));
    expect(c.summary()).toEqual(['malformed_csv@1501']);
    expect(c.rejects[0]!.detail).toContain('before the end of the file');
    expect(lines).toHaveLength(1499);
  });

  it('in a file with no other quote, runs 100 lines at most: the rows after it are kept', async () => {
    const rows = Array.from({ length: 500 }, (_, k) => `${k};label ${k};${k * 2}`);
    rows[1] = `1;"label 1;2`; // line 3 opens a quote that never closes
    const { lines, c } = await rowsOf('no-other-quote.csv', ['id;label;n', ...rows].join('\n') + '\n');
    expect(c.summary()).toEqual(['malformed_csv@3']);
    expect(c.rejects[0]!.detail).toContain('runs past 100 lines');
    expect(lines).toEqual(Array.from({ length: 500 }, (_, k) => k + 2).filter((l) => l !== 3));
  });

  it('on every row: one reject per row, each on its line, in linear time', async () => {
    const [header, ...rows] = records();
    const broken = rows.map((r) => r.replace(/"$/, '"x'));
    const all = [header, ...broken, ...broken, ...broken, ...broken];
    const { lines, c, ms } = await rowsOf('all-broken.csv', all.join('\r\n') + '\r\n');
    expect(lines).toEqual([]);
    expect(c.rejects.map((r) => r.line)).toEqual(Array.from({ length: 6000 }, (_, k) => k + 2));
    expect(new Set(c.rejects.map((r) => r.reason))).toEqual(new Set(['malformed_csv']));
    expect(ms).toBeLessThan(10_000);
  });

  it('legitimate multi-line quoted fields, escaped quotes and lone CRs are kept, on their true lines', async () => {
    // csv-parse counts a CRLF inside quotes, and a lone CR, as two lines / a line: the lines after them
    // must not shift.
    const content =
      'id;text;n\r\n1;"two\r\nlines, ""quoted""";5\r\n2;plain;6\r\n3;lone\rCR;7\r\n4;"a\r\nb\r\nc";8\r\n5;x;9;extra\r\n6;last;10\r\n';
    const path = join(dir, 'multi.csv');
    await writeFile(path, content);
    const c = collector();
    const got: { line: number; text: string }[] = [];
    for await (const row of readCsvRows({ path, key: 'multi.csv' }, c.reject, { delimiter: ';' }))
      got.push({ line: row.line, text: row.values.text! });
    expect(c.summary()).toEqual(['wrong_column_count@9']);
    expect(got).toEqual([
      { line: 2, text: 'two\r\nlines, "quoted"' },
      { line: 4, text: 'plain' },
      { line: 5, text: 'lone\rCR' },
      { line: 6, text: 'a\r\nb\r\nc' },
      { line: 10, text: 'last' },
    ]);
  });
});

describe('the guard does not depend on where chunks end', () => {
  const guarded = async (chunks: string[]): Promise<{ out: string; rejects: GuardReject[] }> => {
    const rejects: GuardReject[] = [];
    const guard = new CsvRecordGuard(
      { delimiter: ';', crOnly: false, bounds: { maxQuotedLines: 3, maxQuotedBytes: 40 } },
      (r) => rejects.push(r),
    );
    const out = await text(Readable.from(chunks.map((c) => Buffer.from(c))).pipe(guard));
    return { out, rejects };
  };

  it('any split of any text gives the same output and rejects as the whole text', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[ab;"\r\n]{0,60}$/),
        fc.array(fc.nat(60), { maxLength: 6 }),
        async (input, cuts) => {
          const at = [...new Set(cuts.filter((c) => c < input.length))].sort((x, y) => x - y);
          const chunks = [0, ...at]
            .map((from, k) => input.slice(from, [...at, input.length][k]))
            .filter((c) => c !== '');
          const whole = await guarded([input]);
          expect(await guarded(chunks)).toEqual(whole);
          // Lines are never lost or added: the output has as many line feeds as the input.
          expect(whole.out.split('\n').length).toBe(input.split('\n').length);
        },
      ),
      { numRuns: 300 },
    );
  });
});
