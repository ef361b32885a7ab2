/**
 * Road-arc reference (`referentiel-geographique-…-capteurs-permanents`, SPEC §1.6): `;` CSV whose column
 * order differs from comptages (dates 2nd/3rd, aval before amont); dates `YYYY-MM-DD` or ISO with
 * offset; `geo_point_2d` with or without the space. One record is kept per arc (see `keepLatestPerArc`).
 */
import type { Reject } from '../../engine/quarantine.ts';
import { readCsvRows, type RawFile } from '../shared/csv-source.ts';
import { optionalGeo, parseGeoPoint, parseGeoShape, type GeoShape } from '../geo/geometry.ts';
import { isCalendarDay, parisLocalToUtcMs, parseIsoWithOffset } from '../shared/paris-time.ts';

export interface ReferentielRow {
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

export const REFERENTIEL_COLUMNS = {
  arc: 'Identifiant arc',
  debut: 'Date debut dispo data',
  fin: 'Date fin dispo data',
  libelle: 'Libelle',
  aval: 'Identifiant noeud aval',
  amont: 'Identifiant noeud amont',
  geo_point: 'geo_point_2d',
  geo_shape: 'geo_shape',
} as const;

/** 'YYYY-MM-DD' (Paris midnight) or ISO with offset → ms; '' or unparsable → null. */
export function availabilityMs(text: string): number | null {
  if (isCalendarDay(text)) {
    const [y, m, d] = text.split('-').map(Number) as [number, number, number];
    return parisLocalToUtcMs(y, m, d);
  }
  return parseIsoWithOffset(text);
}

/** Most recent availability first: latest début; ties → latest fin, an empty fin (still open) being the latest. */
function compareRecency(a: ReferentielRow, b: ReferentielRow): number {
  const da = availabilityMs(a.date_debut) ?? -Infinity;
  const db = availabilityMs(b.date_debut) ?? -Infinity;
  if (da !== db) return da - db;
  const fa = a.date_fin === '' ? Infinity : (availabilityMs(a.date_fin) ?? -Infinity);
  const fb = b.date_fin === '' ? Infinity : (availabilityMs(b.date_fin) ?? -Infinity);
  if (fa !== fb) return fa - fb;
  return a.line - b.line; // full tie: the later row of the file
}

/**
 * One row per arc: the one with the most recent availability period. The others are reported as
 * `superseded_duplicate_arc` so the count of dropped rows stays visible.
 */
export function keepLatestPerArc(rows: readonly ReferentielRow[], reject: Reject): ReferentielRow[] {
  const best = new Map<string, ReferentielRow>();
  for (const r of rows) {
    const cur = best.get(r.arc);
    if (!cur) best.set(r.arc, r);
    else {
      const [keep, drop] = compareRecency(r, cur) > 0 ? [r, cur] : [cur, r];
      best.set(r.arc, keep);
      reject({
        reason: 'superseded_duplicate_arc',
        file: drop.file,
        line: drop.line,
        detail: `arc ${r.arc}: line ${keep.line} has a more recent availability period`,
      });
    }
  }
  return [...best.values()];
}

/** Parses the referentiel CSV and keeps one row per arc. */
export async function parseReferentielFile(file: RawFile, reject: Reject): Promise<ReferentielRow[]> {
  const C = REFERENTIEL_COLUMNS;
  const rows: ReferentielRow[] = [];
  for await (const row of readCsvRows(file, reject, { delimiter: ';', required: [C.arc, C.libelle] })) {
    const v = (k: keyof typeof C) => row.values[C[k]] ?? '';
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
  return keepLatestPerArc(rows, reject);
}
