/** daily_station_ranking: for each Paris day, the stations from fullest to emptiest. */
import { z } from 'zod';
import { defineAsset } from 'cityflow';
import { hourlyOccupancy } from '../occupancy/asset.ts';

const ranked = z.object({
  rank: z.number().int().positive(),
  stationCode: z.string(),
  name: z.string(),
  occupancy: z.number(),
});

export const dailyStationRanking = defineAsset({
  key: 'daily_station_ranking',
  group: 'velib',
  description: 'Stations ranked by mean occupancy, per Paris day',
  schema: z.array(z.object({ day: z.string(), stations: z.array(ranked) })),
  deps: { occupancy: hourlyOccupancy },
  checks: [
    {
      name: 'enough_stations',
      blocking: false,
      fn: (days) => {
        const thin = days.filter((d) => d.stations.length < 10).map((d) => d.day);
        return thin.length
          ? { status: 'warn', message: `fewer than 10 stations ranked on ${thin.join(', ')}` }
          : { status: 'pass', metadata: { days: days.length } };
      },
    },
  ],
  compute: ({ occupancy }) => {
    const byDay = new Map<string, Map<string, { name: string; sum: number; n: number }>>();
    for (const r of occupancy) {
      const day = r.hour.slice(0, 10);
      const stations = byDay.get(day) ?? new Map<string, { name: string; sum: number; n: number }>();
      byDay.set(day, stations);
      const s = stations.get(r.stationCode) ?? { name: r.name, sum: 0, n: 0 };
      stations.set(r.stationCode, { ...s, sum: s.sum + r.occupancy, n: s.n + 1 });
    }
    return [...byDay]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([day, stations]) => ({
        day,
        stations: [...stations]
          .map(([stationCode, s]) => ({
            stationCode,
            name: s.name,
            occupancy: Number((s.sum / s.n).toFixed(4)),
          }))
          .sort((a, b) => b.occupancy - a.occupancy || a.stationCode.localeCompare(b.stationCode))
          .map((s, i) => ({ rank: i + 1, ...s })),
      }));
  },
});
