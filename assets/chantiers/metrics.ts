/**
 * Daily road-works metrics for day D (SPEC §2.6, §3.1), fixed: a work is active when
 * début ≤ D ≤ fin for the processing day D (not the wall clock), areas are true areas, and every
 * arrondissement is reachable.
 */
import { z } from 'zod';
import type { Chantier } from './parse.ts';

/** Impact coefficients (SPEC §2.6); anything else counts 0. */
export const IMPACT_COEFFICIENTS: Record<string, number> = {
  BARRAGE_TOTAL: 100,
  IMPASSE: 80,
  RESTREINTE: 50,
  SENS_UNIQUE: 30,
};
/** An arrondissement is critical with more than this many active works. */
export const CRITICAL_MIN_EXCLUSIVE = 3;
export const UNKNOWN_ARRONDISSEMENT = 'Unknown';

export const ChantiersMetricsSchema = z.object({
  date: z.string(),
  chantiers_actifs: z.array(
    z.object({
      identifiant: z.string(),
      typologie: z.string(),
      impact: z.string(),
      arrondissement: z.string().nullable(),
      date_debut: z.string(),
      date_fin: z.string(),
      surface_m2: z.number().nonnegative(),
    }),
  ),
  impact_by_arrondissement: z.record(z.string(), z.number().nonnegative()),
  zones_critiques: z.array(
    z.object({ arrondissement: z.string().nullable(), nombre_chantiers: z.number().int() }),
  ),
  surface_totale_impactee_m2: z.number().nonnegative(),
  total_chantiers_actifs: z.number().int().nonnegative(),
});
export type ChantiersMetrics = z.infer<typeof ChantiersMetricsSchema>;

export function computeChantiersMetrics(day: string, chantiers: readonly Chantier[]): ChantiersMetrics {
  // ISO dates compare correctly as strings.
  const active = chantiers
    .filter((c) => c.date_debut <= day && day <= c.date_fin)
    .sort((a, b) =>
      a.identifiant < b.identifiant ? -1 : a.identifiant > b.identifiant ? 1 : a.line - b.line,
    );
  const impact: Record<string, number> = {};
  const counts = new Map<string | null, number>();
  for (const c of active) {
    const key = c.arrondissement ?? UNKNOWN_ARRONDISSEMENT;
    impact[key] = (impact[key] ?? 0) + (IMPACT_COEFFICIENTS[c.impact] ?? 0);
    counts.set(c.arrondissement, (counts.get(c.arrondissement) ?? 0) + 1);
  }
  const sortedImpact = Object.fromEntries(Object.entries(impact).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    date: day,
    chantiers_actifs: active.map((c) => ({
      identifiant: c.identifiant,
      typologie: c.typologie,
      impact: c.impact,
      arrondissement: c.arrondissement,
      date_debut: c.date_debut,
      date_fin: c.date_fin,
      surface_m2: c.surface_m2,
    })),
    impact_by_arrondissement: sortedImpact,
    zones_critiques: [...counts.entries()]
      .filter(([, n]) => n > CRITICAL_MIN_EXCLUSIVE)
      .sort((a, b) => b[1] - a[1] || (a[0] ?? '~').localeCompare(b[0] ?? '~'))
      .map(([arrondissement, nombre_chantiers]) => ({ arrondissement, nombre_chantiers })),
    surface_totale_impactee_m2: active.reduce((a, c) => a + c.surface_m2, 0),
    total_chantiers_actifs: active.length,
  };
}
