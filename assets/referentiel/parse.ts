/**
 * Road-arc reference (`referentiel-geographique-…-capteurs-permanents`, SPEC §1.6): `;` CSV whose column
 * order differs from comptages (dates 2nd/3rd, aval before amont); dates `YYYY-MM-DD` or ISO with
 * offset; `geo_point_2d` with or without the space; export labels or API field names as headers. Rows
 * are merged into one record per arc (see `mergeArcRows`): an arc drawn in several pieces is one arc.
 */
import type { Reject } from '../../engine/quarantine.ts';
import { readCsvHeader, readCsvRows, type RawFile } from '../shared/csv-source.ts';
import {
  lineLengthMeters,
  optionalGeo,
  parseGeoPoint,
  parseGeoShape,
  type GeoShape,
  type LonLat,
} from '../geo/geometry.ts';
import { isCalendarDay, parisLocalToUtcMs, parseIsoWithOffset } from '../shared/paris-time.ts';

/** One row of the CSV: an arc, or one piece of an arc drawn in several rows. */
export interface ReferentielCsvRow {
  arc: string;
  libelle: string;
  /** Raw availability dates as published ('' when empty). */
  date_debut: string;
  date_fin: string;
  noeud_amont: string | null;
  noeud_aval: string | null;
  /** [lat, lon] */
  geo_point_2d: [number, number] | null;
  geo_shape: GeoShape | null;
  file: string;
  line: number;
}

/**
 * One arc of the référentiel: the row of the arc, or its pieces (rows of the same arc, label, nodes
 * and availability period) joined. `parts` are the arc's LineStrings with pieces that join end to end
 * chained into one; pieces that do not join (a gap, a fork) stay separate parts.
 */
export interface ReferentielRow extends Omit<ReferentielCsvRow, 'geo_shape'> {
  /** Polylines of [lon, lat]; empty when no row of the arc has a LineString. */
  parts: LonLat[][];
  /** Σ haversine length (m) of the pieces' LineStrings (0 without any). */
  length_m: number;
  /** Rows joined into this arc (1 for an arc drawn in one piece). */
  pieces: number;
  /** 1-based lines of those rows (`line` is the first). */
  lines: number[];
}

/**
 * Logical columns and the header names that carry them: the export labels (`Identifiant arc;Date debut
 * dispo data;…`) or the API field names (`IU_AC;DATE_DEBUT;…;SHAPE.LEN`, the 2020 export). Headers are
 * compared case- and accent-insensitively, with `_`, `.` and spaces folded. `SHAPE.LEN` (always 0.0) is
 * not read: lengths come from the shapes.
 */
export const REFERENTIEL_COLUMNS = {
  arc: ['Identifiant arc', 'iu_ac'],
  debut: ['Date debut dispo data', 'date_debut'],
  fin: ['Date fin dispo data', 'date_fin'],
  libelle: ['Libelle', 'libelle'],
  aval: ['Identifiant noeud aval', 'iu_nd_aval'],
  amont: ['Identifiant noeud amont', 'iu_nd_amont'],
  geo_point: ['geo_point_2d'],
  geo_shape: ['geo_shape'],
} as const;
type Column = keyof typeof REFERENTIEL_COLUMNS;

const fold = (h: string): string =>
  h
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[\s_.]+/g, ' ')
    .trim();

/** Header name of each logical column in `header` (absent columns are left out). */
export function resolveColumns(header: readonly string[]): Partial<Record<Column, string>> {
  const out: Partial<Record<Column, string>> = {};
  for (const [col, names] of Object.entries(REFERENTIEL_COLUMNS) as [Column, readonly string[]][]) {
    const wanted = new Set(names.map(fold));
    const found = header.find((h) => wanted.has(fold(h)));
    if (found !== undefined) out[col] = found;
  }
  return out;
}

/** 'YYYY-MM-DD' (Paris midnight) or ISO with offset → ms; '' or unparsable → null. */
export function availabilityMs(text: string): number | null {
  if (isCalendarDay(text)) {
    const [y, m, d] = text.split('-').map(Number) as [number, number, number];
    return parisLocalToUtcMs(y, m, d);
  }
  return parseIsoWithOffset(text);
}

