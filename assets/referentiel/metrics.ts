/**
 * Referentiel metrics (SPEC §2.7, §3.1): one mapping entry per arc with its true length, centre and
 * arrondissement (point-in-polygon; the original computed none), plus length statistics.
 * The source is unpartitioned; the document is written per day D with the same content.
 */
import { z } from 'zod';
import { lineArrondissement } from '../geo/line-arrondissement.ts';
import type { LonLat } from '../geo/geometry.ts';
import type { ReferentielRow } from './parse.ts';

const ArcEntry = z.object({
  libelle: z.string(),
  /** Σ of the pieces' LineString lengths (an arc drawn in several rows is one arc). */
  longueur_metres: z.number().nonnegative(),
  /** Rows of the CSV joined into this arc (1 for an arc in one piece). */
  morceaux: z.number().int().positive(),
  noeud_amont: z.string().nullable(),
  noeud_aval: z.string().nullable(),
  /** [lat, lon] as published. */
  geo_point_2d: z.tuple([z.number(), z.number()]).nullable(),
  /** [lon, lat]: middle vertex of the (joined) LineString, else the geo_point. */
  center: z.tuple([z.number(), z.number()]).nullable(),
  arrondissement: z.string().nullable(),
  /** What placed the arc: its published point, else its shape (midpoint, else nearest point inside Paris). */
  source_arrondissement: z.enum(['geo_point_2d', 'shape_midpoint', 'shape_point']).nullable(),
  date_debut_dispo: z.string(),
  date_fin_dispo: z.string(),
});
export const ReferentielMetricsSchema = z.object({
  date: z.string(),
  mapping: z.record(z.string(), ArcEntry),
  statistiques: z.object({
    nombre_troncons: z.number().int().nonnegative(),
    troncons_avec_longueur: z.number().int().nonnegative(),
    longueur_totale_metres: z.number().nonnegative(),
    longueur_moyenne_metres: z.number().nonnegative(),
    longueur_min_metres: z.number().nonnegative(),
    longueur_mediane_metres: z.number().nonnegative(),
    longueur_max_metres: z.number().nonnegative(),
  }),
});
export type ReferentielArc = z.infer<typeof ArcEntry>;
export type ReferentielMetrics = z.infer<typeof ReferentielMetricsSchema>;

const byArcId = (a: string, b: string): number => {
  const [na, nb] = [Number(a), Number(b)];
  return Number.isFinite(na) && Number.isFinite(nb) && na !== nb ? na - nb : a < b ? -1 : a > b ? 1 : 0;
};

/** Middle vertex (SPEC §2.1: index ⌊n/2⌋) of the arc's vertices, parts laid end to end. */
function middleVertex(parts: readonly LonLat[][]): LonLat | null {
  const vertices = parts.flat();
  return vertices[Math.floor(vertices.length / 2)] ?? null;
}

export function computeReferentielMetrics(day: string, arcs: readonly ReferentielRow[]): ReferentielMetrics {
  const mapping: Record<string, ReferentielArc> = {};
  for (const r of [...arcs].sort((a, b) => byArcId(a.arc, b.arc))) {
    const point: LonLat | null = r.geo_point_2d ? [r.geo_point_2d[1], r.geo_point_2d[0]] : null;
    const center = middleVertex(r.parts) ?? point;
    const where = lineArrondissement(point ?? center, r.parts);
    mapping[r.arc] = {
      libelle: r.libelle,
      longueur_metres: r.length_m,
      morceaux: r.pieces,
      noeud_amont: r.noeud_amont,
      noeud_aval: r.noeud_aval,
      geo_point_2d: r.geo_point_2d,
      center,
      arrondissement: where.code,
      source_arrondissement: where.basis,
      date_debut_dispo: r.date_debut,
      date_fin_dispo: r.date_fin,
    };
  }
  const lengths = Object.values(mapping)
    .map((a) => a.longueur_metres)
    .filter((l) => l > 0)
    .sort((a, b) => a - b);
  const n = lengths.length;
  const total = lengths.reduce((a, b) => a + b, 0);
  const median =
    n === 0 ? 0 : n % 2 === 1 ? lengths[(n - 1) / 2]! : (lengths[n / 2 - 1]! + lengths[n / 2]!) / 2;
  return {
    date: day,
    mapping,
    statistiques: {
      nombre_troncons: Object.keys(mapping).length,
      troncons_avec_longueur: n,
      longueur_totale_metres: total,
      longueur_moyenne_metres: n > 0 ? total / n : 0,
      longueur_min_metres: lengths[0] ?? 0,
      longueur_mediane_metres: median,
      longueur_max_metres: lengths[n - 1] ?? 0,
    },
  };
}

/** Arc id → length in metres (arcs with a positive length only), for the road-count metrics. */
export function lengthByArc(metrics: ReferentielMetrics): Map<string, number> {
  const out = new Map<string, number>();
  for (const [arc, entry] of Object.entries(metrics.mapping))
    if (entry.longueur_metres > 0) out.set(arc, entry.longueur_metres);
  return out;
}
