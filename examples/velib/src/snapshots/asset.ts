/**
 * station_snapshots: one row per station and snapshot, joined with the station's name. A station that
 * is not renting, has no dock at all, or is unknown to station_information is quarantined with its file
 * and line (see `pipeline quarantine`).
 */
import { z } from 'zod';
import { defineAsset } from 'cityflow';
import { parisHour } from '../paris-time.ts';
import { rawStationInformation, rawStationStatus } from '../sources.ts';
import { readInformation, readStatus } from './read.ts';

export const snapshotRow = z.object({
  /** When the feed was produced (UTC). */
  at: z.iso.datetime(),
  /** Its Europe/Paris hour, `YYYY-MM-DDTHH`. */
  hour: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}$/),
  stationCode: z.string(),
  name: z.string(),
  bikes: z.number().int().nonnegative(),
  ebikes: z.number().int().nonnegative(),
  docks: z.number().int().nonnegative(),
});

export const stationSnapshots = defineAsset({
  key: 'station_snapshots',
  group: 'velib',
  description: 'Bikes and free docks per station and snapshot, with the station name',
  schema: z.array(snapshotRow),
  deps: { status: rawStationStatus, information: rawStationInformation },
  compute: async ({ status, information }, ctx) => {
    const stations = await readInformation(information, ctx.reject);
    const rows: z.infer<typeof snapshotRow>[] = [];
    for (const snapshot of await readStatus(status, ctx.reject)) {
      if (!snapshot) continue;
      for (const { line, raw, station: s } of snapshot.stations) {
        const where = { file: snapshot.file, line, raw };
        const info = stations.get(s.stationCode);
        if (!info) {
          ctx.reject({
            ...where,
            reason: 'unknown_station',
            detail: `${s.stationCode} not in station_information`,
          });
        } else if (s.is_installed !== 1 || s.is_renting !== 1) {
          ctx.reject({ ...where, reason: 'not_renting', detail: `${s.stationCode} ${info.name}` });
        } else if (s.num_bikes_available + s.num_docks_available === 0) {
          ctx.reject({ ...where, reason: 'no_docks', detail: `${s.stationCode} ${info.name}` });
        } else {
          const ebikes = s.num_bikes_available_types.reduce((n, t) => n + (t.ebike ?? 0), 0);
          rows.push({
            at: snapshot.at.toISOString(),
            hour: parisHour(snapshot.at),
            stationCode: s.stationCode,
            name: info.name,
            bikes: s.num_bikes_available,
            ebikes,
            docks: s.num_docks_available,
          });
        }
      }
    }
    ctx.addMetadata({ rows: rows.length });
    return rows;
  },
});
