/**
 * `pipeline materialize --all` on the bundled sample, then the report's figures checked against sums
 * computed here independently from the raw files (plain csv-parse, no CityFlow code).
 */
import { parse } from 'csv-parse/sync';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchProject, startPipeline } from './faults/cli-process.ts';

const DAY = '2025-11-04';
let root: string;
let report: {
  summary: Record<string, number | string | null>;
  alertes_congestion: unknown[];
  evolution_vs_semaine_precedente: { available: boolean };
};

const csv = async (path: string, delimiter: string): Promise<Record<string, string>[]> =>
  parse(await readFile(path), {
    columns: true,
    delimiter,
    bom: true,
    relax_quotes: false,
    skip_empty_lines: true,
  });

beforeAll(async () => {
  const p = await scratchProject('cityflow-sample-');
  root = p.root;
  const r = await startPipeline(p.env, ['materialize', '--all', '--json', '--no-tui']).done;
  expect(r.code, r.stderr).toBe(0);
  // What a person sees on `npm start`: no runtime warning (e.g. an AbortSignal with too many listeners).
  expect(r.stderr).not.toMatch(/Warning/);
  report = JSON.parse(await readFile(join(root, 'output', 'daily_report', `${DAY}.json`), 'utf8'));
}, 120_000);
afterAll(() => rm(root, { recursive: true, force: true }));

describe(`the ${DAY} report of the bundled sample`, () => {
  it('total vehicles = Σ hourly flow of the day over both road-count files (one value per arc and hour)', async () => {
    const perArcHour = new Map<string, number>();
    // French-label export: the timestamp carries the Paris offset, so its date part is the Paris day.
    for (const row of await csv(join(root, 'data/batch/comptages-routiers-permanents.csv'), ';')) {
      const t = row['Date et heure de comptage']!;
      if (t.slice(0, 10) === DAY && row['Débit horaire'] !== '')
        perArcHour.set(`${row['Identifiant arc']}|${t}`, Number(row['Débit horaire']));
    }
    // API-field-name export: `t_1h` is Paris wall-clock time.
    for (const row of await csv(
      join(root, 'data/batch/comptages-routiers-permanents_historique-st-antoine.csv'),
      ',',
    )) {
      if (row.t_1h!.slice(0, 10) === DAY && row.q !== '')
        perArcHour.set(`${row.iu_ac}|${row.t_1h}`, Number(row.q));
    }
    const expected = [...perArcHour.values()].reduce((a, b) => a + b, 0);
    expect(expected).toBeGreaterThan(0);
    expect(report.summary.total_vehicules_paris).toBeCloseTo(expected, 6);
  });

  it('total bikes = Σ counts of the day over that day’s bike files (a counter-hour seen twice counted once)', async () => {
    const perCounterHour = new Map<string, number>();
    const dir = join(root, 'data/api/bikes', `dt=${DAY}`);
    for (const hour of (await readdir(dir)).sort()) {
      for (const f of await readdir(join(dir, hour))) {
        for (const row of await csv(join(dir, hour, f), ';')) {
          const t = row['Date et heure de comptage']!;
          if (t.slice(0, 10) === DAY)
            perCounterHour.set(`${row['Identifiant du compteur']}|${t}`, Number(row['Comptage horaire']));
        }
      }
    }
    const expected = [...perCounterHour.values()].reduce((a, b) => a + b, 0);
    expect(expected).toBeGreaterThan(0);
    expect(report.summary.total_velos_paris).toBe(expected);
  });

  it('active road works = rows whose [Date de début, Date de fin] contains the day', async () => {
    const rows = await csv(join(root, 'data/batch/chantiers-perturbants-la-circulation.csv'), ';');
    const valid = /^\d{4}-\d{2}-\d{2}$/;
    const active = rows.filter(
      (r) =>
        valid.test(r['Date de début']!) &&
        valid.test(r['Date de fin']!) &&
        r['Date de début']! <= DAY &&
        DAY <= r['Date de fin']!,
    );
    expect(active.length).toBeGreaterThan(0);
    expect(report.summary.chantiers_actifs).toBe(active.length);
  });

  it('saturated arcs = arcs with occupancy ≥ 80 % two hours in a row, and each has an alert', async () => {
    const occ = new Map<string, Map<number, number>>();
    for (const row of await csv(join(root, 'data/batch/comptages-routiers-permanents.csv'), ';')) {
      const t = row['Date et heure de comptage']!;
      if (t.slice(0, 10) !== DAY || row["Taux d'occupation"] === '') continue;
      const arc = row['Identifiant arc']!;
      if (!occ.has(arc)) occ.set(arc, new Map());
      occ.get(arc)!.set(Number(t.slice(11, 13)), Number(row["Taux d'occupation"]));
    }
    const saturated = [...occ.values()].filter((hours) =>
      [...hours].some(([h, o]) => o >= 80 && (hours.get(h + 1) ?? 0) >= 80),
    ).length;
    expect(saturated).toBeGreaterThan(0);
    expect(report.summary.nombre_troncons_satures).toBe(saturated);
    expect(report.alertes_congestion).toHaveLength(saturated);
  });

  it('compares with the same day one week earlier, and the CSV carries the same totals', async () => {
    expect(report.evolution_vs_semaine_precedente.available).toBe(true);
    const text = await readFile(join(root, 'output', 'daily_report_csv', `${DAY}.csv`), 'utf8');
    expect(text).toContain(`${(report.summary.total_vehicules_paris as number).toFixed(2)}`);
    expect(text).toContain(`${(report.summary.total_velos_paris as number).toFixed(2)}`);
  });
});
