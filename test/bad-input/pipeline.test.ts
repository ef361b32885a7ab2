/**
 * Bad input through the real `pipeline` CLI (child process) on a tiny DATA_DIR built from the corpus:
 * bad records are quarantined (file, line, reason), counted per reason in the run log, and the run
 * still succeeds; an unreadable file makes the run fail with a plain message.
 */
import { spawn } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QuarantineRecord } from '../../engine/quarantine.ts';
import { BIN, startPipeline, type Finished } from '../faults/cli-process.ts';
import { BAD } from './helpers.ts';

const DAY = '2021-09-01'; // the day of the real bike-counter records in the corpus

const LAYOUT: Record<string, string> = {
  [`api/bikes/dt=${DAY}/hour=14/bikes_data.csv`]: 'bikes/outside-day-and-duplicate.csv',
  [`api/traffic/dt=${DAY}/hour=02/traffic_data.json`]: 'traffic/bad-records.json',
  [`api/weather/dt=${DAY}/hour=02/weather_data.json`]: 'weather/invalid.json',
  'batch/comptages-x.csv': 'comptages/unparsable-dates.csv',
  'batch/chantiers-x.csv': 'chantiers/duplicate-rows.csv',
  'batch/referentiel-x.csv': 'referentiel/duplicate-rows.csv',
};

async function project(root: string) {
  for (const [to, from] of Object.entries(LAYOUT)) {
    await mkdir(dirname(join(root, 'data', to)), { recursive: true });
    await copyFile(join(BAD, from), join(root, 'data', to));
  }
  return envFor(root);
}

/** The CLI's environment for a project in `root` (data/, out/, state/). */
const envFor = (root: string): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: root,
  CI: 'true',
  DATA_DIR: join(root, 'data'),
  OUTPUT_DIR: join(root, 'out'),
  STATE_DIR: join(root, 'state'),
});

const ndjson = async (path: string): Promise<QuarantineRecord[]> =>
  (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as QuarantineRecord);

const summary = (rs: QuarantineRecord[]) => rs.map((r) => `${r.reason}@${r.line}`);

