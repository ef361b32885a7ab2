/**
 * Daily weather metrics for Paris day D (SPEC §2.4, §3.1), fixed: the day whose date is D (not
 * `days[0]`), hourly sources aggregated over D's Paris hours, and wind counted in the mobility impact.
 */
import { z } from 'zod';
import { parisDayWindow } from '../shared/paris-time.ts';
import type { WeatherDay, WeatherHour, WeatherRecord } from './parse.ts';

/** Category thresholds (SPEC §2.4, inclusive as the original code). */
export const RAIN_MM = 5;
export const WIND_KMH = 30;
export const COLD_C = 10;
export const HOT_C = 25;
/** impact = clamp(BASE − 20·Pluvieux − 10·Venteux − 10·Froid + 5·Chaud, 0, 100). */
export const IMPACT = { base: 50, pluvieux: -20, venteux: -10, froid: -10, chaud: 5 } as const;

const Category = z.enum(['Pluvieux', 'Venteux', 'Froid', 'Chaud']);
export const WeatherDayMetricsSchema = z.object({
  date: z.string(),
  temp_moyenne: z.number(),
  temp_min: z.number(),
  temp_max: z.number(),
  precip_totale: z.number().nonnegative(),
  vent_moyen: z.number().nonnegative(),
  conditions: z.string(),
  impact_mobilite: z.number().min(0).max(100),
});
export const WeatherMetricsSchema = z.object({
  date: z.string(),
  metrics: WeatherDayMetricsSchema.nullable(),
  impact_mobilite: z.number().min(0).max(100).nullable(),
  categories: z.array(Category),
  source: z.enum(['daily', 'hourly']).nullable(),
  heures_utilisees: z.number().int().nonnegative().nullable(),
  note: z.string().nullable(),
});
export type WeatherDayMetrics = z.infer<typeof WeatherDayMetricsSchema>;
export type WeatherMetrics = z.infer<typeof WeatherMetricsSchema>;
export type WeatherCategory = z.infer<typeof Category>;

export function weatherCategories(temp: number, precip: number, wind: number): WeatherCategory[] {
  const out: WeatherCategory[] = [];
  if (precip >= RAIN_MM) out.push('Pluvieux');
  if (wind >= WIND_KMH) out.push('Venteux');
  if (temp < COLD_C) out.push('Froid');
  else if (temp > HOT_C) out.push('Chaud');
  return out;
}

export function mobilityImpact(categories: readonly WeatherCategory[]): number {
  const has = (c: WeatherCategory) => (categories.includes(c) ? 1 : 0);
  const v =
    IMPACT.base +
    IMPACT.pluvieux * has('Pluvieux') +
    IMPACT.venteux * has('Venteux') +
    IMPACT.froid * has('Froid') +
    IMPACT.chaud * has('Chaud');
  return Math.min(100, Math.max(0, v));
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Summary of D from hourly values; conditions are derived since Open-Meteo gives no text. */
function fromHours(day: string, hours: WeatherHour[]) {
  const temps = hours.map((h) => h.temp).filter((t): t is number => t !== null);
  if (temps.length === 0) return null;
  const precip = hours.reduce((a, h) => a + (h.precip ?? 0), 0);
  const winds = hours.map((h) => h.wind).filter((w): w is number => w !== null);
  return {
    date: day,
    temp_moyenne: mean(temps),
    temp_min: Math.min(...temps),
    temp_max: Math.max(...temps),
    precip_totale: precip,
    vent_moyen: winds.length > 0 ? mean(winds) : 0,
    conditions: precip > 0 ? 'Pluie' : 'Sec',
  };
}

export function computeWeatherMetrics(day: string, records: readonly WeatherRecord[]): WeatherMetrics {
  // Provider daily summary of D wins (last file in key order); otherwise aggregate D's hours.
  const daily = records
    .filter((r): r is WeatherDay => r.kind === 'day' && r.date === day)
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line))
    .at(-1);
  let summary: Omit<WeatherDayMetrics, 'impact_mobilite'> | null;
  let source: WeatherMetrics['source'] = null;
  let hoursUsed: number | null = null;
  if (daily) {
    summary = {
      date: day,
      temp_moyenne: daily.temp,
      temp_min: daily.tempmin,
      temp_max: daily.tempmax,
      precip_totale: daily.precip,
      vent_moyen: daily.windspeed,
      conditions: daily.conditions,
    };
    source = 'daily';
  } else {
    const { startMs, endMs } = parisDayWindow(day);
    const byInstant = new Map<number, WeatherHour>();
    const ordered = records
      .filter((r): r is WeatherHour => r.kind === 'hour' && r.timestampMs >= startMs && r.timestampMs < endMs)
      .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
    for (const h of ordered) byInstant.set(h.timestampMs, h); // later files win
    summary = fromHours(day, [...byInstant.values()]);
    if (summary) {
      source = 'hourly';
      hoursUsed = byInstant.size;
    }
  }
  if (!summary)
    return {
      date: day,
      metrics: null,
      impact_mobilite: null,
      categories: [],
      source: null,
      heures_utilisees: null,
      note: `no weather data for ${day} (no daily summary with this date and no hourly value in its Paris hours)`,
    };
  const categories = weatherCategories(summary.temp_moyenne, summary.precip_totale, summary.vent_moyen);
  const impact = mobilityImpact(categories);
  const expected = Math.round((parisDayWindow(day).endMs - parisDayWindow(day).startMs) / 3_600_000);
  return {
    date: day,
    metrics: { ...summary, impact_mobilite: impact },
    impact_mobilite: impact,
    categories,
    source,
    heures_utilisees: hoursUsed,
    note:
      hoursUsed !== null && hoursUsed < expected ? `partial day: ${hoursUsed} of ${expected} hours` : null,
  };
}
