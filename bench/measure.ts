/**
 * One measurement in its own process (so peak RSS is this reader's alone), printed as one JSON line:
 * `tsx bench/measure.ts cityflow|cityflow-1day|duckdb FILE`. Run by bench/run.ts.
 *
 * CityFlow is measured as the `comptages_arc_days` asset uses it: read the file, then build each day's
 * `ArcDay[]` one day at a time and drop it. The reader is the compiled one the `pipeline` command runs
 * (pipeline/compile.mjs: plain JS workers), or the TypeScript sources (tsx in each worker) with
 * BENCH_TSX=1 or when compiling is not possible; `reader` in the output says which ran.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compiledRoot } from '../pipeline/compile.mjs';
import type { readComptagesFast as ReadFast } from '../assets/comptages/fast/reader.ts';

export interface Measurement {
  engine: string;
  ms: number;
  /**
   * CPU time of the whole process (user + system, worker threads included), start-up excluded: less
   * sensitive than `ms` to other jobs on a shared machine.
   */
  cpuMs: number;
  bytes: number;
  rows: number;
  groups: number;
  maxRssMB: number;
  /** Which reader ran: 'compiled' (JS, as the pipeline command runs it) or 'tsx' (TypeScript sources). */
  reader?: string;
  /** CityFlow's wall time by phase (ms). */
  phases?: Phases;
}

interface Phases {
  scanMs: number;
  aggregateMs: number;
  otherMs: number;
  takeMs: number;
}

async function loadReader(): Promise<{ read: typeof ReadFast; reader: string }> {
  const root = process.env.BENCH_TSX === '1' ? null : await compiledRoot();
  if (root) {
    const url = pathToFileURL(join(root, 'assets/comptages/fast/reader.js')).href;
    const m = (await import(url)) as { readComptagesFast: typeof ReadFast };
    return { read: m.readComptagesFast, reader: 'compiled' };
  }
  const m = await import('../assets/comptages/fast/reader.ts');
  return { read: m.readComptagesFast, reader: 'tsx' };
}

async function cityflow(
  path: string,
  oneDay: boolean,
): Promise<{ rows: number; groups: number; reader: string; phases?: Phases }> {
  const { read, reader } = await loadReader();
  const t0 = performance.now();
  const res = await read(
    { path, key: 'bench.csv' },
    // The streaming floor: same full scan, but only one day's arc-days are kept.
    oneDay ? { days: new Set(['2025-01-02']) } : {},
  );
  // As the asset does: one day's ArcDay objects at a time, then dropped.
  const t1 = performance.now();
  let groups = 0;
  for (const day of res.days) groups += res.takeArcDays(day).length;
  const phases = res.timings && {
    ...res.timings,
    // Before the scan (layout, cuts, scratch dir) and after the read (one day's ArcDay[] at a time).
    otherMs: Math.round(t1 - t0 - res.timings.scanMs - res.timings.aggregateMs),
    takeMs: Math.round(performance.now() - t1),
  };
  return { rows: res.rows + res.rejected + res.skipped, groups, reader, ...(phases ? { phases } : {}) };
}

/** The same aggregation in DuckDB: per arc and Paris day, sum of flow, row count, mean occupancy. */
async function duckdb(path: string): Promise<{ rows: number; groups: number }> {
  // Loaded only here: the native library alone weighs tens of MB of RSS.
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const conn = await instance.connect();
  await conn.run("SET TimeZone='Europe/Paris'");
  const file = path.replaceAll("'", "''");
  const reader = await conn.runAndReadAll(`
    SELECT "Identifiant arc" AS arc,
           CAST("Date et heure de comptage" AS DATE) AS day,
           sum("Débit horaire") AS flow, count(*) AS n, avg("Taux d'occupation") AS occupancy
    FROM read_csv('${file}', delim=';', header=true, quote='"', escape='"')
    GROUP BY ALL`);
  const rows = reader.getRows();
  let n = 0;
  for (const r of rows) n += Number(r[3]);
  conn.closeSync();
  instance.closeSync();
  return { rows: n, groups: rows.length };
}

const [engine, path] = process.argv.slice(2);
if (!engine || !path) throw new Error('usage: measure.ts cityflow|cityflow-1day|duckdb FILE');
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const r = engine === 'duckdb' ? await duckdb(path) : await cityflow(path, engine === 'cityflow-1day');
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const out: Measurement = {
  engine,
  ms: Math.round(ms),
  cpuMs: Math.round((cpu.user + cpu.system) / 1000),
  bytes: statSync(path).size,
  ...r,
  maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
};
console.log(JSON.stringify(out));
