/**
 * Road works that disturb traffic (`chantiers-perturbants-la-circulation`, SPEC §1.5): `;` CSV with
 * BOM, multi-line quoted fields, numeric Statut/Typologie codes, `YYYY-MM-DD` dates, GeoJSON shapes.
 */
import type { Reject } from '../../engine/quarantine.ts';
import { arrondissementOf } from '../geo/arrondissements.ts';
import { readCsvRows, type RawFile } from '../shared/csv-source.ts';
import {
  optionalGeo,
  parseGeoPoint,
  parseGeoShape,
  polygonAreaM2,
  shapeCenter,
  type GeoShape,
} from '../geo/geometry.ts';
import { isCalendarDay } from '../shared/paris-time.ts';

export interface Chantier {
  identifiant: string;
  /** Numeric code as published ('1', '2', '3'; meaning undocumented). */
  typologie: string;
  /** Numeric code as published ('2', '3', '4'). */
  statut: string;
  /** BARRAGE_TOTAL | IMPASSE | RESTREINTE | SENS_UNIQUE | '' */
  impact: string;
  niveau_perturbation: string | null;
  date_debut: string;
  date_fin: string;
  arrondissement: string | null;
  geo_shape: GeoShape | null;
  /** True area of the Polygon/MultiPolygon (m²), 0 without a shape. */
  surface_m2: number;
  file: string;
  line: number;
}

export const CHANTIERS_COLUMNS = {
  identifiant: 'Identifiant',
  code_postal: "Code postal de l'arrondissement",
  typologie: 'Typologie',
  date_debut: 'Date de début',
  date_fin: 'Date de fin',
  impact: 'Impact sur la circulation',
  niveau: 'Niveau de perturbation',
  statut: 'Statut',
  geo_shape: 'geo_shape',
  geo_point: 'geo_point_2d',
} as const;

const POSTCODE_RE = /^750(0[1-9]|1[0-9]|20)$/;

/** Postal-code column if valid, else point-in-polygon on geo_point_2d, else on the shape's centre. */
function arrondissement(
  postcode: string,
  point: [number, number] | null,
  shape: GeoShape | null,
): string | null {
  if (POSTCODE_RE.test(postcode)) return postcode;
  if (point) return arrondissementOf(point[1], point[0]);
  const c = shapeCenter(shape);
  return c ? arrondissementOf(c[0], c[1]) : null;
}

export async function parseChantiersFile(file: RawFile, reject: Reject): Promise<Chantier[]> {
  const C = CHANTIERS_COLUMNS;
  const out: Chantier[] = [];
  const required = [C.identifiant, C.date_debut, C.date_fin, C.impact];
  // Identifiant is unique in the export (192/192 in the real file): a repeat would count a work twice.
  const firstLine = new Map<string, number>();
  for await (const row of readCsvRows(file, reject, { delimiter: ';', required })) {
    const v = (k: keyof typeof C) => row.values[C[k]] ?? '';
    const bad = (reason: string, detail: string) =>
      reject({ reason, file: file.key, line: row.line, detail, raw: row.raw });
    if (v('identifiant') === '') {
      bad('invalid_record', 'missing Identifiant');
      continue;
    }
    const seenAt = firstLine.get(v('identifiant'));
    if (seenAt !== undefined) {
      bad('duplicate_record', `Identifiant ${v('identifiant')} already on line ${seenAt}`);
      continue;
    }
    firstLine.set(v('identifiant'), row.line);
    if (!isCalendarDay(v('date_debut')) || !isCalendarDay(v('date_fin'))) {
      bad(
        'unparsable_date',
        `début ${JSON.stringify(v('date_debut'))}, fin ${JSON.stringify(v('date_fin'))} (expected YYYY-MM-DD)`,
      );
      continue;
    }
    if (v('date_fin') < v('date_debut')) {
      bad('inverted_dates', `fin ${v('date_fin')} before début ${v('date_debut')}`);
      continue;
    }
    // A damaged geometry loses only itself: the value is quarantined, the works are kept.
    const shape = optionalGeo(v('geo_shape'), parseGeoShape, () =>
      bad('invalid_geo_shape', 'geo_shape is not a GeoJSON geometry; kept without shape (surface 0)'),
    );
    const point = optionalGeo(v('geo_point'), parseGeoPoint, () =>
      bad('invalid_geo_point', 'geo_point_2d is not "lat, lon"; kept without point'),
    );
    const area =
      shape && (shape.type === 'Polygon' || shape.type === 'MultiPolygon') ? polygonAreaM2(shape) : 0;
    out.push({
      identifiant: v('identifiant'),
      typologie: v('typologie'),
      statut: v('statut'),
      impact: v('impact'),
      niveau_perturbation: v('niveau') || null,
      date_debut: v('date_debut'),
      date_fin: v('date_fin'),
      arrondissement: arrondissement(v('code_postal'), point, shape),
      geo_shape: shape,
      surface_m2: area,
      file: file.key,
      line: row.line,
    });
  }
  return out;
}
