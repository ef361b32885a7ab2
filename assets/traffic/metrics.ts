/**
 * Daily disruption metrics for Paris day D (SPEC §2.3, §3.1), fixed: "active" means a period overlaps
 * D's Paris day window (not the status at fetch time), durations are clipped to D, snapshots are
 * de-duplicated, alerts carry their severity, and the reliability index measures something.
 */
import { z } from 'zod';
import { parisDayWindow } from '../shared/paris-time.ts';
import type { Disruption, SeverityClass } from './parse.ts';

const HOUR_MS = 3_600_000;
export const METRO_LINES = Array.from({ length: 14 }, (_, i) => String(i + 1));
/**
 * Alert rule (SPEC §2.3 on IDFM's scale): CRITIQUE, or more than this many hours of D — except
 * information notices (FAIBLE), never alerts, and MOYENNE (severity not given) without a metro line.
 */
export const ALERT_MIN_HOURS = 2;
const SEVERITY_RANK: Record<SeverityClass, number> = { CRITIQUE: 3, ELEVEE: 2, MOYENNE: 1, FAIBLE: 0 };

const Severity = z.enum(['CRITIQUE', 'ELEVEE', 'MOYENNE', 'FAIBLE']);
export const TrafficMetricsSchema = z.object({
  date: z.string(),
  reliability_index: z.number().min(0).max(100),
  active_disruptions_count: z.number().int().nonnegative(),
  total_disruptions_count: z.number().int().nonnegative(),
  disruptions_by_severity: z.object({
    CRITIQUE: z.number().int(),
    ELEVEE: z.number().int(),
    MOYENNE: z.number().int(),
    FAIBLE: z.number().int(),
  }),
  top_lignes_impactees: z.array(z.object({ ligne: z.string(), count: z.number().int().positive() })),
  alerts: z.array(
    z.object({
      id: z.string(),
      priority: z.number(),
      severity: Severity,
      duration_hours: z.number().nonnegative(),
      lignes: z.array(z.string()),
    }),
  ),
  duree_totale_heures: z.number().nonnegative(),
  heures_ligne_perturbees: z.number().int().nonnegative(),
  heures_ligne_total: z.number().int().positive(),
});
export type TrafficMetrics = z.infer<typeof TrafficMetricsSchema>;

/** Latest snapshot wins per disruption id; snapshot order = (file key, line), so input order is irrelevant. */
export function latestById(disruptions: readonly Disruption[]): Disruption[] {
  const ordered = [...disruptions].sort((a, b) =>
    a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line,
  );
  const byId = new Map<string, Disruption>();
  for (const d of ordered) byId.set(d.id, d);
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Periods clipped to [startMs, endMs) and merged, so overlapping periods are not counted twice. */
function clippedIntervals(d: Disruption, startMs: number, endMs: number): [number, number][] {
  const iv = d.periods
    .map((p): [number, number] => [Math.max(p.startMs, startMs), Math.min(p.endMs, endMs)])
    .filter(([s, e]) => e > s)
    .sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [s, e] of iv) {
    const last = merged.at(-1);
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  return merged;
}

/** A period [s, e] overlaps D when s < end of D and e > start of D (a zero-length period inside D counts). */
const overlapsDay = (d: Disruption, startMs: number, endMs: number): boolean =>
  d.periods.some((p) => p.startMs < endMs && p.endMs > startMs) ||
  d.periods.some((p) => p.startMs === p.endMs && p.startMs >= startMs && p.startMs < endMs);

export function computeTrafficMetrics(day: string, disruptions: readonly Disruption[]): TrafficMetrics {
  const { startMs, endMs } = parisDayWindow(day);
  const all = latestById(disruptions);
  const active = all.filter((d) => overlapsDay(d, startMs, endMs));
  const by_severity = { CRITIQUE: 0, ELEVEE: 0, MOYENNE: 0, FAIBLE: 0 };
  const perLine = new Map<string, number>();
  const alerts: TrafficMetrics['alerts'] = [];
  let totalHours = 0;
  for (const d of active) {
    by_severity[d.severity_class]++;
    for (const l of d.lignes) perLine.set(l, (perLine.get(l) ?? 0) + 1);
    const hours = clippedIntervals(d, startMs, endMs).reduce((a, [s, e]) => a + (e - s), 0) / HOUR_MS;
    totalHours += hours;
    const information = d.severity_class === 'FAIBLE';
    const unclassifiedOffMetro = d.severity_class === 'MOYENNE' && d.lignes.length === 0;
    if ((d.severity_class === 'CRITIQUE' || hours > ALERT_MIN_HOURS) && !information && !unclassifiedOffMetro)
      alerts.push({
        id: d.id,
        priority: d.priority,
        severity: d.severity_class,
        duration_hours: hours,
        lignes: d.lignes,
      });
  }
  alerts.sort(
    (a, b) =>
      SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
      a.priority - b.priority || // Navitia: lower priority = more severe
      b.duration_hours - a.duration_hours ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );

  // Reliability: share of (metro line × hour of D) slots with no active non-FAIBLE disruption on that line.
  const slots = Math.round((endMs - startMs) / HOUR_MS); // 24, or 23/25 on DST days
  let disrupted = 0;
  for (const line of METRO_LINES) {
    const intervals = active
      .filter((d) => d.severity_class !== 'FAIBLE' && d.lignes.includes(line))
      .flatMap((d) => clippedIntervals(d, startMs, endMs));
    for (let h = 0; h < slots; h++) {
      const s = startMs + h * HOUR_MS;
      const e = s + HOUR_MS;
      if (intervals.some(([a, b]) => a < e && b > s)) disrupted++;
    }
  }
  const totalSlots = METRO_LINES.length * slots;

  return {
    date: day,
    reliability_index: (100 * (totalSlots - disrupted)) / totalSlots,
    active_disruptions_count: active.length,
    total_disruptions_count: all.length,
    disruptions_by_severity: by_severity,
    top_lignes_impactees: [...perLine.entries()]
      .sort((a, b) => b[1] - a[1] || Number(a[0]) - Number(b[0]))
      .slice(0, 10)
      .map(([ligne, count]) => ({ ligne, count })),
    alerts,
    duree_totale_heures: totalHours,
    heures_ligne_perturbees: disrupted,
    heures_ligne_total: totalSlots,
  };
}
