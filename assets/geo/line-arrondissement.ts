/**
 * Arrondissement of a road arc (a line, possibly in several parts), for arcs whose published
 * `geo_point_2d` falls outside every arrondissement polygon. On the ring road and its slip roads the
 * published point can sit just outside Paris (or off a curved line) while the arc itself runs inside.
 *
 * Rule, in order:
 * 1. the published point, if it is inside an arrondissement;
 * 2. the midpoint of the shape (half its length along the line), if inside;
 * 3. the point of the shape inside Paris nearest (along the line) to that midpoint, the shape being
 *    walked vertex by vertex and every `SAMPLE_STEP_M` metres between vertices;
 * 4. none: only an arc wholly outside Paris gets no arrondissement.
 */
import { arrondissementOf } from './arrondissements.ts';
import { haversineMeters, type LonLat } from './geometry.ts';

/** Spacing (m) of the points tried between two vertices in step 3. */
export const SAMPLE_STEP_M = 5;

export type ArrondissementBasis = 'geo_point_2d' | 'shape_midpoint' | 'shape_point';

export interface LineArrondissement {
  code: string | null;
  /** Which step of the rule gave the code; null when there is none. */
  basis: ArrondissementBasis | null;
}

const lerp = (a: LonLat, b: LonLat, t: number): LonLat => [
  a[0] + (b[0] - a[0]) * t,
  a[1] + (b[1] - a[1]) * t,
];

/** Points along the parts with their distance along the whole shape (parts laid end to end). */
function* walk(parts: readonly LonLat[][], stepM: number): Generator<{ p: LonLat; at: number }> {
  let at = 0;
  for (const part of parts) {
    if (part.length === 0) continue;
    yield { p: part[0]!, at };
    for (let i = 1; i < part.length; i++) {
      const [a, b] = [part[i - 1]!, part[i]!];
      const leg = haversineMeters(a, b);
      const n = Math.max(1, Math.ceil(leg / stepM));
      for (let k = 1; k <= n; k++) yield { p: k === n ? b : lerp(a, b, k / n), at: at + (leg * k) / n };
      at += leg;
    }
  }
}

/** Point at `target` metres along the parts (laid end to end), or null for an empty shape. */
function pointAt(parts: readonly LonLat[][], target: number): LonLat | null {
  let at = 0;
  let last: LonLat | null = null;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) {
      const p = part[i]!;
      if (i > 0) {
        const a = part[i - 1]!;
        const leg = haversineMeters(a, p);
        if (at + leg >= target && leg > 0) return lerp(a, p, (target - at) / leg);
        at += leg;
      }
      last = p;
    }
  }
  return last;
}

const totalLength = (parts: readonly LonLat[][]): number =>
  parts.reduce((s, part) => s + part.slice(1).reduce((t, p, i) => t + haversineMeters(part[i]!, p), 0), 0);

/**
 * Arrondissement of an arc from its published point ([lon, lat], may be null) and its shape (one or
 * more polylines of [lon, lat]); see the module comment for the rule.
 */
export function lineArrondissement(
  point: LonLat | null,
  parts: readonly LonLat[][],
  lookup: (lon: number, lat: number) => string | null = arrondissementOf,
): LineArrondissement {
  if (point) {
    const code = lookup(point[0], point[1]);
    if (code) return { code, basis: 'geo_point_2d' };
  }
  const length = totalLength(parts);
  const mid = length / 2;
  const midpoint = pointAt(parts, mid);
  if (midpoint) {
    const code = lookup(midpoint[0], midpoint[1]);
    if (code) return { code, basis: 'shape_midpoint' };
  }
  let best: { code: string; d: number } | null = null;
  for (const { p, at } of walk(parts, SAMPLE_STEP_M)) {
    const d = Math.abs(at - mid);
    if (best && d >= best.d) continue; // ties: the earlier point along the line
    const code = lookup(p[0], p[1]);
    if (code) best = { code, d };
  }
  return best ? { code: best.code, basis: 'shape_point' } : { code: null, basis: null };
}
