/**
 * "No data is not zero", end to end through the CLI on a copy of the bundled sample: with the bike
 * files of 2025-11-04 removed, bikes are missing from that day's report (null in JSON, empty in CSV,
 * listed in `sources_manquantes`, not compared with D−7), every other day keeps every section, nothing
 * is stale afterwards, and the files' return rebuilds exactly that day. A range with no raw file at all
 * writes no report and says so per day.
 */
import { readFile, rm, cp } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exists, SAMPLE, scratchProject, startPipeline } from './faults/cli-process.ts';

const DAY = '2025-11-04';
const BEFORE = '2025-10-28';
let root: string;
let env: NodeJS.ProcessEnv;

interface Report {
  date: string;
  sources_manquantes: string[];
  summary: Record<string, number | string | null>;
  top_10_troncons: unknown[];
  top_10_zones: unknown[];
  alertes_congestion: unknown[];
  capteurs_defaillants: { type: string }[];
  chantiers_actifs: unknown[];
  perturbations: unknown;
  meteo: unknown;
  referentiel: unknown;
  evolution_vs_semaine_precedente: {
    available: boolean;
    indicateurs?: Record<
      string,
      { valeur: number | null; valeur_semaine_precedente: number | null; variation_pct: number | null }
    >;
  };
}

const cli = async (args: string[]) => {
  const r = await startPipeline(env, args).done;
  expect(r.code, r.stderr + r.stdout).toBe(0);
  return r;
};
const summaryOf = (stdout: string) =>
  JSON.parse(stdout.trim().split('\n').at(-1)!) as { materialized: number; skipped: number; noData: number };
const report = async (day: string): Promise<Report> =>
  JSON.parse(await readFile(join(root, 'output/daily_report', `${day}.json`), 'utf8')) as Report;
const csvOf = (day: string) => readFile(join(root, 'output/daily_report_csv', `${day}.csv`), 'utf8');
/** The rows of one `=== TITLE ===` block of the report CSV, parsed by csv-parse. */
const block = (csv: string, title: string): string[][] => {
  const text = csv.split(`=== ${title} ===\n`)[1]!.split('\n\n')[0]!;
  return parse(text, { delimiter: ';', relax_column_count: true });
};

let first: { materialized: number; skipped: number; noData: number };
let firstOut: string;
beforeAll(async () => {
  ({ root, env } = await scratchProject('cityflow-nodata-'));
  await rm(join(root, 'data/api/bikes', `dt=${DAY}`), { recursive: true });
  const r = await cli(['materialize', '--all', '--json', '--no-tui']);
  firstOut = r.stderr;
  first = summaryOf(r.stdout);
}, 180_000);
afterAll(() => rm(root, { recursive: true, force: true }));