/** Availability texts repeat (a handful of distinct dates per export): parsed once each. */
const msCache = new Map<string, number | null>();
function cachedMs(text: string): number | null {
  let v = msCache.get(text);
  if (v === undefined) {
    if (msCache.size > 10_000) msCache.clear();
    v = availabilityMs(text);
    msCache.set(text, v);
  }
  return v;
}

const debutMs = (r: ReferentielCsvRow): number => cachedMs(r.date_debut) ?? -Infinity;
/** An empty fin (still open) is the most recent; an unparsable one the oldest. */
const finMs = (r: ReferentielCsvRow): number =>
  r.date_fin === '' ? Infinity : (cachedMs(r.date_fin) ?? -Infinity);

/** Most recent availability first: latest début; ties → latest fin, an empty fin (still open) being the latest. */
function compareRecency(a: ReferentielCsvRow, b: ReferentielCsvRow): number {
  const [da, db] = [debutMs(a), debutMs(b)];
  if (da !== db) return da - db;
  const [fa, fb] = [finMs(a), finMs(b)];
  if (fa !== fb) return fa - fb;
  return a.line - b.line; // full tie: the later row of the file
}

/** Same availability period: the same instants (`2019-06-01T03:00:00+01:00` = `…T04:00:00+02:00`), else the same text. */
const samePeriod = (a: ReferentielCsvRow, b: ReferentielCsvRow): boolean =>
  (debutMs(a) === debutMs(b) && debutMs(a) !== -Infinity) || a.date_debut === b.date_debut
    ? (finMs(a) === finMs(b) && finMs(a) !== -Infinity) || a.date_fin === b.date_fin
    : false;

const sameVertex = (a: LonLat, b: LonLat): boolean => a[0] === b[0] && a[1] === b[1];

/**
 * Chains pieces that join end to end (the last vertex of one is the first of the next) into one line;
 * what does not join stays a separate part. Parts keep the file order of their first piece.
 */
export function joinPieces(pieces: readonly LonLat[][]): LonLat[][] {
  const parts = pieces.filter((p) => p.length > 0).map((p) => [...p]);
  for (let joined = true; joined;) {
    joined = false;
    search: for (let i = 0; i < parts.length; i++)
      for (let j = 0; j < parts.length; j++) {
        if (i === j || !sameVertex(parts[i]!.at(-1)!, parts[j]![0]!)) continue;
        // i then j: j's first vertex is i's last one
        const [head, tail] = [parts[i]!, parts[j]!];
        const merged = [...head, ...tail.slice(1)];
        const [keep, drop] = i < j ? [i, j] : [j, i];
        parts[keep] = merged;
        parts.splice(drop, 1);
        joined = true;
        break search;
      }
  }
  return parts;
}

const differingFields = (a: ReferentielCsvRow, b: ReferentielCsvRow): string[] =>
  (
    [
      ['Libelle', a.libelle, b.libelle],
      ['noeud amont', a.noeud_amont, b.noeud_amont],
      ['noeud aval', a.noeud_aval, b.noeud_aval],
    ] as const
  )
    .filter(([, x, y]) => x !== y)
    .map(([name, x, y]) => `${name} ${JSON.stringify(x)} ≠ ${JSON.stringify(y)}`);

const lineOf = (r: ReferentielCsvRow): LonLat[] | null =>
  r.geo_shape?.type === 'LineString' ? r.geo_shape.coordinates : null;

/**
 * One record per arc. Rows of an arc are, in this order:
 * - of an older availability period than the arc's most recent one: `superseded_duplicate_arc`;
 * - of the most recent period but another label or other nodes than its first row: a true conflict,
 *   `conflicting_duplicate_arc` (the first row of the file is kept);
 * - a repeat of a piece already seen (same coordinates): `duplicate_row`;
 * - otherwise a piece of the arc: lengths summed, shapes joined (`joinPieces`).
 */
