import { daily, defineAsset, dep, hourlyToDaily } from '../../engine/index.ts';
import { metricsIo } from '../shared/metrics-io.ts';
import { rawWeather } from '../sources.ts';
import { weatherChecks } from './checks.ts';
import { computeWeatherMetrics, WeatherMetricsSchema } from './metrics.ts';
import type { WeatherRecord } from './parse.ts';

export const weatherMetrics = defineAsset({
  key: 'weather_metrics',
  group: 'metrics',
  tags: ['weather'],
  description: 'Daily weather of the Paris day and its mobility impact',
  partitions: daily(),
  ...metricsIo('weather'),
  schema: WeatherMetricsSchema,
  checks: weatherChecks,
  deps: { raw: dep(rawWeather, hourlyToDaily()) },
  compute: async ({ raw }, ctx) => {
    const { parseWeatherFile } = await import('./parse.ts'); // loaded when the asset computes
    const records: WeatherRecord[] = [];
    for (const hour of raw)
      for (const f of hour.value.files) records.push(...(await parseWeatherFile(f, ctx.reject)));
    return computeWeatherMetrics(ctx.partitionKey, records);
  },
});
