import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', 'pipeline', 'bin.mjs');
const FIX = join(import.meta.dirname, 'fixtures', 'real');
let root: string;
let env: NodeJS.ProcessEnv;

async function pipeline(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env, cwd: root });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const lastJson = (stdout: string): Record<string, unknown> =>
  JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cityflow-cli-'));
  const bikes = join(root, 'data/api/bikes/dt=2021-09-01/hour=02');
  await mkdir(bikes, { recursive: true });
  await cp(
    join(FIX, 'comptage-velo-donnees-compteurs/comptage-velo-donnees-compteurs_export_2021-09.csv'),
    join(bikes, 'bikes_data.csv'),
  );
  await mkdir(join(root, 'data/batch'), { recursive: true });
  await cp(
    join(FIX, 'comptages-routiers-permanents/convention_arc5671_2021-2022_export.csv'),
    join(root, 'data/batch/comptages-routiers-permanents.csv'),
  );
  env = {
    PATH: process.env.PATH,
    HOME: root,
    CI: 'true',
    DATA_DIR: join(root, 'data'),
    OUTPUT_DIR: join(root, 'output'),
    STATE_DIR: join(root, 'state'),
  };
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('pipeline CLI', () => {
  it('lists assets with group, partitions and deps', async () => {
    const r = await pipeline('list', '--json');
    expect(r.code).toBe(0);
    const assets = JSON.parse(r.stdout) as { key: string; partitions: string; deps: string[] }[];
    const byKey = new Map(assets.map((a) => [a.key, a]));
    expect(byKey.get('raw_bikes')).toMatchObject({ partitions: 'hourly', deps: [] });
    expect(byKey.get('bikes_metrics')).toMatchObject({ partitions: 'daily', deps: ['raw_bikes'] });
    expect(byKey.get('comptages_metrics')?.deps).toContain('comptages_arc_days');
  });

  it('materializes everything, then runs 0 units; a changed raw file re-runs exactly its dependents', async () => {
    const first = await pipeline('materialize', '--all', '--json', '--partition', '2021-09-01');
    expect(first.code).toBe(0);
    const s1 = lastJson(first.stdout);
    // No traffic, weather, works or référentiel file here: those units have no data (nothing else skips).
    expect(s1).toMatchObject({ status: 'success', failed: 0 });
    expect(s1.noData).toBeGreaterThanOrEqual(4);
    expect(s1.skipped).toBe(s1.noData);
    expect(s1.materialized).toBeGreaterThanOrEqual(4);
    expect(typeof s1.runId).toBe('string');
    expect(typeof s1.durationMs).toBe('number');

    const second = lastJson(
      (await pipeline('materialize', '--all', '--json', '--partition', '2021-09-01')).stdout,
    );
    expect(second).toMatchObject({
      materialized: 0,
      failed: 0,
      skipped: (s1.materialized as number) + (s1.noData as number),
      noData: 0,
    });

    const csv = join(root, 'data/api/bikes/dt=2021-09-01/hour=02/bikes_data.csv');
    await writeFile(
      csv,
      (await readFile(csv, 'utf8')).replace(';3.0;2021-09-01T03:00:00', ';4.0;2021-09-01T03:00:00'),
    );
    const planned = JSON.parse(
      (await pipeline('plan', '--all', '--json', '--partition', '2021-09-01')).stdout,
    ) as {
      units: { asset: string; decision: string }[];
    };
    const toRun = planned.units.filter((u) => u.decision === 'run').map((u) => u.asset);
    expect(toRun[0]).toBe('bikes_metrics');
    expect(toRun.every((a) => ['bikes_metrics', 'daily_report', 'daily_report_csv'].includes(a))).toBe(true);
    const third = lastJson(
      (await pipeline('materialize', '--select', 'bikes_metrics+', '--json', '--partition', '2021-09-01'))
        .stdout,
    );
    expect(third.materialized).toBe(toRun.length);
  });

  it('road counts without a référentiel are still measured (lengths from the arcs’ shapes)', async () => {
    const r = await pipeline(
      'materialize',
      '--select',
      '+comptages_metrics',
      '--json',
      '--partition',
      '2021-12-02',
    );
    expect(r.code, r.stderr).toBe(0);
    const roads = JSON.parse(
      await readFile(join(root, 'output/comptages_metrics/2021-12-02.json'), 'utf8'),
    ) as {
      metrics: { source_longueur: string }[];
    };
    expect(roads.metrics.length).toBeGreaterThan(0);
    expect(roads.metrics.every((m) => m.source_longueur !== 'referentiel')).toBe(true);
  });

  it('explains why, lists runs and replays one', async () => {
    const why = await pipeline('why', 'bikes_metrics', '--partition', '2021-09-01');
    expect(why.code).toBe(0);
    expect(why.stdout).toMatch(/\[2021-09-01\] materialized .* by run/);
    expect(why.stdout).toMatch(/up to date/);
    const runs = JSON.parse((await pipeline('runs', '--json')).stdout) as { runId: string; status: string }[];
    expect(runs.length).toBeGreaterThanOrEqual(3);
    const show = await pipeline('runs', 'show', runs.at(-1)!.runId, '--no-tui');
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/materialized bikes_metrics\[2021-09-01\]/);
  });

  it.each([
    [['materialize'], /--all or --select/],
    [['materialize', '--all', '--select', 'x'], /either --all or --select/],
    [['materialize', '--select', 'nope'], /Unknown asset "nope"/],
    [['materialize', '--all', '--partition', '2021-13-01'], /use a day/],
    [['materialize', '--all', '--from', '2021-09-05', '--to', '2021-09-01'], /after --to/],
    [['materialize', '--all', '--concurrency', '0'], /whole number/],
    [['frobnicate'], /unknown command/],
  ])('exits 2 with a message for %j', async (args, msg) => {
    const r = await pipeline(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr).not.toMatch(/\n\s+at .*\.ts:\d+/); // no stack trace
  });
});