export function mergeArcRows(rows: readonly ReferentielCsvRow[], reject: Reject): ReferentielRow[] {
  const byArc = new Map<string, ReferentielCsvRow[]>();
  for (const r of rows) {
    const list = byArc.get(r.arc);
    if (list) list.push(r);
    else byArc.set(r.arc, [r]);
  }
  const out: ReferentielRow[] = [];
  for (const [arc, list] of byArc) {
    const latest = list.reduce((best, r) => (compareRecency(r, best) > 0 ? r : best));
    const pieces: ReferentielCsvRow[] = [];
    const seenShapes = new Set<string>();
    for (const r of list) {
      const drop = (reason: string, detail: string) =>
        reject({ reason, file: r.file, line: r.line, detail: `arc ${arc}: ${detail}` });
      if (!samePeriod(r, latest)) {
        drop(
          'superseded_duplicate_arc',
          `line ${latest.line} has a more recent availability period (${latest.date_debut || '?'} → ${latest.date_fin || 'open'} vs ${r.date_debut || '?'} → ${r.date_fin || 'open'})`,
        );
        continue;
      }
      const first = pieces[0];
      const diff = first ? differingFields(first, r) : [];
      if (first && diff.length > 0) {
        drop('conflicting_duplicate_arc', `same period as line ${first.line} but ${diff.join(', ')}`);
        continue;
      }
      const shape = lineOf(r);
      const key = shape ? JSON.stringify(shape) : null;
      if (key !== null && seenShapes.has(key)) {
        drop('duplicate_row', 'same arc, period and LineString as an earlier row');
        continue;
      }
      if (key !== null) seenShapes.add(key);
      pieces.push(r);
    }
    const first = pieces[0]!; // the row `latest` always lands in pieces or is the first of its period
    const shapes = pieces.map(lineOf).filter((l): l is LonLat[] => l !== null);
    out.push({
      arc,
      libelle: first.libelle,
      date_debut: first.date_debut,
      date_fin: first.date_fin,
      noeud_amont: first.noeud_amont,
      noeud_aval: first.noeud_aval,
      geo_point_2d: pieces.find((p) => p.geo_point_2d)?.geo_point_2d ?? null,
      parts: joinPieces(shapes),
      length_m: shapes.reduce((s, l) => s + lineLengthMeters(l), 0),
      pieces: pieces.length,
      lines: pieces.map((p) => p.line),
      file: first.file,
      line: first.line,
    });
  }
  return out;
}

/** Parses the référentiel CSV (either header variant) and merges its rows into one record per arc. */
export async function parseReferentielFile(file: RawFile, reject: Reject): Promise<ReferentielRow[]> {
  const header = (await readCsvHeader(file, ';')) ?? [];
  const found = resolveColumns(header);
  const C = REFERENTIEL_COLUMNS;
  // Missing arc or label column: the canonical names go to readCsvRows, which rejects the whole file.
  const name = (k: Column): string => found[k] ?? C[k][0];
  const rows: ReferentielCsvRow[] = [];
  for await (const row of readCsvRows(file, reject, {
    delimiter: ';',
    required: [name('arc'), name('libelle')],
  })) {
    const v = (k: Column) => row.values[name(k)] ?? '';
    if (v('arc') === '' || v('libelle') === '') {
      reject({
        reason: 'invalid_record',
        file: file.key,
        line: row.line,
        detail: 'missing Identifiant arc or Libelle',
        raw: row.raw,
      });
      continue;
    }
    // A damaged geometry loses only itself: the value is quarantined, the arc is kept.
    const invalid = (reason: string, detail: string) => () =>
      reject({ reason, file: file.key, line: row.line, detail, raw: row.raw });
    rows.push({
      arc: v('arc'),
      libelle: v('libelle'),
      date_debut: v('debut'),
      date_fin: v('fin'),
      noeud_amont: v('amont') || null,
      noeud_aval: v('aval') || null,
      geo_point_2d: optionalGeo(
        v('geo_point'),
        parseGeoPoint,
        invalid('invalid_geo_point', 'geo_point_2d is not "lat, lon"; arc kept without point'),
      ),
      geo_shape: optionalGeo(
        v('geo_shape'),
        parseGeoShape,
        invalid('invalid_geo_shape', 'geo_shape is not a GeoJSON geometry; arc kept without shape'),
      ),
      file: file.key,
      line: row.line,
    });
  }
  return mergeArcRows(rows, reject);
}
