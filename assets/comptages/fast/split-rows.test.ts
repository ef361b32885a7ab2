import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileSplitRows, generatedModule } from '../../../scripts/build-wasm.ts';
import { SPLIT_ROWS_WASM } from './split-rows-wasm.ts';
import { FIELD_INTS, ROW_HEADER, RowSplitter } from './split-rows.ts';

interface Row {
  start: number;
  lf: number;
  line: number;
  slow: boolean;
  fields: { text: string; quoted: number }[];
}

/** Runs the splitter over `text` read in one buffer; returns its rows and counters. */
function splitAll(text: string, opts: { width: number; crlf?: boolean; atEnd?: boolean; delim?: string }) {
  const bytes = Buffer.from(text, 'latin1');
  const s = new RowSplitter(
    Math.max(bytes.length, 1),
    (opts.delim ?? ';').charCodeAt(0),
    !!opts.crlf,
    opts.width,
  );
  bytes.copy(s.buffer);
  const rows: Row[] = [];
  let from = 0;
  let newlines = 0;
  let calls = 0;
  for (;;) {
    const n = s.split(from, bytes.length, opts.atEnd ?? true);
    calls++;
    for (let r = 0; r < n; r++) {
      const o = r * s.stride;
      const t = s.rows;
      const row: Row = {
        start: t[o]!,
        lf: t[o + 1]!,
        line: newlines + t[o + 2]!,
        slow: t[o + 3] === 1,
        fields: [],
      };
      if (!row.slow) {
        for (let k = 0; k < opts.width; k++) {
          const f = o + ROW_HEADER + k * FIELD_INTS;
          row.fields.push({ text: bytes.toString('latin1', t[f]!, t[f + 1]!), quoted: t[f + 2]! });
        }
      }
      rows.push(row);
    }
    newlines += s.newlines;
    from = s.consumed;
    if (!s.full(n)) break;
  }
  return { rows, newlines, consumed: from, calls };
}

describe('WebAssembly row splitter', () => {
  it('is built from split-rows.as: the committed module is what `npm run build:wasm` compiles', async () => {
    const wasm = await compileSplitRows();
    expect(generatedModule(wasm)).toContain(`'${SPLIT_ROWS_WASM}'`);
    expect(wasm.length).toBeGreaterThan(500);
  });

  it('splits regular CRLF rows, quoted fields and doubled quotes, with their lines', () => {
    const text = 'a;"b;c";"x ""y"" z"\r\n\r\n1;;3\r\n';
    const { rows, newlines, consumed } = splitAll(text, { width: 3, crlf: true });
    expect(newlines).toBe(3);
    expect(consumed).toBe(text.length);
    expect(rows).toEqual([
      {
        start: 0,
        lf: 20,
        line: 0,
        slow: false,
        fields: [
          { text: 'a', quoted: 0 },
          { text: 'b;c', quoted: 1 },
          { text: 'x ""y"" z', quoted: 2 },
        ],
      },
      // the empty line 1 is counted, not returned
      {
        start: 23,
        lf: 28,
        line: 2,
        slow: false,
        fields: [
          { text: '1', quoted: 0 },
          { text: '', quoted: 0 },
          { text: '3', quoted: 0 },
        ],
      },
    ]);
  });

  it.each([
    ['a bare CR', 'a;b\rc;d\r\n', true],
    ['a CR inside quotes', 'a;"b\rc";d\r\n', true],
    ['a quote inside an unquoted field', 'a;b"c;d\r\n', true],
    ['text after a closing quote', 'a;"b"c;d\r\n', true],
    ['too few fields', 'a;b\r\n', true],
    ['too many fields', 'a;b;c;d\r\n', true],
    ['an LF-only line in a CRLF file', 'a;b;c\n', true],
    ['an empty LF-only line in a CRLF file', '\n', true],
    ['a CRLF line in an LF file', 'a;b;c\r\n', false],
    ['a blank line (spaces)', '   \n', false],
  ])('flags %s as slow (re-split in JS)', (_what, text, crlf) => {
    const { rows } = splitAll(text, { width: 3, crlf });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ start: 0, lf: text.length - 1, slow: true });
  });

  it('ends a quoted field with a line break at the LF, as a slow row, and goes on after it', () => {
    const { rows } = splitAll('a;"b\nc";d\n1;2;3\n', { width: 3 });
    expect(rows.map((r) => [r.start, r.lf, r.line, r.slow])).toEqual([
      [0, 4, 0, true],
      [5, 9, 1, true],
      [10, 15, 2, false],
    ]);
  });

  it('stops before an incomplete last line unless at the end of the range, where it is slow', () => {
    const text = '1;2;3\n4;5';
    const more = splitAll(text, { width: 3, atEnd: false });
    expect(more.rows).toHaveLength(1);
    expect(more.consumed).toBe(6);
    const end = splitAll(text, { width: 3, atEnd: true });
    expect(end.rows.at(-1)).toMatchObject({ start: 6, lf: text.length, slow: true });
    expect(end.newlines).toBe(1);
  });

  it('fills its row table and resumes where it stopped (200,000 rows)', () => {
    const text = Array.from({ length: 200_000 }, (_, i) => `${i % 10};"${i % 7}"\n`).join('');
    const { rows, newlines, calls } = splitAll(text, { width: 2 });
    expect(calls).toBeGreaterThan(1);
    expect(newlines).toBe(200_000);
    expect(rows).toHaveLength(200_000);
    expect(rows.every((r, i) => r.line === i && !r.slow && r.fields[1]!.text === String(i % 7))).toBe(true);
  });

  it('never loses a line: any input gives rows whose fields rebuild the line exactly (fast-check)', () => {
    const cell = fc.stringMatching(/^[a;"\r\n ]{0,6}$/);
    const line = fc.array(
      fc.oneof(
        cell,
        cell.map((c) => `"${c.replaceAll('"', '""')}"`),
      ),
      { minLength: 1, maxLength: 4 },
    );
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 12 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 4 }),
        (lines, crlf, width) => {
          const text = lines.map((l) => l.join(';') + (crlf ? '\r\n' : '\n')).join('');
          const { rows, newlines, consumed } = splitAll(text, { width, crlf });
          expect(consumed).toBe(text.length);
          expect(newlines).toBe(text.split('\n').length - 1);
          const lineOf = (at: number) => text.slice(0, at).split('\n').length - 1;
          let prev = -1;
          for (const r of rows) {
            expect(r.start).toBeGreaterThan(prev);
            prev = r.start;
            expect(text[r.lf]).toBe('\n');
            expect(r.line).toBe(lineOf(r.start));
            if (r.slow) continue;
            const body = text.slice(r.start, crlf ? r.lf - 1 : r.lf);
            expect(r.fields.map((f) => (f.quoted ? `"${f.text}"` : f.text)).join(';')).toBe(body);
            expect(body.includes('\r')).toBe(false);
          }
          // Every line is a row but the empty ones (as the file's line ending makes them).
          for (const [i, l] of text.split('\n').slice(0, -1).entries()) {
            expect(rows.some((r) => r.line === i)).toBe(l !== (crlf ? '\r' : ''));
          }
        },
      ),
      { numRuns: 400, seed: 20251124 },
    );
  });
});
