/**
 * `comptages_arc_days` as an Arrow table: every ArcDay field survives the table and its IPC bytes, and
 * `comptages_metrics` read from the columns produces exactly the documents the JSON arc-days gave
 * (goldens of commit ddbc118, canonical JSON per day) on the bundled sample and the road-count fixtures.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Table, Utf8, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { decodeValue, encodeValue } from '../engine/encode.ts';
import { QuarantineCollector } from '../engine/quarantine.ts';
import { ArcDayAccumulator } from '../assets/comptages/aggregate.ts';
import {
  ArcDayTableSchema,
  arcDayColumns,
  arcDaysOfColumns,
  arcDaysToTable,
  ColumnBuffers,
  type ArcDayTable,
} from '../assets/comptages/arc-day-table.ts';
import { readComptagesFast } from '../assets/comptages/fast/reader.ts';
import { parseComptagesFile } from '../assets/comptages/parse.ts';
import { generateComptages } from '../bench/gen-comptages.ts';
import { DATASETS, goldenPath, metricsOf } from './comptages-golden.ts';

const REAL = fileURLToPath(new URL('./fixtures/real/comptages-routiers-permanents/', import.meta.url));

/**
 * The table with its string columns rebuilt by Arrow's own `vectorFromArray`: the builder writes them
 * straight into their buffers (with a cache of encoded strings), and must give the same bytes.
 */
const withArrowStrings = (t: ArcDayTable): Table =>
  new Table({
    ...Object.fromEntries(t.schema.fields.map((f) => [f.name, t.getChild(f.name)!])),
    ...Object.fromEntries(
      ['arc_id', 'day', 'libelle'].map((c) => [
        c,
        vectorFromArray([...t.getChild(c)!].map(String), new Utf8()),
      ]),
    ),
  });

/** The arc-days of two real exports (Champs-Élysées 2023–2024, Convention 2021–2022). */
async function twoRealArcs(): Promise<ArcDayAccumulator> {
  const acc = new ArcDayAccumulator();
  for (const f of ['champs-elysees_arc4264_2023-2024_export.csv', 'convention_arc5671_2021-2022_export.csv'])
    await parseComptagesFile({ path: REAL + f, key: f }, new QuarantineCollector().add, (r) => acc.add(r));
  return acc;
}

describe('arc-day tables', () => {
  it('keep every field of every ArcDay through the Arrow IPC bytes (nulls, decimals, states, no point)', async () => {
    const acc = await twoRealArcs();
    const days = ['2024-03-04', '2021-11-02', '2024-10-27', '2024-03-31'];
    let rows = 0;
    for (const day of days) {
      const list = acc.arcDays(day);
      rows += list.length;
      const table = arcDaysToTable(list);
      expect((await ArcDayTableSchema.safeParseAsync(table)).success).toBe(true);
      const enc = await encodeValue(table, 'arrow');
      const back = (await decodeValue(Buffer.concat(enc.chunks), 'arrow')) as ArcDayTable;
      expect(arcDaysOfColumns(arcDayColumns(back))).toEqual(list);
      // Deterministic: the same records encode to the same bytes.
      expect((await encodeValue(arcDaysToTable(acc.arcDays(day)), 'arrow')).sha256).toBe(enc.sha256);
      expect((await encodeValue(withArrowStrings(table), 'arrow')).sha256).toBe(enc.sha256);
    }
    expect(rows).toBeGreaterThan(0);
    // Hand-made records: a missing point, a decimal flow, a state outside the five, an empty day.
    const odd = [
      {
        arc_id: '1',
        day: '2024-01-01',
        libelle: 'é "x"',
        flow: [583.1, ...Array<null>(23).fill(null)],
        occupancy: Array<null>(24).fill(null),
        etat: ['Saturé', 'Autre', ...Array<null>(22).fill(null)],
        geo_point: null,
        row_length_m: null,
        rows: 1,
      },
    ];
    const oddEnc = await encodeValue(arcDaysToTable(odd), 'arrow');
    expect((await encodeValue(withArrowStrings(arcDaysToTable(odd)), 'arrow')).sha256).toBe(oddEnc.sha256);
    const t = await decodeValue(Buffer.concat(oddEnc.chunks), 'arrow');
    expect(arcDaysOfColumns(arcDayColumns(t as ArcDayTable))).toEqual(odd);
    const empty = await decodeValue(
      Buffer.concat((await encodeValue(arcDaysToTable([]), 'arrow')).chunks),
      'arrow',
    );
    expect((empty as ArcDayTable).numRows).toBe(0);
    expect((await ArcDayTableSchema.safeParseAsync(empty)).success).toBe(true);
  });

  it('built in reused buffers (strings included), give the bytes of fresh ones', async () => {
    const acc = await twoRealArcs();
    // Days of one arc and of two, in turn: buffers handed back by a larger day serve a smaller one.
    const days = ['2024-03-04', '2021-11-02', '2024-10-27', '2021-11-03', '2024-03-31', '2021-11-04'];
    const buffers = new ColumnBuffers();
    const seen = new Set<ArrayBufferLike>();
    let reused = 0;
    for (const day of days) {
      const fresh = await encodeValue(arcDaysToTable(acc.arcDays(day)), 'arrow');
      const table = arcDaysToTable(acc.arcDays(day), buffers);
      expect((await encodeValue(table, 'arrow')).sha256).toBe(fresh.sha256);
      const strings = table.getChild('libelle')!.data[0]!.values.buffer;
      if (seen.has(strings)) reused++;
      seen.add(strings);
      buffers.giveBack(table);
    }
    expect(reused).toBeGreaterThan(0);
  });
});

describe('the fast reader writes tables straight into the columns', () => {
  it('the same values as its ArcDay records, day by day (generated file: decimals, DST days, several workers)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cityflow-columnar-'));
    try {
      const path = join(dir, 'c.csv');
      // Around the autumn change (a repeated hour) with decimal flows (side columns of the blocks).
      await generateComptages({
        sizeBytes: 3e6,
        out: path,
        seed: 7,
        arcs: 60,
        startDay: '2024-10-25',
        flows: 'decimal',
      });
      const file = { path, key: 'c.csv' };
      const asRecords = await readComptagesFast(file, { workers: 2, buckets: 3 });
      const asTables = await readComptagesFast(file, { workers: 2, buckets: 3 });
      expect(asTables.days).toEqual(asRecords.days);
      expect(asRecords.days).toContain('2024-10-27');
      for (const day of asRecords.days) {
        const records = asRecords.takeArcDays(day);
        const table = asTables.takeArcDayTable(day);
        expect(table.numRows).toBe(records.length);
        expect(arcDaysOfColumns(arcDayColumns(table))).toEqual(records);
        expect((await encodeValue(table, 'arrow')).sha256).toBe(
          (await encodeValue(arcDaysToTable(records), 'arrow')).sha256,
        );
      }
      expect(asTables.takeArcDayTable(asRecords.days[0]!).numRows).toBe(0); // taken: freed
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('comptages_metrics from the columns = the documents of the JSON arc-days', () => {
  for (const name of Object.keys(DATASETS))
    it(`${name}: same metrics JSON, day by day`, async () => {
      const golden = JSON.parse(await readFile(goldenPath(name), 'utf8')) as Record<string, string>;
      expect(Object.keys(golden).length).toBeGreaterThan(0);
      expect(await metricsOf(name)).toEqual(golden);
    }, 60_000);
});
