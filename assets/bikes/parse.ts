/**
 * Bike-counter records (`comptage-velo-donnees-compteurs`, SPEC §1.1) from either the Opendatasoft API
 * JSON (`{total_count, results: [...]}`) or the dataset's `;` CSV export with French headers.
 */
import { z } from 'zod';
import type { Reject } from '../../engine/quarantine.ts';
import { readCsvRows, type RawFile } from '../shared/csv-source.ts';
import { parseGeoPoint } from '../geo/geometry.ts';
import { arrayElementLines, readJsonFile, rejectShape } from '../shared/json-source.ts';
import { parisDay, parseIsoWithOffset } from '../shared/paris-time.ts';

export interface BikeCount {
  id_compteur: string;
  nom_compteur: string;
  /** Counting-site id and name (copied, unused by the metrics). */
  id: string | null;
  name: string | null;
  /** Bikes counted during the hour; null = the source published no value for that hour. */
  sum_counts: number | null;
  /** Start of the hour, as published (ISO with offset). */
  date: string;
  /** Same instant in epoch ms. */
  timestampMs: number;
  coordinates: { lon: number; lat: number } | null;
  file: string;
  line: number;
}

export interface BikesParseOptions {
  /** When set, records outside this Paris day are rejected (`outside_partition`) while streaming. */
  day?: string;
}

/** CSV export header → API field (SPEC §1.1). */
export const BIKES_CSV_COLUMNS = {
  id_compteur: 'Identifiant du compteur',
  nom_compteur: 'Nom du compteur',
  id: 'Identifiant du site de comptage',
  name: 'Nom du site de comptage',
  sum_counts: 'Comptage horaire',
  date: 'Date et heure de comptage',
  coordinates: 'Coordonnées géographiques',
} as const;

const idLike = z.union([z.string(), z.number()]).transform(String);
const ApiRecord = z.object({
  id_compteur: idLike.pipe(z.string().trim().min(1, 'missing id_compteur')),
  nom_compteur: z.string().nullish(),
  id: idLike.nullish(),
  name: z.string().nullish(),
  sum_counts: z.union([z.number(), z.string(), z.null()]).optional(),
  date: z.string(),
  coordinates: z.object({ lon: z.number().nullish(), lat: z.number().nullish() }).nullish(),
});

type Fields = {
  id_compteur: string;
  nom_compteur?: string | null | undefined;
  id?: string | null | undefined;
  name?: string | null | undefined;
  sum_counts?: unknown;
  date: string;
  coordinates: { lon: number; lat: number } | null;
};

type Verdict = { ok: true; value: BikeCount } | { ok: false; reason: string; detail: string };

/** Shared validation of one record, whatever the source format. */
function validate(f: Fields, file: string, line: number, day: string | undefined): Verdict {
  const ts = parseIsoWithOffset(f.date);
  if (ts === null) return { ok: false, reason: 'unparsable_date', detail: `date ${JSON.stringify(f.date)}` };
  let count: number | null = null;
  if (f.sum_counts !== null && f.sum_counts !== undefined && f.sum_counts !== '') {
    count = typeof f.sum_counts === 'number' ? f.sum_counts : Number(f.sum_counts);
    if (!Number.isFinite(count))
      return { ok: false, reason: 'invalid_count', detail: `sum_counts ${String(f.sum_counts)}` };
    // The original clamped negatives to 0; a negative count is a broken record, so it is quarantined.
    if (count < 0) return { ok: false, reason: 'negative_count', detail: `sum_counts ${count}` };
  }
  if (day !== undefined && parisDay(ts) !== day)
    return { ok: false, reason: 'outside_partition', detail: `${f.date} is not in Paris day ${day}` };
  return {
    ok: true,
    value: {
      id_compteur: f.id_compteur,
      nom_compteur: f.nom_compteur ?? '',
      id: f.id ?? null,
      name: f.name ?? null,
      sum_counts: count,
      date: f.date,
      timestampMs: ts,
      coordinates: f.coordinates,
      file,
      line,
    },
  };
}

const validCoords = (lon: unknown, lat: unknown): { lon: number; lat: number } | null =>
  typeof lon === 'number' && typeof lat === 'number' && Math.abs(lon) <= 180 && Math.abs(lat) <= 90
    ? { lon, lat }
    : null;

async function parseJson(file: RawFile, reject: Reject, opts: BikesParseOptions): Promise<BikeCount[]> {
  const read = await readJsonFile(file, reject);
  if (!read.ok) return [];
  const doc = read.value;
  const isEnvelope =
    typeof doc === 'object' && doc !== null && Array.isArray((doc as { results?: unknown }).results);
  if (!isEnvelope && !Array.isArray(doc)) {
    rejectShape(file, reject, 'expected {"results": [...]} (Opendatasoft records) or an array of records');
    return [];
  }
  const items = (isEnvelope ? (doc as { results: unknown[] }).results : doc) as unknown[];
  const lines = arrayElementLines(read.text, isEnvelope ? ['results'] : []);
  const out: BikeCount[] = [];
  items.forEach((item, i) => {
    const line = lines[i] ?? 1;
    const raw = JSON.stringify(item);
    const r = ApiRecord.safeParse(item);
    if (!r.success) {
      reject({
        reason: 'invalid_record',
        file: file.key,
        line,
        detail: r.error.issues[0]?.message ?? 'invalid',
        raw,
      });
      return;
    }
    const c = r.data.coordinates;
    const v = validate({ ...r.data, coordinates: validCoords(c?.lon, c?.lat) }, file.key, line, opts.day);
    if (v.ok) out.push(v.value);
    else reject({ reason: v.reason, file: file.key, line, detail: v.detail, raw });
  });
  return out;
}

async function parseCsv(file: RawFile, reject: Reject, opts: BikesParseOptions): Promise<BikeCount[]> {
  const C = BIKES_CSV_COLUMNS;
  const out: BikeCount[] = [];
  for await (const row of readCsvRows(file, reject, {
    delimiter: ';',
    required: [C.id_compteur, C.sum_counts, C.date],
  })) {
    const v = row.values;
    const id = v[C.id_compteur] ?? '';
    if (id === '') {
      reject({
        reason: 'invalid_record',
        file: file.key,
        line: row.line,
        detail: 'missing id_compteur',
        raw: row.raw,
      });
      continue;
    }
    const point = parseGeoPoint(v[C.coordinates] ?? '');
    const verdict = validate(
      {
        id_compteur: id,
        nom_compteur: v[C.nom_compteur],
        id: v[C.id] || null,
        name: v[C.name] || null,
        sum_counts: v[C.sum_counts],
        date: v[C.date] ?? '',
        coordinates: point ? { lon: point[1], lat: point[0] } : null,
      },
      file.key,
      row.line,
      opts.day,
    );
    if (verdict.ok) out.push(verdict.value);
    else
      reject({
        reason: verdict.reason,
        file: file.key,
        line: row.line,
        detail: verdict.detail,
        raw: row.raw,
      });
  }
  return out;
}

/** Parses one raw bikes file (JSON envelope or CSV export, chosen by extension). */
export function parseBikesFile(
  file: RawFile,
  reject: Reject,
  opts: BikesParseOptions = {},
): Promise<BikeCount[]> {
  return /\.csv$/i.test(file.key) ? parseCsv(file, reject, opts) : parseJson(file, reject, opts);
}
