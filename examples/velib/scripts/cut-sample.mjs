// How data/ was cut from the real Vélib' GBFS files (see data/SOURCES.md): the stations of Paris 4e
// (station codes 4000–4999 with four digits) from three `station_status.json` snapshots and one
// `station_information.json`, values unchanged, written one station per line so that quarantine
// records point at a line. Usage: node scripts/cut-sample.mjs <folder of the original files>
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import console from 'node:console';
import process from 'node:process';

const from = process.argv[2];
if (!from) throw new Error('usage: node scripts/cut-sample.mjs <folder of the original GBFS files>');
const here = join(import.meta.dirname, '..', 'data', 'gbfs');
const inSample = (s) => /^4\d{3}$/.test(String(s.stationCode));

function cut(file, to) {
  const feed = JSON.parse(readFileSync(join(from, file), 'utf8'));
  const stations = feed.data.stations.filter(inSample);
  const lines = stations.map((s) => '  ' + JSON.stringify(s)).join(',\n');
  const text = `{"lastUpdatedOther":${feed.lastUpdatedOther},"ttl":${feed.ttl},"data":{"stations":[\n${lines}\n]}}\n`;
  mkdirSync(join(here, to, '..'), { recursive: true });
  writeFileSync(join(here, to), text);
  console.log(`${to}: ${stations.length} of ${feed.data.stations.length} stations`);
}

cut('velib-gbfs_station_information_2025-10-18T0911Z.json', 'station_information.json');
cut('velib-gbfs_station_status_2022-02-23T1828Z.json', 'station_status/2022-02-23T1828Z.json');
cut(
  'VARIANT_reindented_velib-gbfs_station_status_2024-11-19T0822Z.json',
  'station_status/2024-11-19T0822Z.json',
);
cut('velib-gbfs_station_status_2025-10-18T0909Z.json', 'station_status/2025-10-18T0909Z.json');
