/**
 * The bundled sample (built by data/build-sample.ts) has every source on every day of the range, in
 * the layout of SPEC §1.0, and its helpers copy records byte for byte.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { arrayElements, DAYS, splitFields, splitRecords } from './build-sample.ts';

const DATA = import.meta.dirname;
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) =>
    statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)],
  );

describe('sample data/', () => {
  it('has the 8 days 2025-10-28 … 2025-11-04', () => {
    expect(DAYS).toHaveLength(8);
    expect(DAYS[0]).toBe('2025-10-28');
    expect(DAYS[7]).toBe('2025-11-04');
  });

  it.each([
    ['bikes', ['14', '23'], 'bikes_data.csv'],
    ['traffic', ['02', '14'], 'traffic_data.json'],
    ['weather', ['02'], 'weather_data.csv'],
  ])('api/%s has its hourly snapshots on every day', (source, hours, name) => {
    for (const day of DAYS)
      for (const hour of hours) {
        const path = join(DATA, 'api', source, `dt=${day}`, `hour=${hour}`, name);
        expect(existsSync(path), path).toBe(true);
        expect(statSync(path).size).toBeGreaterThan(0);
      }
    // nothing outside the range
    expect(readdirSync(join(DATA, 'api', source)).sort()).toEqual(DAYS.map((d) => `dt=${d}`));
  });

  it('has the three batch files (comptages, chantiers, référentiel)', () => {
    const names = readdirSync(join(DATA, 'batch')).sort();
    expect(names.filter((n) => /^comptages.*\.csv$/.test(n))).toEqual([
      'comptages-routiers-permanents.csv',
      'comptages-routiers-permanents_historique-st-antoine.csv',
    ]);
    expect(names).toContain('chantiers-perturbants-la-circulation.csv');
    expect(names).toContain(
      'referentiel-geographique-pour-les-donnees-trafic-issues-des-capteurs-permanents.csv',
    );
  });

  it('dates every road count inside the range with the Paris winter offset, for each arc and day', () => {
    const text = readFileSync(join(DATA, 'batch', 'comptages-routiers-permanents.csv'), 'utf8');
    const [, ...rows] = splitRecords(text);
    const seen = new Set<string>();
    for (const r of rows) {
      const f = splitFields(r.replace(/\r\n$/, ''), ';');
      expect(f).toHaveLength(15);
      expect(f[2]).toMatch(/^2025-1[01]-\d{2}T\d{2}:00:00\+01:00$/);
      expect(DAYS).toContain(f[2]!.slice(0, 10));
      seen.add(`${f[0]} ${f[2]!.slice(0, 10)}`);
    }
    // arcs 4264 (Champs-Élysées) and 5671 (Convention) on all 8 days
    expect(seen.size).toBe(16);
  });

  it('keeps the 24-hour structure of the weather days', () => {
    for (const day of DAYS) {
      const [, ...rows] = splitRecords(
        readFileSync(join(DATA, 'api', 'weather', `dt=${day}`, 'hour=02', 'weather_data.csv'), 'utf8'),
      );
      expect(rows.map((r) => r.slice(0, 13))).toEqual(
        Array.from({ length: 24 }, (_, h) => `${day}T${String(h).padStart(2, '0')}`),
      );
    }
  });

  it('stays small (a few MB)', () => {
    const total = files(DATA).reduce((a, f) => a + statSync(f).size, 0);
    expect(total).toBeLessThan(6_000_000);
  });
});

describe('byte-preserving helpers', () => {
  it('splitRecords keeps quoted line breaks inside a record and every terminator', () => {
    const text = 'a;b\r\n1;"x\ny"\r\n2;"he said ""hi"""\n3;z';
    const recs = splitRecords(text);
    expect(recs).toEqual(['a;b\r\n', '1;"x\ny"\r\n', '2;"he said ""hi"""\n', '3;z']);
    expect(recs.join('')).toBe(text);
  });

  it('splitFields keeps quotes so that joining gives the record back', () => {
    const rec = '4264;"{""a"": [1; 2]}";48.8, 2.3';
    const f = splitFields(rec, ';');
    expect(f).toEqual(['4264', '"{""a"": [1; 2]}"', '48.8, 2.3']);
    expect(f.join(';')).toBe(rec);
  });

  it('arrayElements returns the original bytes of each element, strings with brackets included', () => {
    const json =
      '{"x": 1, "disruptions": [\n  {"id": "a]}", "n": [1, {"b": 2}]},\n  {"id": "b\\"}"}\n], "y": []}';
    expect(arrayElements(json, 'disruptions')).toEqual([
      '{"id": "a]}", "n": [1, {"b": 2}]}',
      '{"id": "b\\"}"}',
    ]);
    expect(arrayElements('[{"a": 1}, {"b": [2]}]', null)).toEqual(['{"a": 1}', '{"b": [2]}']);
  });
});
