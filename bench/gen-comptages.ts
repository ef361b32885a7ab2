/**
 * Deterministic generator of `comptages-routiers-permanents` CSV in the exact opendata.paris.fr
 * export format (SPEC §1.4, shapes taken from the real fixtures): UTF-8 BOM, the 15 French header
 * columns, `;`, CRLF, `geo_point_2d` "lat, lon", geo_shape as a quoted GeoJSON LineString with
 * doubled quotes, `+01:00/+02:00` offsets following the real Paris DST dates, empty flow/occupancy
 * when the state is Inconnu (and, as in the Convention export, sometimes flow alone), Etat arc mostly
 * Invalide, ~3,400 arcs, hourly rows over consecutive days, rows shuffled within blocks of hours.
 *
 * Same seed + size → byte-identical file. Output is streamed (constant memory).
 *
 * CLI: `npx tsx bench/gen-comptages.ts --size 100MB --out bench/out/comptages-100MB.csv [--seed 42]
 * [--order time|export] [--flows integer|decimal]`
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { parisOffsetMs } from '../assets/shared/paris-time.ts';

export const COMPTAGES_HEADER =
  "Identifiant arc;Libelle;Date et heure de comptage;Débit horaire;Taux d'occupation;Etat trafic;" +
  'Identifiant noeud amont;Libelle noeud amont;Identifiant noeud aval;Libelle noeud aval;Etat arc;' +
  'Date debut dispo data;Date fin dispo data;geo_point_2d;geo_shape';

export interface GenerateOptions {
  /** Target size in bytes; generation stops at the first row boundary at or past it. */
  sizeBytes: number;
  out: string;
  seed?: number;
  arcs?: number;
  /** First Paris day of the series (YYYY-MM-DD). */
  startDay?: string;
  /** Hours per shuffled block (rows of all arcs over these hours are shuffled together). */
  blockHours?: number;
  /**
   * `time` (default): hourly blocks in time order, shuffled within `blockHours`. `export`: the order
   * seen in the real filtered exports (fixtures/real/comptages-routiers-permanents): days interleaved
   * at random, each arc's day in short runs of 1–7 hours (hours descending within a run; 1,000 rows of
   * arc 4264 there come in 267 runs over 85 days), so every day of the file stays hot until the end.
   */
  order?: 'time' | 'export';
  /** Bad rows (unparsable date, wrong column count, non-numeric flow) per million rows; 0 for benches. */
  badPerMillion?: number;
  /**
   * `integer` (default): flows written `583.0`, as in the real exports. `decimal`: the same rows with
   * one real decimal, `583.1` … `583.9` (the digit from a PRNG of its own, so every other byte and the
   * file size are those of the `integer` file): values off the integer fast path.
   */
  flows?: 'integer' | 'decimal';
}

export interface GenerateResult {
  rows: number;
  bytes: number;
  badRows: number;
}

/** mulberry32: tiny, fast, good enough for test data, fully deterministic. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STREETS = [
  'AV_Champs_Elysees',
  'Convention',
  'St_Antoine',
  'PI_Lagny',
  'Bd_Arago',
  'PE_Pont_Amont',
  'AE_A4_bretelle_11',
  'Bd_Ney',
  'Rivoli',
  'Bd_Voltaire',
  'Av_Daumesnil',
  'Quai_de_la_Rapee',
  'Bd_Raspail',
  'Rue_de_Vaugirard',
  'Av_de_la_Grande_Armee',
  'Bd_Haussmann',
  'Rue_La_Fayette',
  'Bd_Magenta',
  'Av_Jean_Jaures',
  'Bd_Saint_Germain',
  'Quai_Branly',
  'Av_du_Maine',
  'Bd_de_Sebastopol',
  'Rue_de_Rennes',
  'Av_de_Clichy',
  'PI_Doree',
  'PO_Auteuil',
];
const ETATS = ['Fluide', 'Pré-saturé', 'Saturé', 'Bloqué'] as const;

interface Arc {
  id: number;
  prefix: string; // "id;libelle;" — columns 1-2
  suffix: string; // ";amont;lib;aval;lib;" up to Etat arc (columns 7-10)
  tail: string; // ";debut;fin;geo_point;geo_shape" (columns 12-15)
  baseFlow: number;
  baseOcc: number;
}

/** A flow as the exports write it (`583.0`), or with a decimal digit 1–9 from `tenths`. */
const fmtFlow = (v: number, tenths: (() => number) | null): string =>
  `${v}.${tenths ? 1 + Math.floor(tenths() * 9) : 0}`;
