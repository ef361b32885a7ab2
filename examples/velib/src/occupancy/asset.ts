/** hourly_occupancy: per Paris hour and station, the share of the station's docks holding a bike. */
import { z } from 'zod';
import { defineAsset } from 'cityflow';
import { stationSnapshots } from '../snapshots/asset.ts';

export const occupancyRow = z.object({
  hour: z.string(),
  stationCode: z.string(),
  name: z.string(),
  /** Snapshots averaged in this hour. */
  snapshots: z.number().int().positive(),
  /** bikes / (bikes + free docks), averaged over the hour's snapshots: 0 empty, 1 full. */
  occupancy: z.number(),
  bikes: z.number(),
});

export const hourlyOccupancy = defineAsset({
  key: 'hourly_occupancy',
  group: 'velib',
  description: 'Mean occupancy per Paris hour and station',
  schema: z.array(occupancyRow),
  deps: { snapshots: stationSnapshots },
  checks: [
    {
      name: 'occupancy_is_a_share',
      fn: (rows) => {
        const bad = rows.filter((r) => !(r.occupancy >= 0 && r.occupancy <= 1));
        return bad.length
          ? { status: 'fail', message: `${bad.length} rows outside [0, 1]`, metadata: { first: bad[0] } }
          : { status: 'pass' };
      },
    },
  ],
  compute: ({ snapshots }, ctx) => {
    const groups = new Map<string, typeof snapshots>();
    for (const s of snapshots) {
      const k = `${s.hour} ${s.stationCode}`;
      groups.set(k, [...(groups.get(k) ?? []), s]);
    }
    const rows = [...groups.values()].map((group) => {
      const first = group[0]!;
      const mean = (f: (s: (typeof group)[number]) => number) =>
        group.reduce((sum, s) => sum + f(s), 0) / group.length;
      return {
        hour: first.hour,
        stationCode: first.stationCode,
        name: first.name,
        snapshots: group.length,
        occupancy: mean((s) => s.bikes / (s.bikes + s.docks)),
        bikes: mean((s) => s.bikes),
      };
    });
    rows.sort((a, b) => a.hour.localeCompare(b.hour) || a.stationCode.localeCompare(b.stationCode));
    ctx.addMetadata({ rows: rows.length });
    return rows;
  },
});
