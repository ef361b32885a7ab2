/**
 * The fast reader must give exactly what the csv-parse path gives (parse.ts + ArcDayAccumulator):
 * same ArcDay records (deep-equal), same rejects (reason, line, detail, raw), same counts — with one
 * range and with three ranges cut at arbitrary byte positions.
 */
import { appendFile, copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateComptages, COMPTAGES_HEADER } from '../../../bench/gen-comptages.ts';
import { readLayout } from './layout.ts';
import { collectArcDays, readComptagesFast } from './reader.ts';
import { replayBuckets } from './replay.ts';
import { expectSame, exportRow, reference } from './same-as-reference.ts';
import { scanRange } from './scan-range.ts';

const REAL = fileURLToPath(
  new URL('../../../test/fixtures/real/comptages-routiers-permanents/', import.meta.url),
);
const FIXTURES = [
  'champs-elysees_arc4264_2023-2024_export.csv',
  'convention_arc5671_2021-2022_export.csv',
  'DERIVED_historique-api-fieldnames_st-antoine_arc376_2023.csv',
  // availability dates written DD/MM/YYYY (10/10/1996;01/01/2023), BOM, LF, time-sorted
  'VARIANT_ddmmyyyy-dispo_champs-elysees_arc4264_2025-10-25_to_2025-11-07_excerpt.csv',
];
const FIXTURE_ROWS: Record<string, number> = {
  'champs-elysees_arc4264_2023-2024_export.csv': 1000,
  'convention_arc5671_2021-2022_export.csv': 1000,
  'DERIVED_historique-api-fieldnames_st-antoine_arc376_2023.csv': 500,
  'VARIANT_ddmmyyyy-dispo_champs-elysees_arc4264_2025-10-25_to_2025-11-07_excerpt.csv': 336,
};

