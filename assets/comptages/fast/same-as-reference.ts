/**
 * Test support: the csv-parse path (parse.ts + ArcDayAccumulator) as the reference the fast reader is
 * compared with, the comparison itself (same ArcDay records, rejects, counts), and one export-format
 * row to build edge cases from. Used by the fast reader's tests only.
 */
import { expect } from 'vitest';
import type { QuarantineRecord } from '../../../engine/quarantine.ts';
import type { ArcDay } from '../arc-day.ts';
import { ArcDayAccumulator } from '../aggregate.ts';
import { parseComptagesFile } from '../parse.ts';
import { collectArcDays, readComptagesFast } from './reader.ts';

export interface Reference {
  arcDays: Map<string, ArcDay[]>;
  rejects: QuarantineRecord[];
  rows: number;
  skipped: number;
  rejected: number;
  unknownEtat: number;
}

export async function reference(path: string, days?: ReadonlySet<string>): Promise<Reference> {
  const acc = new ArcDayAccumulator();
  const rejects: QuarantineRecord[] = [];
  const r = await parseComptagesFile(
    { path, key: 'f.csv' },
    (x) => rejects.push(x),
    (row) => acc.add(row),
    days ? { days } : {},
  );
  return { arcDays: new Map(acc.days().map((d) => [d, acc.arcDays(d)])), rejects, ...r };
}

export async function expectSame(
  path: string,
  workers: number,
  days?: ReadonlySet<string>,
  extra: { spillSlots?: number; buckets?: number } = {},
) {
  const ref = await reference(path, days);
  const fast = await readComptagesFast(
    { path, key: 'f.csv' },
    { workers, ...(days ? { days } : {}), ...extra },
  );
  const arcDays = collectArcDays(fast);
  expect(arcDays).toEqual(ref.arcDays);
  expect(fast.rejects).toEqual(ref.rejects);
  expect({
    rows: fast.rows,
    skipped: fast.skipped,
    rejected: fast.rejected,
    unknownEtat: fast.unknownEtat,
  }).toEqual({
    rows: ref.rows,
    skipped: ref.skipped,
    rejected: ref.rejected,
    unknownEtat: ref.unknownEtat,
  });
  const counts: Record<string, number> = {};
  for (const r of ref.rejects) counts[r.reason] = (counts[r.reason] ?? 0) + 1;
  expect(fast.rejectCounts).toEqual(counts);
  return { fast, ref, arcDays };
}

/** One export-format row; `over` replaces fields by index (0 arc, 1 libelle, 2 date, 3 flow, 4 occ, 5 etat). */
export function exportRow(over: Record<number, string>): string {
  const f = [
    '4264',
    'AV_Champs_Elysees',
    '2024-10-27T01:00:00+02:00',
    '1034.0',
    '22.86333',
    'Fluide',
    '2294',
    'Av_Champs_Elysees-Washington',
    '2293',
    'Av_Champs_Elysees-Berri',
    'Invalide',
    '1996-10-10',
    '2023-01-01',
    '48.87153587897717, 2.3017227924560615',
    '"{""coordinates"": [[2.3009951475338766, 48.87177704259844], [2.302450437378247, 48.87129471535591]], ""type"": ""LineString""}"',
  ];
  for (const [i, v] of Object.entries(over)) f[Number(i)] = v;
  return f.join(';') + '\r\n';
}