describe('pipeline materialize on bad input', () => {
  let root: string;
  let run: Finished;
  let events: {
    type: string;
    asset?: string;
    reason?: string;
    metadata?: { quarantined?: Record<string, number> };
  }[];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'cityflow-bad-pipeline-'));
    const env = await project(root);
    run = await startPipeline(env, ['materialize', '--all', '--partition', DAY, '--json', '--no-tui']).done;
    const last = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { runId: string };
    events = (await readFile(join(root, 'state', 'runs', `${last.runId}.jsonl`), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as (typeof events)[number]);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const quarantinedOf = (asset: string) =>
    events.find((e) => e.type === 'materialized' && e.asset === asset)?.metadata?.quarantined;

  it('fails only what read an unreadable file (exit 1); everything else is built', () => {
    expect(run.code, run.stderr).toBe(1);
    const summaryLine = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    // The weather day read an invalid JSON file: it fails (a weather built from the other hours would be
    // silently emptier), and the report that needs it is not built. The road-count file's readable rows
    // are all of 2024-01-04: comptages_metrics[2021-09-01] is no data (skipped, counted in noData).
    expect(summaryLine).toMatchObject({ status: 'failed', materialized: 5, noData: 1, failed: 1 });
    const skipped = events.filter((e) => e.type === 'skipped');
    expect(skipped.map((e) => `${e.asset}:${e.reason}`).sort()).toEqual([
      'comptages_metrics:no_data',
      'daily_report:upstream_failed',
      'daily_report_csv:upstream_failed',
    ]);
  });

  it('bikes: outside-day record (line 5) and duplicate (line 7) quarantined with file and reason', async () => {
    const q = await ndjson(join(root, 'out', '_quarantine', 'bikes_metrics', `${DAY}.ndjson`));
    expect(summary(q).sort()).toEqual(['duplicate_record@7', 'outside_partition@5']);
    for (const r of q) expect(r.file).toBe(`api/bikes/dt=${DAY}/hour=14/bikes_data.csv`);
    expect(quarantinedOf('bikes_metrics')).toEqual({ outside_partition: 1, duplicate_record: 1 });
  });

  it('traffic: 3 bad disruptions at lines 735, 736, 2601; counts per reason in the run log', async () => {
    const q = await ndjson(join(root, 'out', '_quarantine', 'traffic_metrics', `${DAY}.ndjson`));
    expect(summary(q)).toEqual(['invalid_record@735', 'invalid_record@736', 'no_valid_period@2601']);
    expect(quarantinedOf('traffic_metrics')).toEqual({ invalid_record: 2, no_valid_period: 1 });
  });

  it('weather: an invalid JSON file is one invalid_json reject at line 0; the unit fails naming it', async () => {
    const q = await ndjson(join(root, 'out', '_quarantine', 'weather_metrics', `${DAY}.ndjson`));
    expect(summary(q)).toEqual(['invalid_json@0']);
    expect(q[0]!.file).toBe(`api/weather/dt=${DAY}/hour=02/weather_data.json`);
    const failed = events.find((e) => e.type === 'failed' && e.asset === 'weather_metrics');
    expect((failed as { error?: string } | undefined)?.error).toMatch(
      new RegExp(
        `1 input file could not be read as its format: api/weather/dt=${DAY}/hour=02/weather_data.json \\(invalid_json`,
      ),
    );
  });

  it('chantiers and referentiel: duplicate rows quarantined per day', async () => {
    expect(quarantinedOf('chantiers_metrics')).toEqual({ duplicate_record: 1 });
    expect(quarantinedOf('referentiel_metrics')).toEqual({ duplicate_row: 1 }); // a repeated piece of the same arc and period
    const q = await ndjson(join(root, 'out', '_quarantine', 'chantiers_metrics', `${DAY}.ndjson`));
    expect(summary(q)).toEqual(['duplicate_record@27']);
  });

  it('comptages: rows whose day cannot be read go to the batch-level quarantine (3 lines)', async () => {
    const q = await ndjson(join(root, 'out', '_quarantine', 'comptages_arc_days', 'batch.ndjson'));
    expect(summary(q)).toEqual(['unparsable_date@3', 'unparsable_date@6', 'unparsable_date@10']);
    expect(run.stdout + run.stderr).toMatch(/3 bad records not attributable to a day \(unparsable_date=3\)/);
  });

  it('`pipeline quarantine` lists every quarantined unit with its counts and first records', async () => {
    const env = envFor(root);
    const all = await startPipeline(env, ['quarantine', '--json']).done;
    expect(all.code, all.stderr).toBe(0);
    const units = JSON.parse(all.stdout) as { asset: string; partition: string; counts: object }[];
    // The per-asset figures of the tests above, plus comptages' batch-level file.
    expect(Object.fromEntries(units.map((u) => [`${u.asset}[${u.partition}]`, u.counts]))).toEqual({
      [`bikes_metrics[${DAY}]`]: { outside_partition: 1, duplicate_record: 1 },
      [`chantiers_metrics[${DAY}]`]: { duplicate_record: 1 },
      'comptages_arc_days[batch]': { unparsable_date: 3 },
      [`referentiel_metrics[${DAY}]`]: { duplicate_row: 1 },
      [`traffic_metrics[${DAY}]`]: { invalid_record: 2, no_valid_period: 1 },
      [`weather_metrics[${DAY}]`]: { invalid_json: 1 },
    });
    const text = await startPipeline(env, [
      'quarantine',
      '--select',
      'traffic_metrics',
      '--reason',
      'invalid_record',
    ]).done;
    expect(text.stdout.split('\n')).toEqual([
      expect.stringMatching(
        /^traffic_metrics\[2021-09-01\] 3: invalid_record 2, no_valid_period 1 .*2021-09-01\.ndjson$/,
      ),
      expect.stringMatching(
        /^ {4}api\/traffic\/dt=2021-09-01\/hour=02\/traffic_data\.json:735 {2}invalid_record/,
      ),
      expect.stringMatching(/:736 {2}invalid_record/),
      'Total: 3 records in 1 unit (invalid_record 2, no_valid_period 1)',
      '',
    ]);
    const bad = await startPipeline(env, ['quarantine', '--partition', '2021-09-01', '--from', '2021-09-01'])
      .done;
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('either --partition or --from/--to')]);
  });
});

