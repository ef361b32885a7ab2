import { daily, defineBatchAsset, dep, fromUnpartitioned, type Reject } from '../../engine/index.ts';
import { rawComptages } from '../sources.ts';
import { ArcDayTableSchema, type ArcDayTable } from './arc-day-schema.ts';
import type { ColumnBuffers } from './arc-day-table.ts';

/**
 * The date part of a road-count timestamp: exports write Paris wall-clock time (with a `+01:00/+02:00`
 * offset or none), so it is the Paris day.
 */
const PARIS_LOCAL_DATE = /[;,]"?(\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}(?::\d{2})?(?:[+-]\d{2}:\d{2})?"?[;,]/;

/** Days being stored at once (each holds its table, ≈ 2 MB for 3,400 arcs). */
const DAYS_IN_FLIGHT = 4;

/** Bad road-count rows kept with full detail (counts stay exact beyond it). */
const MAX_KEPT_REJECTS = 100_000;

/**
 * One streaming pass over the road-count file produces every requested day (stored per day). The readers
 * are imported when the asset computes: a run that skips it, or `pipeline list`, does not load them.
 */
export const comptagesArcDays = defineBatchAsset({
  key: 'comptages_arc_days',
  group: 'intermediate',
  tags: ['comptages'],
  description: 'Per road arc per Paris day: the 24 hourly flows/occupancies/states',
  partitions: daily(),
  io: 'intermediate',
  // A table per day (one row per arc, 24-hour lists as columns), stored as Arrow IPC
  // (assets/comptages/arc-day-table.ts): checked on its columns, hashed and written in one pass.
  schema: ArcDayTableSchema,
  deps: { raw: dep(rawComptages, fromUnpartitioned()) },
  compute: async ({ raw }, ctx) => {
    const days = new Set(ctx.partitionKeys);
    // A bad row whose timestamp is still readable is quarantined with its own day (and counted in that
    // day's metadata); only rows with no readable day go to the batch-level quarantine.
    const reject: Reject = (rec) => {
      const day = PARIS_LOCAL_DATE.exec(rec.raw ?? '')?.[1];
      (day && days.has(day) ? ctx.rejectFor(day) : ctx.reject)(rec);
    };
    // Kept rows whose Etat trafic was not a known value (e.g. Latin-1 bytes) count as Inconnu: say so.
    const warnUnknownEtat = (rows: number) => {
      if (rows > 0)
        ctx.log.warn(
          `${rows} rows had an unrecognised Etat trafic (not Fluide, Pré-saturé, Saturé, Bloqué, Inconnu or ` +
            `a 0-4 code; e.g. a Latin-1 export): kept and counted as Inconnu`,
        );
    };
    // After the read, progress counts the days written (each is encoded, hashed and stored). A few days
    // are stored at once: a day's write waits mostly on the disk (fsync of the value and its version),
    // during which the next day's table is built.
    // The tables' column buffers are reused once a day is stored (nothing reads its table after that).
    const { ColumnBuffers, arcDaysToTable } = await import('./arc-day-table.ts');
    const buffers = new ColumnBuffers();
    const emitDays = async (arcDaysOf: (day: string, buffers: ColumnBuffers) => ArcDayTable) => {
      const keys = ctx.partitionKeys;
      const inFlight = new Set<Promise<void>>();
      let written = 0;
      let failed: { err: unknown } | undefined;
      for (const day of keys) {
        if (failed) break;
        const arcDays = arcDaysOf(day, buffers);
        const p: Promise<void> = ctx
          .emit(day, arcDays, { rows: arcDays.numRows })
          .then(
            () => {
              buffers.giveBack(arcDays);
              ctx.progress(++written, keys.length, 'days written');
            },
            (err: unknown) => void (failed ??= { err }),
          )
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
        if (inFlight.size >= DAYS_IN_FLIGHT) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      if (failed) throw failed.err;
    };
    if (raw.files.length === 1) {
      // The real case (one 6.2 GB file): byte-range workers, results identical to the csv-parse path
      // (assets/comptages/fast/reader.test.ts), several times faster (docs/performance.md).
      const file = raw.files[0]!;
      const { readComptagesFast } = await import('./fast/reader.ts');
      const r = await readComptagesFast(file, {
        days,
        maxRejects: MAX_KEPT_REJECTS,
        onProgress: (done, total) => ctx.progress(done, total, 'bytes'),
      });
      for (const rec of r.rejects) reject(rec);
      if (r.rejected > r.rejects.length) {
        ctx.log.warn(
          `${r.rejected} rows rejected, the first ${r.rejects.length} kept in quarantine: ${JSON.stringify(r.rejectCounts)}`,
        );
      }
      const took = r.timings ? `, scan ${r.timings.scanMs} ms + aggregation ${r.timings.aggregateMs} ms` : '';
      ctx.log.info(
        `${file.key}: ${r.rows} rows read by ${r.mode.parser} (${r.mode.ranges} ranges${took})${r.mode.note ? `: ${r.mode.note}` : ''}`,
      );
      warnUnknownEtat(r.unknownEtat);
      // One day's table at a time, written from the compact state into its columns (no object per arc).
      return emitDays((day, buffers) => r.takeArcDayTable(day, buffers));
    }
    // Several files share one accumulator (and one set of rules) through the streaming csv-parse reader.
    const [{ ArcDayAccumulator }, { parseComptagesFile }, { SeenInstants }] = await Promise.all([
      import('./aggregate.ts'),
      import('./parse.ts'),
      import('./seen-instants.ts'),
    ]);
    const acc = new ArcDayAccumulator();
    const total = raw.files.reduce((a, f) => a + f.size, 0);
    let done = 0;
    let unknownEtat = 0;
    const seen = new SeenInstants(); // a row repeated in a later file is a duplicate, not summed twice
    for (const f of raw.files) {
      unknownEtat += (await parseComptagesFile(f, reject, (row) => acc.add(row), { days, seen })).unknownEtat;
      done += f.size;
      ctx.progress(done, total, 'bytes');
    }
    warnUnknownEtat(unknownEtat);
    return emitDays((day, buffers) => arcDaysToTable(acc.arcDays(day), buffers));
  },
});
