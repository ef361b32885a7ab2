import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ARRONDISSEMENT_CODES, arrondissementOf } from './arrondissements.ts';
import {
  haversineMeters,
  lineLengthMeters,
  parseGeoPoint,
  parseGeoShape,
  polygonAreaM2,
  shapeCenter,
  toGeoShape,
} from './geometry.ts';

interface Feature {
  properties: { c_ar: number; surface: number; geom_x_y: { lon: number; lat: number } };
  geometry: unknown;
}
const official = JSON.parse(
  readFileSync(
    new URL(
      '../../test/fixtures/real/paris-arrondissements/arrondissements_opendata-paris_v2.1-geojson-export.geojson',
      import.meta.url,
    ),
    'utf8',
  ),
) as { features: Feature[] };

describe('bundled arrondissements GeoJSON', () => {
  it('is byte-identical to the real v2.1 export fixture', () => {
    const bundled = readFileSync(new URL('./arrondissements.geojson', import.meta.url));
    const fixture = readFileSync(
      new URL(
        '../../test/fixtures/real/paris-arrondissements/arrondissements_opendata-paris_v2.1-geojson-export.geojson',
        import.meta.url,
      ),
    );
    expect(bundled.equals(fixture)).toBe(true);
  });
});

describe('arrondissementOf', () => {
  it('reaches all 20 arrondissements (official centroid of each, geom_x_y)', () => {
    const found = official.features.map((f) =>
      arrondissementOf(f.properties.geom_x_y.lon, f.properties.geom_x_y.lat),
    );
    const expected = official.features.map((f) => `750${String(f.properties.c_ar).padStart(2, '0')}`);
    expect(found).toEqual(expected);
    expect([...new Set(found)].sort()).toEqual(ARRONDISSEMENT_CODES);
  });

  it('places well-known landmarks', () => {
    expect(arrondissementOf(2.2945, 48.8584)).toBe('75007'); // Eiffel Tower
    expect(arrondissementOf(2.3499, 48.853)).toBe('75004'); // Notre-Dame (Île de la Cité)
    expect(arrondissementOf(2.37559, 48.84613)).toBe('75012'); // 28 bd Diderot bike counter (SPEC §1.1)
    expect(arrondissementOf(2.2418, 48.8616)).toBe('75016'); // Bois de Boulogne
  });

  it('returns null outside Paris or for non-finite input', () => {
    expect(arrondissementOf(2.2069, 48.8924)).toBeNull(); // La Défense
    expect(arrondissementOf(2.4399, 48.8484)).toBeNull(); // Vincennes town hall, just east of the Bois de Vincennes
    expect(arrondissementOf(2.3, 48.82)).toBeNull(); // Malakoff/Montrouge, inside the overall bbox
    expect(arrondissementOf(0, 0)).toBeNull();
    expect(arrondissementOf(Number.NaN, 48.85)).toBeNull();
  });
});

