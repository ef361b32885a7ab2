/**
 * Generated hourly raw input in the Paris layout, small files: for every day and hour, one bikes CSV
 * (header + one counter row), one weather CSV (header + that hour's row) and one traffic JSON (no
 * disruption), under `api/<source>/dt=YYYY-MM-DD/hour=HH/`. Used by bench/s3-noop.ts and the
 * listings test (test/s3/listings-at-scale.test.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const SAMPLE = path.join(import.meta.dirname, '..', 'data', 'api');
const firstLines = (file: string, n: number): string[] =>
  readFileSync(path.join(SAMPLE, file), 'utf8').split(/\r?\n/).slice(0, n);

export interface RawFile {
  /** Relative to the raw root, e.g. `api/bikes/dt=2025-01-01/hour=00/bikes_data.csv`. */
  key: string;
  body: string;
}

/** `count` consecutive days from `first` (YYYY-MM-DD). */
export function daysFrom(first: string, count: number): string[] {
  const t0 = Date.parse(`${first}T00:00:00Z`);
  return Array.from({ length: count }, (_, i) => new Date(t0 + i * 86_400_000).toISOString().slice(0, 10));
}

/** The 3 × 24 files of each day. */
export function hourlyRawFiles(days: readonly string[]): RawFile[] {
  const [bikesHeader, bikesRow] = firstLines('bikes/dt=2025-10-29/hour=14/bikes_data.csv', 2);
  const [weatherHeader, weatherRow] = firstLines('weather/dt=2025-10-29/hour=02/weather_data.csv', 2);
  const bikesFields = bikesRow!.split(';');
  const weatherFields = weatherRow!.split(',');
  const files: RawFile[] = [];
  for (const day of days) {
    for (let h = 0; h < 24; h++) {
      const hh = String(h).padStart(2, '0');
      const folder = (source: string) => `api/${source}/dt=${day}/hour=${hh}`;
      const bikes = [...bikesFields];
      bikes[4] = String((h * 7 + day.charCodeAt(9)) % 40); // Comptage horaire
      bikes[5] = `${day}T${hh}:00:00+01:00`; // Date et heure de comptage
      bikes[bikes.length - 1] = day.slice(0, 7); // mois_annee_comptage
      files.push({ key: `${folder('bikes')}/bikes_data.csv`, body: `${bikesHeader}\n${bikes.join(';')}\n` });
      const weather = [...weatherFields];
      weather[0] = `${day}T${hh}:00`;
      weather[1] = (5 + h / 2).toFixed(1); // temperature_2m: distinct hours, so min < mean < max
      files.push({
        key: `${folder('weather')}/weather_data.csv`,
        body: `${weatherHeader}\n${weather.join(',')}\n`,
      });
      files.push({ key: `${folder('traffic')}/traffic_data.json`, body: '{"disruptions": []}\n' });
    }
  }
  return files;
}
