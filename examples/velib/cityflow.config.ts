/**
 * The project's definitions: the `pipeline` command finds this file from the current directory upwards.
 * Storage and raw input come from the environment (OUTPUT_DIR, DATA_DIR, DATABASE_TYPE, USE_S3…).
 */
import { defineConfig } from 'cityflow/config';
import { hourlyOccupancy } from './src/occupancy/asset.ts';
import { dailyStationRanking } from './src/ranking/asset.ts';
import { stationSnapshots } from './src/snapshots/asset.ts';
import { rawStationInformation, rawStationStatus } from './src/sources.ts';

export default defineConfig({
  assets: [rawStationStatus, rawStationInformation, stationSnapshots, hourlyOccupancy, dailyStationRanking],
});