/** Occupancy like the real exports: up to 5 decimals, no trailing zeros. */
const fmtOcc = (v: number): string => String(Math.round(v * 100_000) / 100_000);

function makeArcs(rand: () => number, n: number): Arc[] {
  const used = new Set<number>();
  const arcs: Arc[] = [];
  while (arcs.length < n) {
    const id = 1 + Math.floor(rand() * 7000);
    if (used.has(id)) continue;
    used.add(id);
    const street = STREETS[Math.floor(rand() * STREETS.length)]!;
    const lib = rand() < 0.5 ? street : `${street}_${1 + Math.floor(rand() * 40)}`;
    const up = 100 + Math.floor(rand() * 4000);
    const down = 100 + Math.floor(rand() * 4000);
    const lat0 = 48.816 + rand() * 0.085;
    const lon0 = 2.255 + rand() * 0.155;
    const vertices = 2 + Math.floor(rand() * 2);
    const coords: string[] = [];
    let lon = lon0;
    let lat = lat0;
    for (let v = 0; v < vertices; v++) {
      coords.push(`[${lon}, ${lat}]`);
      lon += (rand() - 0.5) * 0.003;
      lat += (rand() - 0.5) * 0.002;
    }
    const shape = `"{""coordinates"": [${coords.join(', ')}], ""type"": ""LineString""}"`;
    const debut = rand() < 0.5 ? '2005-01-01' : '1996-10-10';
    const fin = rand() < 0.6 ? '' : '2019-06-01';
    arcs.push({
      id,
      prefix: `${id};${lib};`,
      suffix: `;${up};${lib}-${STREETS[up % STREETS.length]};${down};${lib}-${STREETS[down % STREETS.length]};`,
      tail: `;${debut};${fin};${lat0}, ${lon0};${shape}\r\n`,
      baseFlow: 50 + Math.floor(rand() * 1500),
      baseOcc: 1 + rand() * 25,
    });
  }
  return arcs;
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** Paris-local ISO timestamp with the real offset of that instant, e.g. 2025-03-07T10:00:00+01:00. */
function parisStamp(utcMs: number): string {
  const off = parisOffsetMs(utcMs);
  const d = new Date(utcMs + off);
  const oh = off / 3_600_000;
  return (
    `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}T${pad2(d.getUTCHours())}:00:00` +
    `${oh >= 0 ? '+' : '-'}${pad2(Math.abs(oh))}:00`
  );
}

/** Daily profile: low at night, peaks at 8-9 h and 17-19 h (Paris local). */
const HOURLY = [
  0.25, 0.18, 0.14, 0.12, 0.15, 0.3, 0.6, 0.9, 1.1, 1.0, 0.9, 0.9, 0.95, 0.95, 0.95, 1.0, 1.05, 1.15, 1.15,
  1.0, 0.8, 0.6, 0.45, 0.35,
];

function row(
  arc: Arc,
  stamp: string,
  localHour: number,
  rand: () => number,
  tenths: (() => number) | null,
): string {
  const r = rand();
  const etatArc = r < 0.9 ? 'Invalide' : r < 0.97 ? 'Barré' : 'Ouvert';
  const q = rand();
  if (q < 0.06) return `${arc.prefix}${stamp};;;Inconnu${arc.suffix}${etatArc}${arc.tail}`;
  const load = HOURLY[localHour]! * (0.8 + rand() * 0.4);
  const flow = Math.max(0, Math.round(arc.baseFlow * load));
  const occ = Math.min(100, arc.baseOcc * load * (0.7 + rand() * 0.6));
  const e = rand();
  const etat =
    occ > 30 || e > 0.995 ? ETATS[e > 0.995 ? 3 : e > 0.6 ? 2 : 1]! : e < 0.85 ? ETATS[0] : ETATS[1];
  // As in the Convention export: sometimes the flow alone is missing while occupancy and state exist.
  const flowText = q < 0.075 ? '' : fmtFlow(flow, tenths);
  return `${arc.prefix}${stamp};${flowText};${fmtOcc(occ)};${etat}${arc.suffix}${etatArc}${arc.tail}`;
}

/** A bad row of one of three kinds, each of which a reader must quarantine (never crash on). */
function badRow(arc: Arc, stamp: string, kind: number): string {
  if (kind === 0) return `${arc.prefix}not-a-date;12.0;3.5;Fluide${arc.suffix}Invalide${arc.tail}`;
  if (kind === 1) return `${arc.prefix}${stamp};12.0;3.5\r\n`;
  return `${arc.prefix}${stamp};douze;3.5;Fluide${arc.suffix}Invalide${arc.tail}`;
}

const HOUR_MS = 3_600_000;

export async function generateComptages(opts: GenerateOptions): Promise<GenerateResult> {
  const rand = mulberry32(opts.seed ?? 42);
  // Its own PRNG: decimal flows leave the main sequence (hence every other byte) unchanged.
  const tenths = opts.flows === 'decimal' ? mulberry32((opts.seed ?? 42) ^ 0x5eed) : null;
  const arcs = makeArcs(rand, opts.arcs ?? 3400);
  const blockHours = opts.blockHours ?? 3;
  const badRate = (opts.badPerMillion ?? 0) / 1_000_000;
  const [y, m, d] = (opts.startDay ?? '2025-01-01').split('-').map(Number) as [number, number, number];
  // Paris midnight of the first day (January → +01:00).
  let hourMs = Date.UTC(y, m - 1, d) - parisOffsetMs(Date.UTC(y, m - 1, d));

  await mkdir(dirname(opts.out), { recursive: true });
  const tmp = `${opts.out}.tmp-${process.pid}`;
  const out = createWriteStream(tmp);
  let bytes = 0;
  let rows = 0;
  let badRows = 0;
  const write = async (s: string): Promise<void> => {
    bytes += Buffer.byteLength(s);
    if (!out.write(s)) await once(out, 'drain');
  };
  await write(`\uFEFF${COMPTAGES_HEADER}\r\n`);

  let buf: string[] = [];
  let bufBytes = 0;
  /** Buffers one row; false once the target size is reached. */
  const emit = async (line: string): Promise<boolean> => {
    buf.push(line);
    bufBytes += Buffer.byteLength(line);
    rows++;
    if (bufBytes > 1 << 20 || bytes + bufBytes >= opts.sizeBytes) {
      await write(buf.join(''));
      buf = [];
      bufBytes = 0;
    }
    return bytes < opts.sizeBytes;
  };
  const rowAt = (arc: Arc, hourMs: number): string | null => {
    if (rand() < 0.02) return null; // sensor gaps: not every arc reports every hour
    const stamp = parisStamp(hourMs);
    if (badRate > 0 && rand() < badRate) return badRow(arc, stamp, badRows++ % 3);
    return row(arc, stamp, Number(stamp.slice(11, 13)), rand, tenths);
  };

  if (opts.order === 'export') {
    // Enough days for the size (estimated from a sample hour), then (day, arc, run) in random order.
    const sample = arcs.map((a) => rowAt(a, hourMs) ?? '').join('');
    const days = Math.max(
      1,
      Math.ceil(opts.sizeBytes / ((Buffer.byteLength(sample) / arcs.length) * arcs.length * 24)),
    );
    const dayHours: number[][] = [];
    for (let d = 0, h = hourMs; d < days; d++) {
      const hours: number[] = [];
      const day = parisStamp(h).slice(0, 10);
      while (parisStamp(h).slice(0, 10) === day) hours.push((h += HOUR_MS) - HOUR_MS);
      dayHours.push(hours);
    }
    // Runs packed as day << 12 | start << 6 | length (hours ≤ 25), with the arc in a parallel array.
    const runs: number[] = [];
    const runArcs: number[] = [];
    for (let d = 0; d < days; d++) {
      for (let a = 0; a < arcs.length; a++) {
        for (let start = 0, n = dayHours[d]!.length; start < n;) {
          const len = Math.min(n - start, 1 + Math.floor(rand() * 7));
          runs.push((d << 12) | (start << 6) | len);
          runArcs.push(a);
          start += len;
        }
      }
    }
    for (let i = runs.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [runs[i], runs[j]] = [runs[j]!, runs[i]!];
      [runArcs[i], runArcs[j]] = [runArcs[j]!, runArcs[i]!];
    }
    out: for (let i = 0; i < runs.length; i++) {
      const r = runs[i]!;
      const hours = dayHours[r >> 12]!;
      const start = (r >> 6) & 63;
      for (let k = start + (r & 63) - 1; k >= start; k--) {
        const line = rowAt(arcs[runArcs[i]!]!, hours[k]!);
        if (line !== null && !(await emit(line))) break out;
      }
    }
  } else {
    const block: string[] = [];
    while (bytes + bufBytes < opts.sizeBytes) {
      block.length = 0;
      for (let h = 0; h < blockHours; h++, hourMs += HOUR_MS) {
        for (const arc of arcs) {
          const line = rowAt(arc, hourMs);
          if (line !== null) block.push(line);
        }
      }
      // Fisher-Yates within the block: rows are not time-sorted, as in the real exports.
      for (let i = block.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        const t = block[i]!;
        block[i] = block[j]!;
        block[j] = t;
      }
      let more = true;
      for (const line of block) if (!(more = await emit(line))) break;
      if (!more) break;
    }
  }
  if (buf.length > 0) await write(buf.join(''));
  out.end();
  await once(out, 'finish');
  await rename(tmp, opts.out);
  return { rows, bytes, badRows };
}

/** "100MB", "1GB", "6GB", "5MB" or a plain byte count. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)?$/i.exec(text.trim());
  if (!m) throw new Error(`Invalid size "${text}" (expected e.g. 100MB, 1GB)`);
  const unit = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9 }[(m[2] ?? 'B').toUpperCase() as 'B' | 'KB' | 'MB' | 'GB'];
  return Math.round(Number(m[1]) * unit);
}

async function main(argv: string[]): Promise<void> {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i === -1 ? undefined : argv[i + 1];
  };
  const size = arg('--size');
  const out = arg('--out');
  if (!size || !out)
    throw new Error(
      'usage: gen-comptages --size 100MB|1GB|6GB --out FILE [--seed N] [--bad N] [--order time|export] ' +
        '[--flows integer|decimal]',
    );
  const order = arg('--order') ?? 'time';
  if (order !== 'time' && order !== 'export') throw new Error('--order: time or export');
  const flows = arg('--flows') ?? 'integer';
  if (flows !== 'integer' && flows !== 'decimal') throw new Error('--flows: integer or decimal');
  const t0 = performance.now();
  const res = await generateComptages({
    sizeBytes: parseSize(size),
    out,
    seed: Number(arg('--seed') ?? 42),
    badPerMillion: Number(arg('--bad') ?? 0),
    order,
    flows,
  });
  const s = (performance.now() - t0) / 1000;
  console.log(
    `${out}: ${res.rows} rows, ${(res.bytes / 1e6).toFixed(1)} MB, ${res.badRows} bad, ${s.toFixed(1)} s`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