/** This process's road-count scratch dirs (others may come and go: other test files run alongside). */
const scratchDirs = async (): Promise<string[]> =>
  (await readdir(tmpdir())).filter((d) => d.startsWith(`cityflow-comptages-${process.pid}-`));

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fast-reader-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readComptagesFast = csv-parse path', () => {
  for (const name of FIXTURES) {
    for (const workers of [1, 3]) {
      it(`real fixture ${name}, ${workers} range(s)`, async () => {
        const { fast } = await expectSame(join(REAL, name), workers);
        expect(fast.mode.parser).toBe('fast');
        // Fixture sizes in data rows, none rejected (parse.test.ts counts them).
        expect(fast.rows).toBe(FIXTURE_ROWS[name]);
        expect(fast.rejected).toBe(0);
      });
    }
  }

  it('generated ~5 MB file with bad rows, edge rows and cross-range duplicates, 1 and 3 ranges', async () => {
    const path = join(dir, 'gen.csv');
    const gen = await generateComptages({ sizeBytes: 5_000_000, out: path, seed: 7, badPerMillion: 3000 });
    expect(gen.badRows).toBeGreaterThan(0);
    // Rows appended at the end duplicate instants of the first data lines (which sit in range 0).
    const lines = (await readFile(path, 'utf8')).split('\r\n');
    const copies = lines.slice(1, 40).filter((l) => !l.includes('not-a-date'));
    const edge = [
      ...copies.map((l) => l + '\r\n'),
      exportRow({ 3: ' 12 ', 4: '3,5' }), // spaces trimmed, French decimal comma
      exportRow({ 0: '"4264"', 2: '2024-10-27T02:00:00+02:00' }), // quoted arc id; autumn hour, summer half
      exportRow({ 2: '2024-10-27T02:00:00+01:00', 3: '10.0', 4: '40', 5: 'Saturé' }), // winter half
      exportRow({ 2: '2024-10-27T02:00:00+01:00' }), // duplicate of the winter half
      exportRow({ 2: '2024-10-27 03:00:00' }), // no offset: Paris wall clock
      exportRow({ 2: '2024-10-27T05:00:00Z', 5: 'FLU' }), // Z, folded state
      exportRow({ 2: '2024-10-27T06:30:00+01:00' }), // not on the hour
      exportRow({ 3: '-4' }),
      exportRow({ 4: '100.5' }),
      exportRow({ 0: '', 2: '2024-10-27T07:00:00+01:00' }),
      exportRow({ 5: 'Embouteillé', 2: '2024-10-27T08:00:00+01:00' }), // unknown state → Inconnu, counted
      exportRow({ 0: '04264', 1: '', 2: '2024-10-27T09:00:00+01:00' }), // leading zero: another arc id
      // Values the compact state cannot hold scaled (kept exact in its side tables):
      exportRow({ 2: '2024-10-27T10:00:00+01:00', 3: '12.5', 4: '12.1234567' }), // decimals beyond the scale
      exportRow({ 2: '2024-10-27T11:00:00+01:00', 3: '70000', 4: '-0' }), // flow over 16 bits, -0 occupancy
      exportRow({ 2: '2024-10-27T12:00:00+01:00', 3: '-0', 4: '0.0000001' }), // -0 flow, 7-decimal occupancy
      '\r\n',
      '4264;short;row\r\n',
    ];
    await appendFile(path, edge.join(''));
    // One day bucket (the default for small files), then five: several buckets, several 32 KB chunks
    // each, shared out among the aggregating workers.
    for (const [workers, buckets] of [
      [1, undefined],
      [3, undefined],
      [1, 5],
      [3, 5],
    ] as const) {
      const { fast } = await expectSame(path, workers, undefined, buckets ? { buckets } : {});
      expect(fast.mode).toMatchObject({ parser: 'fast', ranges: workers });
      // 39 copied lines minus the bad ones among them are duplicates, +1 hand-made duplicate.
      expect(fast.rejectCounts.duplicate_row).toBeGreaterThanOrEqual(copies.length - 3);
      expect(fast.rejectCounts.timestamp_not_on_hour).toBe(1);
      expect(fast.rejectCounts.missing_arc_id).toBe(1);
      expect(fast.unknownEtat).toBe(1);
    }
    const day = (await readComptagesFast({ path, key: 'f.csv' }, { workers: 3 })).takeArcDays('2024-10-27');
    const arc = day.find((a) => a.arc_id === '4264')!;
    // Slot 2 = 02:00+02:00 (1034 veh, 22.86333 %, Fluide) + 02:00+01:00 (10 veh, 40 %, Saturé):
    // flows added 1044, occupancies averaged (22.86333 + 40) / 2, the more severe state.
    expect(arc.flow[2]).toBe(1044);
    expect(arc.occupancy[2]).toBeCloseTo(31.431665, 9);
    expect(arc.etat[2]).toBe('Saturé');
    // Slot 1 holds ' 12 ' / '3,5' → 12 and 3.5.
    expect([arc.flow[1], arc.occupancy[1]]).toEqual([12, 3.5]);
    // Side-table values come back as Number(text) gives them, -0 included.
    expect([arc.flow[10], arc.occupancy[10], arc.flow[11], arc.flow[12]]).toEqual([
      12.5, 12.1234567, 70000, -0,
    ]);
    // The accumulator sums occupancies from 0, so a -0 occupancy reads back as +0 on both paths.
    expect(Object.is(arc.occupancy[11], 0)).toBe(true);
    expect(arc.occupancy[12]).toBe(1e-7);
  });

  it('cold days spilled to disk (budget of 1 arc-day per worker): same result, scratch files removed', async () => {
    const path = join(dir, 'spill.csv');
    // 20 arcs over ≈ 12 days, rows shuffled across 3-hour blocks (5-hour blocks straddle midnights: spilled days are
    // read back), then copies of the first lines (cross-range duplicates of a spilled day) and a late day.
    await generateComptages({ sizeBytes: 2_000_000, out: path, seed: 11, arcs: 20, blockHours: 5 });
    const lines = (await readFile(path, 'utf8')).split('\r\n');
    await appendFile(
      path,
      lines
        .slice(1, 30)
        .map((l) => l + '\r\n')
        .join('') + exportRow({}),
    );
    const before = await scratchDirs();
    for (const workers of [1, 3]) {
      const { fast } = await expectSame(path, workers, undefined, { spillSlots: 1 });
      expect(fast.days.length).toBeGreaterThan(10);
      expect(fast.rejectCounts.duplicate_row).toBe(29);
    }
    // collectArcDays took every day, so no spilled block is left and the scratch dir is gone.
    expect(await scratchDirs()).toEqual(before);
  });

  it('export order (days interleaved in short runs, as the real exports): same result, with and without spilling', async () => {
    const path = join(dir, 'export-order.csv');
    // 30 arcs over ≈ 10 days in random (day, arc, run) order, bad rows included; then copies of the first
    // lines, which duplicate rows of days that every range has.
    await generateComptages({
      sizeBytes: 2_500_000,
      out: path,
      seed: 13,
      arcs: 30,
      order: 'export',
      badPerMillion: 3000,
    });
    const lines = (await readFile(path, 'utf8')).split('\r\n');
    await appendFile(
      path,
      lines
        .slice(1, 25)
        .filter((l) => !l.includes('not-a-date') && l.split(';').length === 15)
        .map((l) => l + '\r\n')
        .join(''),
    );
    for (const [workers, spillSlots, buckets] of [
      [1, undefined, undefined],
      [3, undefined, undefined],
      [3, 5, undefined],
      [3, undefined, 4],
      [2, 5, 3],
    ] as const) {
      const extra = { ...(spillSlots ? { spillSlots } : {}), ...(buckets ? { buckets } : {}) };
      const { fast } = await expectSame(path, workers, undefined, extra);
      expect(fast.mode).toMatchObject({ parser: 'fast', ranges: workers });
      expect(fast.days.length).toBeGreaterThanOrEqual(8);
      expect(fast.rejectCounts.duplicate_row).toBeGreaterThan(0);
    }
  });

  it('takeArcDays frees the day it returns: a second call gives []', async () => {
    const res = await readComptagesFast({ path: join(REAL, FIXTURES[0]!), key: 'f.csv' }, { workers: 2 });
    const first = res.days[0]!;
    // champs-elysees export: one arc (4264), so every day has exactly one record.
    expect(res.takeArcDays(first)).toHaveLength(1);
    expect(res.takeArcDays(first)).toEqual([]);
    expect(res.takeArcDays('1999-01-01')).toEqual([]);
  });

  it('days filter: only the chosen days, same skipped count', async () => {
    const path = join(dir, 'days.csv');
    await generateComptages({ sizeBytes: 1_500_000, out: path, seed: 3, arcs: 50 });
    const { fast } = await expectSame(path, 3, new Set(['2025-01-02']));
    expect(fast.days).toEqual(['2025-01-02']);
    expect(fast.skipped).toBeGreaterThan(0);
  });

  it('a duplicate that supplied a first-seen libelle in a later range: re-read as one range', async () => {
    const path = join(dir, 'lib.csv');
    const filler = (i: number): string =>
      exportRow({ 0: String(9000 + i), 2: `2024-03-0${1 + (i % 5)}T1${i % 10}:00:00+01:00` });
    const rows = [
      exportRow({ 1: '', 2: '2024-03-10T05:00:00+01:00' }), // range 0: no libelle
      ...Array.from({ length: 60 }, (_, i) => filler(i)),
      exportRow({ 1: 'X', 2: '2024-03-10T05:00:00+01:00' }), // later range: duplicate, would give 'X'
      exportRow({ 1: 'Y', 2: '2024-03-10T06:00:00+01:00' }), // single pass gives 'Y'
    ];
    await writeFile(path, `\uFEFF${COMPTAGES_HEADER}\r\n${rows.join('')}`);
    const { fast, ref } = await expectSame(path, 3);
    expect(ref.arcDays.get('2024-03-10')![0]!.libelle).toBe('Y');
    expect(fast.mode.note).toMatch(/one range/);
  });

  it('a file repeated end to end: every row of the copy counted as a duplicate, a few kept in detail', async () => {
    const path = join(dir, 'twice.csv');
    await generateComptages({ sizeBytes: 600_000, out: path, seed: 21, arcs: 40 });
    const text = await readFile(path, 'utf8');
    const body = text.slice(text.indexOf('\r\n') + 2);
    await appendFile(path, body); // the data lines once more: the second range is the copy
    const ref = await reference(path);
    const fast = await readComptagesFast({ path, key: 'f.csv' }, { workers: 2, maxRejects: 5 });
    expect(collectArcDays(fast)).toEqual(ref.arcDays);
    expect(fast.rows).toBe(ref.rows);
    expect(fast.rejectCounts.duplicate_row).toBe(ref.rows); // each row of the copy, exactly once
    expect(fast.rejectCounts.duplicate_row).toBe(ref.rejects.length);
    // Only 5 kept in detail (not necessarily the first by line past maxRejects): each a real row of
    // the copy, with its line and text as the csv-parse reader reports it.
    expect(fast.rejects).toHaveLength(5);
    const refByLine = new Map(ref.rejects.map((r) => [r.line, r]));
    for (const r of fast.rejects) expect(r).toEqual(refByLine.get(r.line));
  });

  it('an offset-less autumn time repeated in a later range: re-read as one range', async () => {
    const path = join(dir, 'autumn.csv');
    const filler = (i: number): string =>
      exportRow({ 0: String(9000 + i), 2: `2024-03-0${1 + (i % 5)}T1${i % 10}:00:00+01:00` });
    const rows = [
      exportRow({ 2: '2024-10-27 02:00:00', 3: '5' }), // range 0: the summer half (02:00+02:00)
      ...Array.from({ length: 60 }, (_, i) => filler(i)),
      // A later range alone would also read this as the summer half; the file order makes it the winter one.
      exportRow({ 2: '2024-10-27 02:00:00', 3: '7' }),
    ];
    await writeFile(path, `\uFEFF${COMPTAGES_HEADER}\r\n${rows.join('')}`);
    const { fast, ref } = await expectSame(path, 3);
    const arc = ref.arcDays.get('2024-10-27')!.find((a) => a.arc_id === '4264')!;
    expect([arc.flow[2], arc.rows]).toEqual([12, 2]);
    expect(fast.mode.note).toMatch(/one range/);
  });

  it('quoted line breaks or mixed line endings: falls back to csv-parse with the same answer', async () => {
    const path = join(dir, 'irregular.csv');
    await copyFile(join(REAL, FIXTURES[0]!), path);
    await appendFile(path, exportRow({ 1: '"Champs\nElysees"', 2: '2024-02-01T10:00:00+01:00' }));
    const { fast } = await expectSame(path, 3);
    expect(fast.mode.parser).toBe('csv-parse');
    // The bare LF inside the quotes is seen first as a line ending that differs from the header's CRLF.
    expect(fast.mode.note).toMatch(/line break|line endings/);
  });

  it('quote-heavy and unusual quoting the scanner handles itself: same answer, no fallback', async () => {
    const path = join(dir, 'quotes.csv');
    await copyFile(join(REAL, FIXTURES[0]!), path);
    const shape = (n: number): string =>
      `"{""coordinates"": [${Array.from({ length: n }, (_, i) => `[2.30${i}, 48.87${i}]`).join(', ')}], ""type"": ""LineString"", ""name"": ""a """"b"""" c""}"`;
    const rows = [
      exportRow({ 2: '2024-02-01T10:00:00+01:00', 14: shape(40) }), // long field, many doubled quotes
      exportRow({ 2: '2024-02-01T11:00:00+01:00', 1: '"Champs;Elysees"' }), // quoted, separator inside
      exportRow({ 2: '2024-02-01T12:00:00+01:00', 1: '""', 7: '"x ""y"""' }), // empty quoted; quotes mid-row
      exportRow({ 2: '2024-02-01T13:00:00+01:00', 13: '"48.87, 2.30"', 14: '' }), // quoted point, empty shape
      exportRow({ 0: '0', 2: '2024-02-01T14:00:00+01:00' }), // arc id 0
      exportRow({ 0: '123456789012', 2: '2024-02-01T15:00:00+01:00' }), // beyond the dense arc-id table
      exportRow({ 0: '123456789012', 2: '2024-02-01T15:00:00+01:00' }), // its duplicate
    ];
    await appendFile(path, rows.join(''));
    for (const workers of [1, 3]) {
      const { fast } = await expectSame(path, workers);
      expect(fast.mode.parser).toBe('fast');
      // The fixture's 1000 rows + 6 new ones; the repeated 123456789012 row is a duplicate_row.
      expect(fast.rows).toBe(1006);
      expect(fast.rejectCounts.duplicate_row).toBe(1);
    }
    const day = (await readComptagesFast({ path, key: 'f.csv' })).takeArcDays('2024-02-01');
    expect(day.map((a) => a.arc_id)).toEqual(expect.arrayContaining(['0', '123456789012', '4264']));
  });

  for (const [what, row, why] of [
    ['a CR inside a quoted field', exportRow({ 1: '"Champs\rElysees"' }), /bare CR/],
    [
      'a quote inside an unquoted field after a quoted one',
      exportRow({ 1: '"A"', 7: 'x"y' }),
      /quote inside/,
    ],
    ['a bare CR inside an unquoted field', exportRow({ 7: 'x\ry' }), /bare CR/],
    ['an unclosed quote', exportRow({ 14: '"{""a"": 1' }), /unclosed quote|line endings/],
  ] as const) {
    it(`${what}: falls back to csv-parse with the same answer`, async () => {
      const path = join(dir, 'irregular-2.csv');
      await copyFile(join(REAL, FIXTURES[0]!), path);
      await appendFile(path, row.replace('2024-10-27T01:00:00+02:00', '2024-02-01T10:00:00+01:00'));
      const { fast } = await expectSame(path, 2);
      expect(fast.mode.parser).toBe('csv-parse');
      expect(fast.mode.note).toMatch(why);
    });
  }

  it('a file cut inside its last quoted field (truncated download): fast path, same answer as csv-parse', async () => {
    const path = join(dir, 'truncated-in-quotes.csv');
    await copyFile(join(REAL, FIXTURES[0]!), path);
    const row = exportRow({ 2: '2024-02-01T10:00:00+01:00' });
    await appendFile(path, row.slice(0, row.indexOf('"{') + 20)); // no closing quote, no line break
    for (const workers of [1, 3]) {
      const { fast } = await expectSame(path, workers);
      expect(fast.mode).toMatchObject({ parser: 'fast', ranges: workers });
      expect(fast.rejects).toEqual([
        expect.objectContaining({
          reason: 'malformed_csv',
          line: 1002,
          detail: expect.stringMatching(/1002$/),
        }),
      ]);
    }
  });

  it('tiny read buffers (rows straddling every refill, buffer growth): same scan as the default', async () => {
    const path = join(dir, 'tiny-chunks.csv');
    await generateComptages({ sizeBytes: 300_000, out: path, seed: 5, arcs: 30, badPerMillion: 5000 });
    const head = await readLayout(path);
    if (head.ok !== true) throw new Error('layout');
    const scan = (chunkBytes?: number) => {
      const task = { path, key: 'f.csv', layout: head.layout, start: head.layout.dataStart };
      const r = scanRange({
        ...task,
        end: head.layout.fileSize,
        days: null,
        maxRejects: 100,
        buckets: { path: join(dir, `tiny-${chunkBytes}.bin`), count: 3 },
        ...(chunkBytes ? { chunkBytes } : {}),
      });
      const ranges = [{ file: r.buckets!, names: r.names }];
      const { acc } = replayBuckets({ ranges, buckets: [0, 1, 2], maxDuplicates: 100 });
      const days = acc.dayNumbers().map((d) => acc.takeArcDays(d));
      return { days, rows: r.rows, rejects: r.rejects, newlines: r.newlines, irregular: r.irregular };
    };
    const ref = scan();
    expect(ref.irregular).toBeNull();
    expect(ref.rejects.length).toBeGreaterThan(0);
    // 64 bytes is shorter than any row (≈ 345 B): each row needs the buffer grown, then straddles refills.
    for (const chunk of [64, 1000, 4099]) expect(scan(chunk)).toEqual(ref);
  });

  it('header only (no data range): empty result, no scratch dir left behind', async () => {
    const path = join(dir, 'header-only.csv');
    await writeFile(path, `\uFEFF${COMPTAGES_HEADER}\r\n`);
    const before = await scratchDirs();
    const { fast } = await expectSame(path, 2);
    expect(fast.days).toEqual([]);
    expect(await scratchDirs()).toEqual(before);
  });

  it('header without the required columns: one line-0 reject, as parse.ts', async () => {
    const path = join(dir, 'bad-header.csv');
    await writeFile(path, 'a;b;c\r\n1;2;3\r\n');
    await expectSame(path, 2);
  });
});
