/**
 * Second pass of the fast reader: aggregates the day buckets the range scans wrote (row-buckets.ts)
 * into day blocks, one bucket at a time. For a bucket, the records of range 0, then range 1, … are
 * replayed, i.e. its rows in file order, so the single-pass rules hold across ranges too: an hour
 * slot keeps the first row in file order (a later range's row at an instant already taken is a
 * `duplicate_row`), first-seen values come from the earliest row that has them.
 *
 * Within a range the scanner already applied these rules (range-local). Two cases cannot be settled
 * from the records alone, and are reported as `unsettled` (the caller then re-reads the file as one
 * range): a cross-range duplicate that supplied a first-seen value still unset (the value should come
 * from a later row of that range), and an offset-less autumn time whose summer-first choice in its
 * range is contradicted by an earlier range.
 */
import { CompactArcDays, type SpillOptions } from './compact-arc-days.ts';
import type { InternTables } from './intern.ts';
import { forEachRecord, type BucketFile } from './row-buckets.ts';
import { offsetMinutesOf } from './value-codes.ts';

export interface ReplayTask {
  /** Every range's bucket file and tables, in file order. */
  ranges: { file: BucketFile; names: InternTables }[];
  /** The buckets to aggregate. */
  buckets: number[];
  /** Memory budget and scratch file for the finished day blocks; none = all in memory. */
  spill?: SpillOptions;
}

/** A row of a later range at an instant an earlier range already has. */
export interface CrossRangeDuplicate {
  range: number;
  arcId: string;
  dayNum: number;
  hour: number;
  offsetMinutes: number;
}

export interface ReplayResult {
  acc: CompactArcDays;
  duplicates: CrossRangeDuplicate[];
  /** Why the ranges cannot be merged exactly, or null. */
  unsettled: string | null;
}

export function replayBuckets(task: ReplayTask): ReplayResult {
  const acc = new CompactArcDays(task.spill ? { ...task.spill } : null);
  const maps = task.ranges.map((r) => acc.names.mapFrom(r.names));
  const duplicates: CrossRangeDuplicate[] = [];
  let unsettled: string | null = null;
  try {
    for (const b of task.buckets) {
      for (let ri = 0; ri < task.ranges.length && unsettled === null; ri++) {
        const m = maps[ri]!;
        forEachRecord(task.ranges[ri]!.file, b, (r) => {
          if (unsettled !== null) return;
          const arc = m.arc[r.arc]!;
          let slot = acc.select(arc, r.day);
          const blk = acc.cur;
          // Range 0's records never collide (its scan rejected its own duplicates).
          if (slot >= 0 && ri > 0 && blk.has(slot, r.hour, r.off)) {
            if (r.ambiguous) unsettled = 'an offset-less autumn time straddles two ranges';
            else if (
              (r.lib !== 0 && blk.lib[slot] === 0) ||
              (r.geo !== 0 && blk.geo[slot] === 0) ||
              (r.len !== 0 && blk.len[slot] === 0)
            )
              unsettled = 'a row repeated across ranges supplied a first-seen value';
            duplicates.push({
              range: ri,
              arcId: acc.arcIds[arc]!,
              dayNum: r.day,
              hour: r.hour,
              offsetMinutes: offsetMinutesOf(r.off),
            });
            return;
          }
          if (slot < 0) slot = blk.addSlot(arc);
          blk.put(slot, r.hour, r.off, r.flowCode, r.occCode, r.etat, r.flowSide, r.occSide);
          if (r.lib !== 0 && blk.lib[slot] === 0) blk.lib[slot] = m.lib[r.lib]!;
          if (r.geo !== 0 && blk.geo[slot] === 0) blk.geo[slot] = m.geo[r.geo]!;
          if (r.len !== 0 && blk.len[slot] === 0) blk.len[slot] = m.len[r.len]!;
        });
      }
      if (unsettled !== null) break;
    }
  } finally {
    acc.closeSpill();
  }
  return { acc, duplicates, unsettled };
}
