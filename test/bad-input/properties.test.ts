/**
 * Property-based robustness: whatever bytes, CSV-ish lines or JSON values a raw file holds, every
 * parser completes without throwing, and every reject has a non-empty reason, the file key and a
 * line ≥ 0. numRuns is kept modest so the file runs in a few seconds.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBikesFile } from '../../assets/bikes/parse.ts';
import { parseChantiersFile } from '../../assets/chantiers/parse.ts';
import { parseComptagesFile } from '../../assets/comptages/parse.ts';
import { parseReferentielFile } from '../../assets/referentiel/parse.ts';
import { parseTrafficFile } from '../../assets/traffic/parse.ts';
import { parseWeatherFile } from '../../assets/weather/parse.ts';
import type { QuarantineRecord } from '../../engine/quarantine.ts';

type Run = (f: { path: string; key: string }, reject: (r: QuarantineRecord) => void) => Promise<unknown>;

const csvParsers: Record<string, Run> = {
  comptages: (f, reject) => parseComptagesFile(f, reject, () => {}),
  bikes_csv: parseBikesFile,
  weather_csv: parseWeatherFile,
  chantiers: parseChantiersFile,
  referentiel: parseReferentielFile,
};
const jsonParsers: Record<string, Run> = {
  bikes_json: parseBikesFile,
  traffic: parseTrafficFile,
  weather_json: parseWeatherFile,
};
const ext = (name: string) => (name in jsonParsers ? 'json' : 'csv');

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityflow-props-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes the content, runs the parser, checks the invariants; returns the rejects. */
async function check(run: Run, content: string | Uint8Array, extension: string): Promise<QuarantineRecord[]> {
  const key = `f${n++}.${extension}`;
  const path = join(dir, key);
  await writeFile(path, content);
  const rejects: QuarantineRecord[] = [];
  await run({ path, key }, (r) => rejects.push(r)); // a throw fails the property
  for (const r of rejects) {
    expect(r.reason).toMatch(/^[a-z_]+$/);
    expect(r.file).toBe(key);
    expect(Number.isInteger(r.line) && r.line >= 0).toBe(true);
  }
  return rejects;
}

// Real header lines, so random rows get past header checks and reach the row validation.
const HEADERS: Record<string, string> = {
  comptages: "Identifiant arc;Libelle;Date et heure de comptage;Débit horaire;Taux d'occupation;Etat trafic",
  bikes_csv: 'Identifiant du compteur;Nom du compteur;Comptage horaire;Date et heure de comptage',
  weather_csv: 'time,temperature_2m (°C),precipitation (mm),wind_speed_10m (km/h)',
  chantiers: 'Identifiant;Date de début;Date de fin;Impact sur la circulation;geo_shape',
  referentiel: 'Identifiant arc;Date debut dispo data;Date fin dispo data;Libelle;geo_shape',
};

/** CSV-ish text: cells from a small alphabet rich in separators, quotes, line breaks and digits. */
const cell = fc.oneof(
  fc.stringMatching(/^[0-9a-z ;,"\r\n\t.-]{0,12}$/),
  fc.constantFrom(
    '',
    'NaN',
    '-1',
    '100.5',
    '2024-01-04T22:00:00+01:00',
    '2024-07-18T00:00',
    '"',
    '""',
    '\uFEFF',
  ),
  fc.integer({ min: -1000, max: 100000 }).map(String),
);
const csvish = (header: string, sep: string) =>
  fc
    .array(fc.array(cell, { minLength: 0, maxLength: 8 }), { maxLength: 12 })
    .chain((rows) =>
      fc.constantFrom('\r\n', '\n').map((eol) => [header, ...rows.map((r) => r.join(sep))].join(eol)),
    );

/** JSON values of the shapes the parsers look for, with arbitrary contents. */
const jsonish = fc.oneof(
  fc.jsonValue(),
  fc.array(fc.jsonValue(), { maxLength: 5 }),
  fc.record({
    results: fc.array(fc.oneof(fc.jsonValue(), fc.dictionary(fc.string(), fc.jsonValue())), { maxLength: 5 }),
  }),
  fc.record({ disruptions: fc.array(fc.jsonValue(), { maxLength: 5 }) }),
  fc.record({
    days: fc.array(fc.dictionary(fc.constantFrom('datetime', 'tempmin', 'tempmax', 'temp'), fc.jsonValue()), {
      maxLength: 5,
    }),
  }),
  fc.record({
    hourly: fc.record({ time: fc.array(fc.jsonValue(), { maxLength: 5 }) }),
    utc_offset_seconds: fc.jsonValue(),
  }),
);

const OPTS = { numRuns: 60 };

describe('parsers never crash on arbitrary input', () => {
  const all = { ...csvParsers, ...jsonParsers };

  it.each(Object.keys(all))('%s: arbitrary bytes', async (name) => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), (bytes) =>
        check(all[name]!, bytes, ext(name)).then(() => true),
      ),
      OPTS,
    );
  });

  it.each(Object.keys(csvParsers))('%s: arbitrary CSV-ish rows under a real header', async (name) => {
    const sep = name === 'weather_csv' ? ',' : ';';
    await fc.assert(
      fc.asyncProperty(csvish(HEADERS[name]!, sep), (text) =>
        check(csvParsers[name]!, text, 'csv').then(() => true),
      ),
      OPTS,
    );
  });

  // Found by the property below (seed 1592851905): String() of an object whose toString is no function throws.
  it.each(Object.keys(jsonParsers))('%s: objects where values belong, toString and all', async (name) => {
    const hostile = { toString: false, valueOf: 1 };
    for (const value of [
      {
        days: [{ datetime: '2025-11-04', tempmax: hostile, tempmin: [hostile], temp: { a: 'x'.repeat(60) } }],
      },
      { hourly: { time: ['2025-11-04T00:00'], temperature_2m: [hostile] }, utc_offset_seconds: hostile },
      { results: [{ id_compteur: hostile, sum_counts: hostile, date: hostile }] },
      { disruptions: [{ id: hostile, cause: hostile, severity: hostile }] },
    ])
      await check(jsonParsers[name]!, JSON.stringify(value), 'json');
  });

  it.each(Object.keys(jsonParsers))('%s: arbitrary JSON values', async (name) => {
    await fc.assert(
      fc.asyncProperty(jsonish, (value) =>
        check(jsonParsers[name]!, JSON.stringify(value, null, 2), 'json').then(() => true),
      ),
      OPTS,
    );
  });

  it('an empty file is exactly one empty_file reject at line 0 for every parser', async () => {
    for (const [name, run] of Object.entries(all)) {
      const rejects = await check(run, '', ext(name));
      expect(
        rejects.map((r) => `${r.reason}@${r.line}`),
        name,
      ).toEqual(['empty_file@0']);
    }
  });
});
