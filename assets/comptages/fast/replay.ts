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
import { Interner, identityMaps, type InternTables } from './intern.ts';
import {
  AMBIGUOUS,
  HAS_GEO,
  HAS_LEN,
  HAS_LIB,
  forEachChunk,
  wordsToF64,
  type BucketFile,
} from './row-buckets.ts';
import { FLOW_SIDE, OCC_SIDE, offsetMinutesOf } from './value-codes.ts';

export interface ReplayTask {
  /** Every range's bucket file and tables, in file order. */
  ranges: { file: BucketFile; names: InternTables }[];
  /** The buckets to aggregate. */
  buckets: number[];
  /** Memory budget and scratch file for the finished day blocks; none = all in memory. */
  spill?: SpillOptions;
  /**
   * Cross-range duplicates kept in detail per range (the rest are counted): a file repeated end to end
   * makes every row of a later range a duplicate, and millions of details would not fit in memory.
   */
  maxDuplicates: number;
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
  /** At most `maxDuplicates` per range, in no particular order. */
  duplicates: CrossRangeDuplicate[];
  /** Per range: every cross-range duplicate, counted. */
  duplicateCounts: number[];
  /** Why the ranges cannot be merged exactly, or null. */
  unsettled: string | null;
}

export function replayBuckets(task: ReplayTask): ReplayResult {
  // Range 0's tables become the accumulator's own (no remapping); later ranges' are interned into them.
  const first = task.ranges[0]?.names ?? { arcIds: [], libs: [], geos: [], lens: [] };
  const acc = new CompactArcDays(task.spill ? { ...task.spill } : null, Interner.of(first));
  const maps = task.ranges.map((r, i) => (i === 0 ? identityMaps(first) : acc.names.mapFrom(r.names)));
  const duplicates: CrossRangeDuplicate[] = [];
  const duplicateCounts = task.ranges.map(() => 0);
  let unsettled: string | null = null;
  try {
    for (const b of task.buckets) {
      for (let ri = 0; ri < task.ranges.length && unsettled === null; ri++) {
        const { arc: arcMap, lib: libMap, geo: geoMap, len: lenMap } = maps[ri]!;
        // Decoded in place (see the record layout in row-buckets.ts): this loop runs once per row.
        forEachChunk(task.ranges[ri]!.file, b, (w, n) => {
          for (let u = 0; u < n && unsettled === null;) {
            const arc = arcMap[w[u]!]!;
            const day = w[u + 1]! | 0;
            const bits = w[u + 2]!;
            const occCode = w[u + 3]!;
            u += 4;
            const lib = bits & HAS_LIB ? w[u++]! : 0;
            const geo = bits & HAS_GEO ? w[u++]! : 0;
            const len = bits & HAS_LEN ? w[u++]! : 0;
            const flowCode = bits >>> 16;
            let flowSide = 0;
            let occSide = 0;
            if (flowCode === FLOW_SIDE) {
              flowSide = wordsToF64(w[u]!, w[u + 1]!);
              u += 2;
            }
            if (occCode === OCC_SIDE) {
              occSide = wordsToF64(w[u]!, w[u + 1]!);
              u += 2;
            }
            const hour = bits & 31;
            const off = (bits >>> 5) & 3;
            let slot = acc.select(arc, day);
            const blk = acc.cur;
            // Range 0's records never collide (its scan rejected its own duplicates).
            if (slot >= 0 && ri > 0 && blk.has(slot, hour, off)) {
              if (bits & AMBIGUOUS) unsettled = 'an offset-less autumn time straddles two ranges';
              else if (
                (lib !== 0 && blk.lib[slot] === 0) ||
                (geo !== 0 && blk.geo[slot] === 0) ||
                (len !== 0 && blk.len[slot] === 0)
              )
                unsettled = 'a row repeated across ranges supplied a first-seen value';
              if (duplicateCounts[ri]!++ < task.maxDuplicates)
                duplicates.push({
                  range: ri,
                  arcId: acc.arcIds[arc]!,
                  dayNum: day,
                  hour,
                  offsetMinutes: offsetMinutesOf(off),
                });
              continue;
            }
            if (slot < 0) slot = blk.addSlot(arc);
            blk.put(slot, hour, off, flowCode, occCode, (bits >>> 8) & 7, flowSide, occSide);
            if (lib !== 0 && blk.lib[slot] === 0) blk.lib[slot] = libMap[lib]!;
            if (geo !== 0 && blk.geo[slot] === 0) blk.geo[slot] = geoMap[geo]!;
            if (len !== 0 && blk.len[slot] === 0) blk.len[slot] = lenMap[len]!;
          }
        });
      }
      if (unsettled !== null) break;
    }
  } finally {
    acc.closeSpill();
  }
  return { acc, duplicates, duplicateCounts, unsettled };
}