describe('geometry', () => {
  it('haversineMeters: 1° of latitude = R·π/180 = 111,194.93 m', () => {
    expect(haversineMeters([2.35, 48], [2.35, 49])).toBeCloseTo((6_371_000 * Math.PI) / 180, 3);
    expect(haversineMeters([2.35, 48.85], [2.35, 48.85])).toBe(0);
  });

  it('lineLengthMeters sums legs', () => {
    const a: [number, number] = [2.3, 48.85];
    const b: [number, number] = [2.31, 48.85];
    const c: [number, number] = [2.31, 48.86];
    expect(lineLengthMeters([a, b, c])).toBeCloseTo(haversineMeters(a, b) + haversineMeters(b, c), 6);
    expect(lineLengthMeters([a])).toBe(0);
    expect(lineLengthMeters([])).toBe(0);
  });

  it('parseGeoPoint accepts "lat, lon" and "lat,lon", rejects junk', () => {
    expect(parseGeoPoint('48.85038153783919, 2.415013682752968')).toEqual([
      48.85038153783919, 2.415013682752968,
    ]);
    expect(parseGeoPoint('48.8975672184,2.3301295887')).toEqual([48.8975672184, 2.3301295887]);
    expect(parseGeoPoint('')).toBeNull();
    expect(parseGeoPoint('48.85')).toBeNull();
    expect(parseGeoPoint('abc, def')).toBeNull();
    expect(parseGeoPoint('148.8, 2.3')).toBeNull();
  });

  it('parseGeoShape validates the four types and rejects the rest', () => {
    expect(
      parseGeoShape('{"coordinates": [[2.4151, 48.8519], [2.4149, 48.8488]], "type": "LineString"}'),
    ).toEqual({
      type: 'LineString',
      coordinates: [
        [2.4151, 48.8519],
        [2.4149, 48.8488],
      ],
    });
    expect(parseGeoShape('{"type":"Point","coordinates":[2.3,48.8]}')).toEqual({
      type: 'Point',
      coordinates: [2.3, 48.8],
    });
    expect(parseGeoShape('not json')).toBeNull();
    expect(parseGeoShape('{"type":"LineString","coordinates":[[2.3,48.8]]}')).toBeNull(); // one vertex
    expect(parseGeoShape('{"type":"Polygon","coordinates":[[[2.3,48.8],[2.4,48.8],[2.3,48.8]]]}')).toBeNull(); // 3 positions
    expect(parseGeoShape('{"type":"GeometryCollection","geometries":[]}')).toBeNull();
    expect(parseGeoShape('{"type":"Point","coordinates":["2.3","48.8"]}')).toBeNull();
    expect(parseGeoShape('null')).toBeNull();
  });

  it('polygonAreaM2 matches the official `surface` of every arrondissement within 1 %', () => {
    for (const f of official.features) {
      const area = polygonAreaM2(toGeoShape(f.geometry));
      expect(Math.abs(area / f.properties.surface - 1), `arrondissement ${f.properties.c_ar}`).toBeLessThan(
        0.01,
      );
    }
  });

  it('polygonAreaM2 subtracts holes, sums MultiPolygon parts, ignores winding', () => {
    // 0.01° × 0.01° square at 48.85°N ≈ (R·0.01·π/180)² · cos(48.85°) ≈ 1,236,460 · 0.6583 ≈ 814,000 m²
    const sq = (x: number, y: number, d: number): [number, number][] => [
      [x, y],
      [x + d, y],
      [x + d, y + d],
      [x, y + d],
      [x, y],
    ];
    const outer = sq(2.3, 48.85, 0.01);
    const one = polygonAreaM2({ type: 'Polygon', coordinates: [outer] });
    const planarNoCos = ((6_371_000 * 0.01 * Math.PI) / 180) ** 2;
    expect(one / planarNoCos).toBeCloseTo(Math.cos((48.855 * Math.PI) / 180), 3);
    expect(polygonAreaM2({ type: 'Polygon', coordinates: [[...outer].reverse()] })).toBeCloseTo(one, 6);
    const hole = sq(2.302, 48.852, 0.005);
    const withHole = polygonAreaM2({ type: 'Polygon', coordinates: [outer, hole] });
    expect(withHole).toBeCloseTo(one - polygonAreaM2({ type: 'Polygon', coordinates: [hole] }), 3);
    expect(
      polygonAreaM2({ type: 'MultiPolygon', coordinates: [[outer], [sq(2.32, 48.85, 0.01)]] }),
    ).toBeCloseTo(2 * one, -1);
    expect(polygonAreaM2({ type: 'Point', coordinates: [2.3, 48.8] })).toBe(0);
    expect(polygonAreaM2(null)).toBe(0);
  });

  it('shapeCenter follows SPEC §2.1', () => {
    expect(shapeCenter({ type: 'Point', coordinates: [1, 2] })).toEqual([1, 2]);
    expect(
      shapeCenter({
        type: 'LineString',
        coordinates: [
          [0, 0],
          [1, 1],
          [2, 2],
        ],
      }),
    ).toEqual([1, 1]);
    // square ring without its closing vertex: mean of (0,0),(2,0),(2,2),(0,2) = (1,1)
    expect(
      shapeCenter({
        type: 'Polygon',
        coordinates: [
          [
            [0, 0],
            [2, 0],
            [2, 2],
            [0, 2],
            [0, 0],
          ],
        ],
      }),
    ).toEqual([1, 1]);
  });
});
