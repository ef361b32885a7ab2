/**
 * Arrondissement lookup by point-in-polygon against the official Ville de Paris polygons
 * (bundled `arrondissements.geojson`, opendata.paris.fr v2.1 export, ODbL). Replaces the original's
 * box rules, which could only reach 9 of the 20 arrondissements (SPEC §2.1, §5.9).
 */
import { readFileSync } from 'node:fs';
import { toGeoShape, type LonLat } from './geometry.ts';

interface ArrondissementPolygon {
  /** Postal code '75001'…'75020'. */
  code: string;
  /** Rings of every polygon part: [part][ring][vertex]. */
  parts: LonLat[][][];
  bbox: [minLon: number, minLat: number, maxLon: number, maxLat: number];
}

const GEOJSON_URL = new URL('./arrondissements.geojson', import.meta.url);

let cache: { polygons: ArrondissementPolygon[]; bbox: ArrondissementPolygon['bbox'] } | null = null;

function bboxOf(parts: LonLat[][][]): ArrondissementPolygon['bbox'] {
  let [minLon, minLat, maxLon, maxLat] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const ring of parts.flatMap((p) => p.slice(0, 1)))
    for (const [lon, lat] of ring) {
      minLon = Math.min(minLon, lon);
      maxLon = Math.max(maxLon, lon);
      minLat = Math.min(minLat, lat);
      maxLat = Math.max(maxLat, lat);
    }
  return [minLon, minLat, maxLon, maxLat];
}

/** Loads and indexes the bundled polygons once, on first use. */
function load(): NonNullable<typeof cache> {
  if (cache) return cache;
  const doc = JSON.parse(readFileSync(GEOJSON_URL, 'utf8')) as {
    features: { properties: { c_ar?: number; c_arinsee?: number }; geometry: unknown }[];
  };
  const polygons: ArrondissementPolygon[] = [];
  for (const f of doc.features) {
    const geom = toGeoShape(f.geometry);
    const n = f.properties.c_ar;
    if (!geom || typeof n !== 'number' || (geom.type !== 'Polygon' && geom.type !== 'MultiPolygon')) {
      throw new Error(`arrondissements.geojson: unexpected feature (c_ar=${String(n)})`);
    }
    const parts = geom.type === 'Polygon' ? [geom.coordinates] : geom.coordinates;
    polygons.push({ code: `750${String(n).padStart(2, '0')}`, parts, bbox: bboxOf(parts) });
  }
  polygons.sort((a, b) => a.code.localeCompare(b.code));
  const all = bboxOf(polygons.flatMap((p) => p.parts));
  cache = { polygons, bbox: all };
  return cache;
}

/** Even-odd ray casting; independent of ring winding. */
function inRing(lon: number, lat: number, ring: LonLat[]): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i]!;
    const [xj, yj] = ring[j]!;
    if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

const inPolygon = (lon: number, lat: number, rings: LonLat[][]): boolean =>
  rings.length > 0 && inRing(lon, lat, rings[0]!) && !rings.slice(1).some((hole) => inRing(lon, lat, hole));

const inBox = (lon: number, lat: number, b: ArrondissementPolygon['bbox']): boolean =>
  lon >= b[0] && lon <= b[2] && lat >= b[1] && lat <= b[3];

/**
 * Answers by point: the same sensors and arcs come back every day (3,400 road arcs a day: the ray casting
 * was ≈ 14 % of the road-count metrics' CPU). Keyed by the numbers themselves, longitude then latitude
 * (a text key cost two number-to-text conversions per lookup: ≈ 0.4 s over 218 days of 3,400 arcs).
 * Bounded: emptied when it holds MEMO_MAX points.
 */
const memo = new Map<number, Map<number, string | null>>();
let memoPoints = 0;
const MEMO_MAX = 100_000;

/** Postal code ('75001'…'75020') of the arrondissement containing (lon, lat), or null outside Paris. */
export function arrondissementOf(lon: number, lat: number): string | null {
  if (!Number.isFinite(lon) || !Number.isFinite(lat)) return null;
  let byLat = memo.get(lon);
  const known = byLat?.get(lat);
  if (known !== undefined) return known;
  if (memoPoints >= MEMO_MAX) {
    memo.clear();
    memoPoints = 0;
    byLat = undefined;
  }
  const code = locate(lon, lat);
  if (!byLat) memo.set(lon, (byLat = new Map()));
  byLat.set(lat, code);
  memoPoints++;
  return code;
}

function locate(lon: number, lat: number): string | null {
  const { polygons, bbox } = load();
  if (!inBox(lon, lat, bbox)) return null;
  for (const p of polygons) {
    if (inBox(lon, lat, p.bbox) && p.parts.some((rings) => inPolygon(lon, lat, rings))) return p.code;
  }
  return null;
}

/** The official polygons, by postal code ('75001'…'75020'), e.g. to draw a map: [part][ring][vertex]. */
export function arrondissementShapes(): readonly { code: string; parts: LonLat[][][] }[] {
  return load().polygons.map(({ code, parts }) => ({ code, parts }));
}

/** The 20 postal codes, sorted (handy for reports and tests). */
export const ARRONDISSEMENT_CODES: readonly string[] = Array.from(
  { length: 20 },
  (_, i) => `750${String(i + 1).padStart(2, '0')}`,
);
