/**
 * Small geographic helpers shared by the Paris datasets (SPEC §2.1), with the original's bugs fixed:
 * `geo_point_2d` accepted with or without the space, and polygon areas that include cos(latitude).
 */

/** Mean Earth radius used for every distance and area (metres), as in the original. */
export const EARTH_RADIUS_M = 6_371_000;

export type LonLat = [number, number];

export type GeoShape =
  | { type: 'Point'; coordinates: LonLat }
  | { type: 'LineString'; coordinates: LonLat[] }
  | { type: 'Polygon'; coordinates: LonLat[][] }
  | { type: 'MultiPolygon'; coordinates: LonLat[][][] };

const toRad = (deg: number): number => (deg * Math.PI) / 180;

/** Great-circle distance between two [lon, lat] points, in metres. */
export function haversineMeters(a: LonLat, b: LonLat): number {
  const dLat = toRad(b[1] - a[1]);
  const dLon = toRad(b[0] - a[0]);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(toRad(a[1])) * Math.cos(toRad(b[1])) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Length of a polyline of [lon, lat] vertices (sum of haversine legs), in metres. */
export function lineLengthMeters(coords: LonLat[]): number {
  let total = 0;
  for (let i = 1; i < coords.length; i++) total += haversineMeters(coords[i - 1]!, coords[i]!);
  return total;
}

const GEO_POINT_RE = /^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$/;

/** Parses Paris open data's `geo_point_2d` text, `"lat, lon"` or `"lat,lon"`, into [lat, lon]. */
export function parseGeoPoint(text: string): [number, number] | null {
  const m = GEO_POINT_RE.exec(text);
  if (!m) return null;
  const lat = Number(m[1]);
  const lon = Number(m[2]);
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180)
    return null;
  return [lat, lon];
}

const isPosition = (v: unknown): v is LonLat =>
  Array.isArray(v) &&
  v.length >= 2 &&
  typeof v[0] === 'number' &&
  typeof v[1] === 'number' &&
  Number.isFinite(v[0]) &&
  Number.isFinite(v[1]) &&
  Math.abs(v[0]) <= 180 &&
  Math.abs(v[1]) <= 90;

const isLine = (v: unknown, min: number): v is LonLat[] =>
  Array.isArray(v) && v.length >= min && v.every(isPosition);

/** A polygon ring needs at least 4 positions (closed triangle). */
const isPolygon = (v: unknown): v is LonLat[][] =>
  Array.isArray(v) && v.length >= 1 && v.every((ring) => isLine(ring, 4));

/** Keeps only [lon, lat] of each position (drops altitude) so downstream code sees 2-D tuples. */
const flat = (p: LonLat): LonLat => [p[0], p[1]];

/**
 * Parses a GeoJSON geometry string (Point, LineString, Polygon, MultiPolygon) and validates its
 * coordinates structurally. Anything else (bad JSON, other type, malformed coordinates) → null.
 */
export function parseGeoShape(text: string): GeoShape | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return toGeoShape(value);
}

/** Same validation as `parseGeoShape` for an already-parsed value. */
export function toGeoShape(value: unknown): GeoShape | null {
  if (typeof value !== 'object' || value === null) return null;
  const { type, coordinates: c } = value as { type?: unknown; coordinates?: unknown };
  switch (type) {
    case 'Point':
      return isPosition(c) ? { type, coordinates: flat(c) } : null;
    case 'LineString':
      return isLine(c, 2) ? { type, coordinates: c.map(flat) } : null;
    case 'Polygon':
      return isPolygon(c) ? { type, coordinates: c.map((r) => r.map(flat)) } : null;
    case 'MultiPolygon':
      return Array.isArray(c) && c.length >= 1 && c.every(isPolygon)
        ? { type, coordinates: c.map((p) => p.map((r) => r.map(flat))) }
        : null;
    default:
      return null;
  }
}

/**
 * Unsigned area of one ring on the sphere (m²), by the Chamberlain–Duquette formula
 * (JPL 2007, also used by d3-geo/turf): A = R²/2 · |Σ (λ₂ − λ₁)(2 + sin φ₁ + sin φ₂)|.
 * The sin φ terms carry the latitude dependence the original's plain lon/lat shoelace lacked (SPEC §5.8).
 */
function ringAreaM2(ring: LonLat[]): number {
  let sum = 0;
  for (let i = 0; i < ring.length; i++) {
    const p1 = ring[i]!;
    const p2 = ring[(i + 1) % ring.length]!;
    sum += toRad(p2[0] - p1[0]) * (2 + Math.sin(toRad(p1[1])) + Math.sin(toRad(p2[1])));
  }
  return Math.abs((sum * EARTH_RADIUS_M * EARTH_RADIUS_M) / 2);
}

/** Exterior ring minus holes; winding is ignored (Paris exports use clockwise exteriors). */
const polygonRingsArea = (rings: LonLat[][]): number =>
  rings.reduce((acc, ring, i) => (i === 0 ? acc + ringAreaM2(ring) : acc - ringAreaM2(ring)), 0);

/** True area in m² of a Polygon (holes subtracted) or MultiPolygon (parts summed); 0 for other types. */
export function polygonAreaM2(geom: GeoShape | null | undefined): number {
  if (!geom) return 0;
  if (geom.type === 'Polygon') return Math.max(0, polygonRingsArea(geom.coordinates));
  if (geom.type === 'MultiPolygon')
    return geom.coordinates.reduce((acc, poly) => acc + Math.max(0, polygonRingsArea(poly)), 0);
  return 0;
}

/** Representative point [lon, lat] (SPEC §2.1): Point itself, LineString middle vertex, Polygon ring mean. */
export function shapeCenter(geom: GeoShape | null | undefined): LonLat | null {
  if (!geom) return null;
  switch (geom.type) {
    case 'Point':
      return geom.coordinates;
    case 'LineString':
      return geom.coordinates[Math.floor(geom.coordinates.length / 2)] ?? null;
    case 'Polygon':
    case 'MultiPolygon': {
      const ring = geom.type === 'Polygon' ? geom.coordinates[0] : geom.coordinates[0]?.[0];
      if (!ring || ring.length === 0) return null;
      // The closing vertex repeats the first one; leave it out of the mean.
      const pts =
        ring.length > 1 && ring[0]![0] === ring.at(-1)![0] && ring[0]![1] === ring.at(-1)![1]
          ? ring.slice(0, -1)
          : ring;
      const lon = pts.reduce((s, p) => s + p[0], 0) / pts.length;
      const lat = pts.reduce((s, p) => s + p[1], 0) / pts.length;
      return [lon, lat];
    }
  }
}

/**
 * An optional geometry cell: empty is null; a non-empty cell that does not parse is reported through
 * `onInvalid` (the caller quarantines the value with its line and keeps the row) and read as null.
 */
export function optionalGeo<T>(
  text: string,
  parse: (text: string) => T | null,
  onInvalid: () => void,
): T | null {
  if (text === '') return null;
  const value = parse(text);
  if (value === null) onInvalid();
  return value;
}
