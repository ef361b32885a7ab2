/**
 * Values off the fast reader's common forms (`583.0`, `22.86333`) must give what the csv-parse reader
 * gives: same rows, same sums, same rejects (reason, line, detail, raw) — decimal flows, French commas,
 * quoted or padded numbers, negative, empty, `NaN`-like and exponent forms, values beyond the compact
 * codes. Each case is compared with one range and three, through spilled day blocks too. (Speed and
 * memory on such values: `npm run bench`, the decimal-flow files.)
 */
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPTAGES_HEADER, generateComptages } from '../../../bench/gen-comptages.ts';
import type { ArcDay } from '../arc-day.ts';
import { expectSame, exportRow } from './same-as-reference.ts';

/** Flow cells: accepted (any decimal form parseDecimal takes) and rejected ones. */
const FLOWS = [
  '583.1',
  '583.10',
  '0.5',
  '.5',
  '5.',
  '0',
  '-0',
  '-0.0',
  '12,5',
  ' 583.1 ',
  '\t7.25',
  '"583.1"',
  '" 583.1 "',
  '',
  ' ',
  '""',
  '6553.3',
  '65533',
  '65534',
  '65535',
  '70000.5',
  '123456.789',
  '999999999999999',
  '1234567890123456',
  '12345678901234567890.5',
  '0.000000000000000001',
  '9007199254740993',
  // rejected
  '-4',
  '-4.0',
  '-3,5',
  '-0.1',
  ' -12.50 ',
  '1e3',
  '1E3',
  '5.831e2',
  '1e-7',
  'NaN',
  'nan',
  'Infinity',
  '-Infinity',
  '+5',
  '0x10',
  '583.1.2',
  '5,8,3',
  ',5',
  '5,',
  '-',
  '.',
  'douze',
];

/** Occupancy cells (0–100): accepted and rejected ones. */
const OCCUPANCIES = [
  '33.3',
  '33.333333333',
  '100',
  '100.0',
  '100.00000',
  '0',
  '-0',
  '0.00001',
  '0.000001',
  '12,34567',
  '"50"',
  ' 7.5 ',
  '',
  // rejected
  '100.00001',
  '150.0',
  '-0.5',
  '-1',
  '1e1',
  'NaN',
  '+1',
];

const DAY = '2024-03-05';

/** Row `i` of a value case: its own arc and hour so no case hides another (24 hours per arc). */
const caseRow = (i: number, flow: string, occ: string): string =>
  exportRow({
    0: String(7000 + Math.floor(i / 24)),
    2: `${DAY}T${String(i % 24).padStart(2, '0')}:00:00+01:00`,
    3: flow,
    4: occ,
  });

/** Total flow and occupancy of every arc-day (what a sum downstream sees). */
function sums(days: Map<string, ArcDay[]>): { flow: number; occupancy: number; rows: number } {
  let flow = 0;
  let occupancy = 0;
  let rows = 0;
  for (const list of days.values())
    for (const a of list) {
      rows += a.rows;
      for (const f of a.flow) flow += f ?? 0;
      for (const o of a.occupancy) occupancy += o ?? 0;
    }
  return { flow, occupancy, rows };
}

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fast-values-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Same as the csv-parse reader with 1 and 3 ranges, several buckets, every day spilled. */
async function expectSameEverywhere(path: string) {
  let last: Awaited<ReturnType<typeof expectSame>> | null = null;
  for (const [workers, extra] of [
    [1, {}],
    [3, { buckets: 3 }],
    [2, { spillSlots: 1, buckets: 2 }],
  ] as const) {
    last = await expectSame(path, workers, undefined, extra);
    expect(last.fast.mode).toMatchObject({ parser: 'fast', ranges: workers });
    expect(sums(last.arcDays)).toEqual(sums(last.ref.arcDays));
  }
  return last!;
}

describe('fast reader = csv-parse reader on values off the common forms', () => {
  it('every flow form (with a common occupancy) and every occupancy form (with a decimal flow)', async () => {
    const path = join(dir, 'forms.csv');
    const rows = [
      ...FLOWS.map((flow, i) => caseRow(i, flow, '22.86333')),
      ...OCCUPANCIES.map((occ, i) => caseRow(FLOWS.length + i, '583.1', occ)),
      // Both off the codes in one cell, and a row per arc-day with only side values.
      caseRow(FLOWS.length + OCCUPANCIES.length, '70000.5', '33.333333333'),
      // Lines of blanks are one-field records (csv-parse skips empty lines only), raw as written.
      '   \r\n',
      '\t\r\n',
    ];
    await writeFile(path, `\uFEFF${COMPTAGES_HEADER}\r\n${rows.join('')}`);
    const { fast, ref } = await expectSameEverywhere(path);
    // Guards against a vacuous comparison: every kind of outcome is there.
    expect(ref.rows).toBeGreaterThan(40);
    for (const reason of [
      'negative_flow',
      'non_numeric_flow',
      'occupancy_out_of_range',
      'non_numeric_occupancy',
    ])
      expect(fast.rejectCounts[reason]).toBeGreaterThan(2);
    const flows = [...ref.arcDays.values()].flat().flatMap((a) => a.flow);
    expect(flows).toEqual(expect.arrayContaining([583.1, 0.5, 12.5, 70000.5, 123456.789, -0]));
    // The rejects carry the cell's text as written (trimmed), e.g. '-4.0', not the number.
    const details = fast.rejects.map((r) => r.detail);
    expect(details).toEqual(expect.arrayContaining(['-4.0', '-3,5', '-12.50', '150.0', '1e3']));
    expect(fast.rejectCounts.wrong_column_count).toBe(2);
  });

  it('a generated file with decimal flows (bench/gen-comptages --flows decimal) and bad rows', async () => {
    const path = join(dir, 'decimal.csv');
    await generateComptages({
      sizeBytes: 3_000_000,
      out: path,
      seed: 17,
      arcs: 200,
      badPerMillion: 3000,
      flows: 'decimal',
    });
    // Then every flow form at the end of the file (a later range), on a day of its own.
    await appendFile(path, FLOWS.map((flow, i) => caseRow(i, flow, '22.86333')).join(''));
    const { ref } = await expectSameEverywhere(path);
    const flows = [...ref.arcDays.values()].flat().flatMap((a) => a.flow);
    const decimals = flows.filter((f) => f !== null && !Number.isInteger(f));
    // Nearly every generated flow has a decimal (empty ones and the hand-made integers aside).
    expect(decimals.length).toBeGreaterThan(0.8 * flows.filter((f) => f !== null).length);
    expect(ref.rejected).toBeGreaterThan(0);
  });
});