describe('pipeline materialize with a file that cannot be read at all', () => {
  let root: string;
  let run: Finished;
  const unreadable = `api/traffic/dt=${DAY}/hour=02/traffic_data.json`;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'cityflow-unreadable-'));
    const env = await project(root);
    await chmod(join(root, 'data', unreadable), 0o000);
    const asRoot = process.getuid?.() === 0;
    if (!asRoot) {
      run = await startPipeline(env, ['materialize', '--all', '--partition', DAY, '--json', '--no-tui']).done;
      return;
    }
    // root reads mode-000 files anyway: run the CLI as `nobody` so the permission really applies.
    const open = async (d: string): Promise<void> => {
      await chmod(d, 0o777);
      for (const e of await readdir(d, { withFileTypes: true }))
        if (e.isDirectory()) await open(join(d, e.name));
    };
    await open(root);
    const child = spawn(
      process.execPath,
      [BIN, 'materialize', '--all', '--partition', DAY, '--json', '--no-tui'],
      {
        env,
        uid: 65534,
        gid: 65534,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    run = await new Promise((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
    );
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('fails (exit 1) with one plain line naming the file and the problem, no stack trace', () => {
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(unreadable);
    expect(run.stderr).toMatch(/EACCES: permission denied/);
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  // Planning records an unreadable source as its own data version, so only its readers fail.
  it('only its own asset fails: unrelated assets are still materialized', async () => {
    const bikes = join(root, 'out', '_quarantine', 'bikes_metrics', `${DAY}.ndjson`);
    await expect(readFile(bikes, 'utf8')).resolves.toContain('outside_partition');
  });
});

describe('road-count rejects are quarantined with their own day', () => {
  let root: string;
  let run: Finished;
  const NEG_DAY = '2024-01-04';

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'cityflow-comptages-day-'));
    await mkdir(join(root, 'data', 'batch'), { recursive: true });
    await copyFile(
      join(BAD, 'comptages', 'nan-negative.csv'),
      join(root, 'data', 'batch', 'comptages-x.csv'),
    );
    const env = envFor(root);
    run = await startPipeline(env, [
      'materialize',
      '--select',
      'comptages_arc_days',
      '--partition',
      NEG_DAY,
      '--json',
      '--no-tui',
    ]).done;
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('counts them in that day’s materialization metadata (4 bad rows of 2024-01-04: NaN and negative flow, NaN and negative occupancy)', async () => {
    expect(run.code, run.stderr).toBe(0);
    const q = await ndjson(join(root, 'out', '_quarantine', 'comptages_arc_days', `${NEG_DAY}.ndjson`));
    expect(q.map((r) => r.line).sort((a, b) => a - b)).toEqual([3, 5, 7, 9]);
    const runs = await readdir(join(root, 'state', 'runs'));
    const events = (await readFile(join(root, 'state', 'runs', runs[0]!), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const m = events.find((e) => e.type === 'materialized' && e.partition === NEG_DAY);
    expect(Object.values(m.metadata.quarantined as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(
      4,
    );
  });
});

describe('road-count rows with an unreadable Etat trafic are kept and reported', () => {
  // latin1-rows.csv: 3 of its rows carry Latin-1 bytes in Etat trafic (test/bad-input/comptages.test.ts).
  it.each([
    ['one file (byte-range reader)', ['comptages-x.csv'], 3],
    // The second copy's rows repeat the first's instants: duplicate_row rejects (checked below), so only
    // the first copy's 3 unreadable states are kept and counted.
    ['two copies (csv-parse reader)', ['comptages-a.csv', 'comptages-b.csv'], 3],
  ])('%s: one warning in the run log with the count (%j → %i rows)', async (_name, files, expected) => {
    const root = await mkdtemp(join(tmpdir(), 'cityflow-comptages-etat-'));
    try {
      await mkdir(join(root, 'data', 'batch'), { recursive: true });
      for (const f of files)
        await copyFile(join(BAD, 'comptages', 'latin1-rows.csv'), join(root, 'data', 'batch', f));
      const env = envFor(root);
      const args = ['materialize', '--select', 'comptages_arc_days', '--partition', '2024-01-04', '--no-tui'];
      const run = await startPipeline(env, args).done;
      expect(run.code, run.stderr).toBe(0);
      const [log] = await readdir(join(root, 'state', 'runs'));
      const warnings = (await readFile(join(root, 'state', 'runs', log!), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; level?: string; message?: string })
        .filter((e) => e.type === 'log' && e.level === 'warn' && e.message?.includes('Etat trafic'));
      expect(warnings.map((w) => w.message!.split(' rows ')[0])).toEqual([String(expected)]);
      expect(run.stdout).toContain(`${expected} rows had an unrecognised Etat trafic`);
      if (files.length === 2) {
        // Every row of the second copy that was valid in the first is a duplicate, not summed again.
        const q = await ndjson(join(root, 'out', '_quarantine', 'comptages_arc_days', '2024-01-04.ndjson'));
        const dups = q.filter((r) => r.reason === 'duplicate_row');
        expect(dups.length).toBeGreaterThan(0);
        expect(new Set(dups.map((r) => r.file))).toEqual(new Set(['batch/comptages-b.csv']));
        expect(dups[0]!.detail).toContain('already seen in this file or an earlier file of the batch');
        const firstCopy = q.filter((r) => r.file === 'batch/comptages-a.csv').length;
        const secondCopy = q.filter((r) => r.file === 'batch/comptages-b.csv').length;
        // Same rows in both files: each bad row of the first is bad again in the second (same reason,
        // before the duplicate check), each good row of the first is a duplicate in the second.
        expect(secondCopy - dups.length).toBe(firstCopy);
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