describe(`the sample without the bike files of ${DAY}`, () => {
  it('records bikes_metrics of that day as no data: nothing written, said once', async () => {
    expect(first).toMatchObject({ noData: 1 });
    expect(await exists(join(root, 'output/bikes_metrics', `${DAY}.json`))).toBe(false);
    expect(await exists(join(root, 'output/bikes_metrics', `${BEFORE}.json`))).toBe(true);
    expect(firstOut).toContain(
      `↷ skipped bikes_metrics[${DAY}] no_data: no file in raw_bikes [${DAY}T00 … ${DAY}T23, 24 partitions]`,
    );
    const why = await cli(['why', 'bikes_metrics', '--partition', DAY]);
    expect(why.stdout).toMatch(/no data \(recorded .* nothing stored\): no file in raw_bikes/);
    expect(why.stdout).toMatch(/up to date/);
  });

  it('JSON: bikes listed missing, its figures null, no bike sensor, the rest of the report built', async () => {
    const r = await report(DAY);
    expect(r.sources_manquantes).toEqual(['bikes']);
    expect(r.summary.total_velos_paris).toBeNull();
    expect(r.capteurs_defaillants.every((c) => c.type === 'route')).toBe(true);
    expect(r.summary.total_vehicules_paris).toBeGreaterThan(0);
    expect(r.summary.perturbations_actives).toEqual(expect.any(Number));
    expect(r.perturbations).not.toBeNull();
    expect(r.meteo).not.toBeNull();
    expect(r.referentiel).not.toBeNull();
    expect(r.top_10_troncons.length).toBeGreaterThan(0);
    expect(r.alertes_congestion.length).toBeGreaterThan(0); // 2025-11-04 is the sample's alert day
  });

  it('week over week: bikes not compared (D had none), every other figure compared with D−7', async () => {
    const ev = (await report(DAY)).evolution_vs_semaine_precedente;
    const before = await report(BEFORE);
    expect(ev.available).toBe(true);
    expect(ev.indicateurs!.total_velos_paris).toEqual({
      valeur: null,
      valeur_semaine_precedente: before.summary.total_velos_paris,
      variation_pct: null,
    });
    expect(before.summary.total_velos_paris).toBeGreaterThan(0);
    expect(ev.indicateurs!.total_vehicules_paris!.valeur_semaine_precedente).toBe(
      before.summary.total_vehicules_paris,
    );
    expect(ev.indicateurs!.total_vehicules_paris!.variation_pct).toEqual(expect.any(Number));
  });

  it('CSV: bikes in Sources manquantes, empty cells for its figures', async () => {
    const csv = await csvOf(DAY);
    expect(block(csv, 'RAPPORT')).toEqual([
      ['Date', 'Sources manquantes'],
      [DAY, 'bikes'],
    ]);
    expect(block(csv, 'RÉSUMÉ')).toContainEqual(['Total vélos Paris', '', 'vélos']);
    const evo = block(csv, `ÉVOLUTION VS SEMAINE PRÉCÉDENTE (${BEFORE})`);
    const bikesRow = evo.find((row) => row[0] === 'total_velos_paris')!;
    expect(bikesRow[1]).toBe('');
    expect(bikesRow[2]).not.toBe('');
    expect(bikesRow[3]).toBe('');
    expect(
      block(csv, 'CAPTEURS DÉFAILLANTS')
        .slice(1)
        .every((row) => row[0] === 'route'),
    ).toBe(true);
  });

  it('the other days keep every source and every section', async () => {
    for (const day of ['2025-10-28', '2025-10-31', '2025-11-03']) {
      const r = await report(day);
      expect(r.sources_manquantes, day).toEqual([]);
      expect(
        Object.values(r.summary).every((v) => v !== null),
        day,
      ).toBe(true);
      expect(r.perturbations && r.meteo && r.referentiel, day).toBeTruthy();
      expect(
        r.top_10_troncons.length && r.top_10_zones.length && r.chantiers_actifs.length,
        day,
      ).toBeTruthy();
      expect(
        r.capteurs_defaillants.some((c) => c.type === 'velo'),
        day,
      ).toBe(true);
    }
  });

  it('nothing is stale afterwards; the files coming back rebuild exactly that day', async () => {
    expect(summaryOf((await cli(['materialize', '--all', '--json', '--no-tui'])).stdout)).toMatchObject({
      materialized: 0,
      noData: 0,
    });
    await cp(join(SAMPLE, 'api/bikes', `dt=${DAY}`), join(root, 'data/api/bikes', `dt=${DAY}`), {
      recursive: true,
    });
    const plan = await cli(['plan', '--all']);
    const runs = plan.stdout.split('\n').filter((l) => l.startsWith('▶'));
    expect(runs.map((l) => l.split(' ').filter(Boolean)[2])).toEqual([
      `bikes_metrics[${DAY}]:`,
      `daily_report[${DAY}]:`,
      `daily_report_csv[${DAY}]:`,
    ]);
    expect(runs[0]).toContain('no-data →');
    const r = summaryOf((await cli(['materialize', '--all', '--json', '--no-tui'])).stdout);
    expect(r).toMatchObject({ materialized: 3, noData: 0 });
    const back = await report(DAY);
    expect(back.sources_manquantes).toEqual([]);
    expect(back.summary.total_velos_paris).toBeGreaterThan(0);
    expect(back.evolution_vs_semaine_precedente.indicateurs!.total_velos_paris!.variation_pct).toBe(0);
  });
});

describe('a range where no source has any raw file', () => {
  it('writes no report, says so once per day, and the summary counts the days without data', async () => {
    const r = await cli([
      'materialize',
      '--all',
      '--from',
      '2024-01-01',
      '--to',
      '2024-01-02',
      '--json',
      '--no-tui',
    ]);
    for (const day of ['2024-01-01', '2024-01-02']) {
      expect(await exists(join(root, 'output/daily_report', `${day}.json`))).toBe(false);
      expect(await exists(join(root, 'output/daily_report_csv', `${day}.csv`))).toBe(false);
      const lines = r.stderr.split('\n').filter((l) => l.includes(`skipped daily_report[${day}] no_data`));
      expect(lines, r.stderr).toEqual([
        expect.stringContaining(`no report for ${day}: no bikes, traffic, weather, comptages data that day`),
      ]);
    }
    // bikes, traffic, weather, comptages metrics (no road-count row), report, CSV: 6 assets × 2 days.
    expect(summaryOf(r.stdout)).toMatchObject({ noData: 12 });
    const why = await cli(['why', 'daily_report', '--partition', '2024-01-01']);
    expect(why.stdout).toContain('no data (recorded');
  });
});
