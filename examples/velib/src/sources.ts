/** The raw files, under DATA_DIR (./data): every snapshot of station_status, and station_information. */
import { defineSource } from 'cityflow';

export const rawStationStatus = defineSource({
  key: 'velib_station_status',
  description: 'GBFS station_status.json snapshots, one file per snapshot',
  locate: () => ({ prefix: 'gbfs/station_status', match: /\.json$/ }),
});

export const rawStationInformation = defineSource({
  key: 'velib_station_information',
  description: 'GBFS station_information.json: name and capacity of each station',
  locate: () => ({ prefix: 'gbfs', match: /^station_information\.json$/ }),
});
