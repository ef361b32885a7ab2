import { defineSource, hourly } from '../engine/index.ts';

/** Hourly API snapshots: `api/<source>/dt=YYYY-MM-DD/hour=HH/*.json` (SPEC §1.0; `.jsonl`/`.csv` accepted too). */
const apiSource = (source: string, description: string) =>
  defineSource({
    key: `raw_${source}`,
    group: 'raw',
    tags: ['api'],
    description,
    partitions: hourly(),
    locate: (p) => ({
      prefix: `api/${source}/dt=${p.slice(0, 10)}/hour=${p.slice(11, 13)}`,
      // The repeated hour of a fall-back day (`2025-10-26T02+01`) has no folder of its own: `hour=02`
      // holds both, read once through the first (`2025-10-26T02`).
      match: p.length > 13 ? /(?!)/ : /\.(json|jsonl|csv)$/i,
    }),
  });

/** Whole batch CSVs under `batch/` (first level or below), matched by name as the original did. */
const batchSource = (key: string, pattern: RegExp, description: string) =>
  defineSource({
    key,
    group: 'raw',
    tags: ['batch'],
    description,
    locate: () => ({ prefix: 'batch', match: pattern, recursive: true }),
  });

export const rawBikes = apiSource('bikes', 'Paris bike-counter hourly counts (API JSON or CSV export)');
export const rawTraffic = apiSource('traffic', 'IDFM/Navitia public-transport disruptions');
export const rawWeather = apiSource('weather', 'Visual Crossing or Open-Meteo weather');
export const rawComptages = batchSource(
  'raw_comptages',
  /^comptages.*\.csv$/i,
  'Hourly road counts per arc (the 6.2 GB file)',
);
export const rawChantiers = batchSource(
  'raw_chantiers',
  /^chantiers.*\.csv$/i,
  'Road works disturbing traffic',
);
export const rawReferentiel = batchSource(
  'raw_referentiel',
  /^referentiel.*\.csv$/i,
  'Road-arc reference (geometry, labels)',
);
