/**
 * One measurement in its own process (so peak RSS is this reader's alone), printed as one JSON line:
 * `tsx bench/measure.ts cityflow|cityflow-1day|duckdb FILE`. Run by bench/run.ts.
 */
import { statSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { readComptagesFast } from '../assets/comptages/fast/reader.ts';

export interface Measurement {
  engine: string;
  ms: number;
  bytes: number;
  rows: number;
  groups: number;
  maxRssMB: number;
}

async function cityflow(path: string, oneDay: boolean): Promise<{ rows: number; groups: number }> {
  const res = await readComptagesFast(
    { path, key: 'bench.csv' },
    // The streaming floor: same full scan, but only one day's arc-days are kept.
    oneDay ? { days: new Set(['2025-01-02']) } : {},
  );
  let groups = 0;
  for (const list of res.arcDays.values()) groups += list.length;
  return { rows: res.rows + res.rejected + res.skipped, groups };
}

/** The same aggregation in DuckDB: per arc and Paris day, sum of flow, row count, mean occupancy. */
async function duckdb(path: string): Promise<{ rows: number; groups: number }> {
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
const r = engine === 'duckdb' ? await duckdb(path) : await cityflow(path, engine === 'cityflow-1day');
const ms = performance.now() - t0;
const out: Measurement = {
  engine,
  ms: Math.round(ms),
  bytes: statSync(path).size,
  ...r,
  maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
};
console.log(JSON.stringify(out));
