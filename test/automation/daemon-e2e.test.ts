/**
 * `pipeline daemon` as a real child process (interval 300 ms through AUTOMATION_INTERVAL) on a temp
 * DATA_DIR/OUTPUT_DIR/STATE_DIR: a script drops the 24 hours of 2025-11-04 one by one (bikes, traffic and
 * weather files copied from the bundled sample), waiting each time until the daemon has seen the hour;
 * the daily report is built after the last one, exactly once. A restart starts no run; SIGTERM exits 0.
 */
import { copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../engine/index.ts';
import type { AutomationStatus } from '../../pipeline/daemon/status.ts';
import { SAMPLE, exists, scratchProject, startPipeline } from '../faults/cli-process.ts';

const CONFIG = join(import.meta.dirname, '..', '..', 'cityflow.config.ts');
const DAY = '2025-11-04';
const FILES = {
  bikes: `api/bikes/dt=${DAY}/hour=14/bikes_data.csv`,
  traffic: `api/traffic/dt=${DAY}/hour=02/traffic_data.json`,
  weather: `api/weather/dt=${DAY}/hour=02/weather_data.csv`,
};

let root: string;
let env: NodeJS.ProcessEnv;
const state = () => join(root, 'state');

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function cursorHas(hour: string): Promise<true | undefined> {
  const text = await readFile(join(state(), 'automation/cursor.json'), 'utf8').catch(() => '{}');
  const c = JSON.parse(text) as { sources?: Record<string, Record<string, string>> };
  return ['raw_bikes', 'raw_traffic', 'raw_weather'].every((s) => c.sources?.[s]?.[`${DAY}T${hour}`])
    ? true
    : undefined;
}

/** Every `materialized` event of every run log: `asset[partition]` with its time. */
async function materializations(): Promise<{ id: string; at: string }[]> {
  const dir = join(state(), 'runs');
  const out: { id: string; at: string }[] = [];
  for (const f of await readdir(dir).catch(() => [])) {
    for (const line of (await readFile(join(dir, f), 'utf8')).split('\n')) {
      if (!line) continue;
      const e = JSON.parse(line) as RunEvent;
      if (e.type === 'materialized') out.push({ id: `${e.asset}[${e.partition}]`, at: e.at });
    }
  }
  return out;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cityflow-daemon-'));
  await cp(join(SAMPLE, 'batch'), join(root, 'data/batch'), { recursive: true });
  await mkdir(join(root, 'data/api'), { recursive: true });
  env = {
    PATH: process.env.PATH,
    HOME: root,
    CI: 'true',
    DATA_DIR: join(root, 'data'),
    OUTPUT_DIR: join(root, 'output'),
    STATE_DIR: state(),
    AUTOMATION_INTERVAL: '300ms',
    PIPELINE_CONCURRENCY: '2',
  };
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('pipeline daemon', () => {
  it('builds the day’s report after the last of 24 hourly drops, exactly once; SIGTERM exits 0', async () => {
    const daemon = startPipeline(env, ['--config', CONFIG, 'daemon']);
    try {
      let lastDrop = '';
      for (let h = 0; h < 24; h++) {
        const hour = String(h).padStart(2, '0');
        for (const [source, file] of Object.entries(FILES)) {
          const dir = join(root, 'data/api', source, `dt=${DAY}`, `hour=${hour}`);
          await mkdir(dir, { recursive: true });
          await copyFile(join(SAMPLE, file), join(dir, file.split('/').at(-1)!));
        }
        lastDrop = new Date().toISOString();
        // The daemon has seen the hour (its cursor is stored once the runs it led to ended).
        await until(`the daemon to see hour ${hour}`, () => cursorHas(hour));
        if (h < 23) expect(await exists(join(root, 'output/daily_report', `${DAY}.json`))).toBe(false);
      }
      const report = join(root, 'output/daily_report', `${DAY}.json`);
      await until('the report', async () => ((await exists(report)) ? true : undefined));
      const built = (await materializations()).filter((m) => m.id.startsWith('daily_report'));
      expect(built.map((m) => m.id).sort()).toEqual([`daily_report[${DAY}]`, `daily_report_csv[${DAY}]`]);
      expect(built.every((m) => m.at > lastDrop)).toBe(true);
      // The metrics followed the hours: bikes_metrics of the day was built again as hours came in.
      const bikes = (await materializations()).filter((m) => m.id === `bikes_metrics[${DAY}]`);
      expect(bikes.length).toBeGreaterThan(12);

      // Every run it started is recorded as the daemon's.
      const commands: string[] = [];
      for (const f of await readdir(join(state(), 'runs'))) {
        const first = JSON.parse(
          (await readFile(join(state(), 'runs', f), 'utf8')).split('\n')[0]!,
        ) as RunEvent;
        if (first.type === 'run_started') commands.push(first.command);
      }
      expect(commands.length).toBeGreaterThan(0);
      expect(commands.every((c) => c.startsWith('daemon materialize '))).toBe(true);

      const log = await readFile(join(state(), 'automation/decisions.jsonl'), 'utf8');
      expect(log).toMatch(
        /"outcome":"wait","reason":"1 unit\(s\) not built yet wait for complete inputs \(all-sources\): daily_report\[2025-11-04\] \(/,
      );
    } finally {
      daemon.child.kill('SIGTERM');
    }
    const end = await daemon.done;
    expect(end.stderr).toMatch(/automation: daemon stopped \(SIGTERM\)/);
    expect(end.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(end.code).toBe(0);

    // A restart: a full evaluation from the stored cursor, no run.
    const runsBefore = (await readdir(join(state(), 'runs'))).length;
    const again = startPipeline({ ...env, LOG_LEVEL: 'debug' }, ['--config', CONFIG, 'daemon']);
    let err = '';
    again.child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await until('the restarted daemon to evaluate twice', async () =>
      /automation: tick 2 sensor skip: no new or changed raw partition/.test(err) ? true : undefined,
    );
    expect(err).toMatch(
      /automation: tick 1 eager daily_report skip: nothing to do: 1 affected unit\(s\) up to date/,
    );
    again.child.kill('SIGTERM');
    const end2 = await again.done;
    expect(end2.code).toBe(0);
    expect((await readdir(join(state(), 'runs'))).length).toBe(runsBefore);
  }, 300_000);
});

describe('pipeline daemon: stopping and operator errors', () => {
  let proj: { root: string; env: NodeJS.ProcessEnv };
  beforeAll(async () => {
    proj = await scratchProject('cityflow-daemon-stop-');
    proj.env = { ...proj.env, AUTOMATION_INTERVAL: '300ms', PIPELINE_CONCURRENCY: '1' };
  });
  afterAll(async () => {
    await rm(proj.root, { recursive: true, force: true });
  });

  it('SIGTERM during a run cancels it, exits 0 and keeps no cursor; the next start requests it again', async () => {
    const daemon = startPipeline(proj.env, ['--config', CONFIG, 'daemon']);
    let err = '';
    daemon.child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await until('a run to start', async () => (/automation: run \S+ started/.test(err) ? true : undefined));
    daemon.child.kill('SIGTERM');
    const end = await daemon.done;
    expect(end.code).toBe(0);
    expect(end.stderr).toMatch(/SIGTERM: stopping \(a run in progress is cancelled/);
    const log = await readFile(join(proj.root, 'state/automation/decisions.jsonl'), 'utf8');
    const runs = log
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; status?: string })
      .filter((r) => r.type === 'run');
    expect(runs.map((r) => r.status)).toEqual(['cancelled']);
    expect(await exists(join(proj.root, 'state/automation/cursor.json'))).toBe(false);

    // Started again (once): the same request, what the cancelled run built is skipped by the planner.
    const again = await startPipeline(proj.env, ['--config', CONFIG, 'daemon', '--once']).done;
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/automation: run \S+ success: materialized=\d+ skipped=\d+ failed=0/);
    expect(await exists(join(proj.root, 'state/automation/cursor.json'))).toBe(true);

    const status = await startPipeline(proj.env, ['--config', CONFIG, 'automation', 'status', '--json']).done;
    expect(status.code).toBe(0);
    const s = JSON.parse(status.stdout) as AutomationStatus;
    expect(s.daemon.running).toBe(false);
    expect(s.schedules).toMatchObject([
      { asset: 'daily_report', cron: '0 6 * * *', timezone: 'Europe/Paris', partitions: 'yesterday' },
    ]);
    expect(Date.parse(s.schedules[0]!.nextTick!)).toBeGreaterThan(Date.now());
    expect(s.eager.map((e) => e.asset)).toContain('bikes_metrics');
    expect(s.freshness).toMatchObject([{ asset: 'daily_report', ok: false }]);
    // Newest first: the cancelled run, then what `--once` started (one run, or more when what it built
    // made other units eligible in the same evaluation round), all successful.
    const statuses = s.runs.map((r) => r.status);
    expect(statuses.at(-1)).toBe('cancelled');
    expect(statuses.length).toBeGreaterThanOrEqual(2);
    expect(statuses.slice(0, -1).every((st) => st === 'success')).toBe(true);
    expect(s.latestByAsset.find((d) => d.asset === 'daily_report' && d.condition === 'eager')).toMatchObject({
      outcome: 'wait',
    });
  }, 120_000);

  it('AUTOMATION_MAX_RUNS=2: the runs of one evaluation on disjoint days go on side by side', async () => {
    const p = await scratchProject('cityflow-daemon-runs-');
    try {
      // Without 2025-11-01 the days make two runs (consecutive days share one).
      for (const source of await readdir(join(p.root, 'data', 'api')))
        await rm(join(p.root, 'data', 'api', source, 'dt=2025-11-01'), { recursive: true, force: true });
      const bad = await startPipeline({ ...p.env, AUTOMATION_MAX_RUNS: '0' }, [
        '--config',
        CONFIG,
        'daemon',
        '--once',
      ]).done;
      expect([bad.code, bad.stderr.trim()]).toEqual([
        2,
        'pipeline: AUTOMATION_MAX_RUNS=0: a whole number of runs from 1 to 16',
      ]);
      const end = await startPipeline({ ...p.env, AUTOMATION_MAX_RUNS: '2' }, [
        '--config',
        CONFIG,
        'daemon',
        '--once',
      ]).done;
      expect(end.code, end.stderr).toBe(0);
      expect(end.stderr).toContain('up to 2 runs at once');
      expect(end.stderr.match(/automation: run \S+ success: materialized=[1-9]/g)).toHaveLength(2);
      expect(end.stderr).not.toMatch(/waiting for run/);
      const spans: [number, number][] = [];
      for (const f of await readdir(join(p.root, 'state', 'runs'))) {
        const events = (await readFile(join(p.root, 'state', 'runs', f), 'utf8'))
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as RunEvent);
        const at = (t: string) => Date.parse(events.find((e) => e.type === t)!.at);
        spans.push([at('run_started'), at('run_finished')]);
      }
      expect(spans).toHaveLength(2);
      const [a, b] = spans as [[number, number], [number, number]];
      expect(a[0] < b[1] && b[0] < a[1], `daemon runs did not overlap: ${JSON.stringify(spans)}`).toBe(true);
    } finally {
      await rm(p.root, { recursive: true, force: true });
    }
  }, 120_000);

  it('starts its run while another run holds other units, without waiting', async () => {
    const { acquireUnitLocks } = await import('../../engine/unit-locks.ts');
    await rm(join(proj.root, 'state/automation'), { recursive: true, force: true });
    await rm(join(proj.root, 'output'), { recursive: true, force: true });
    // Another live run (this test process) building a day the daemon does not touch.
    const release = await acquireUnitLocks(
      join(proj.root, 'state', 'locks'),
      'other-units',
      new Map([['bikes_metrics', new Set(['2025-10-01'])]]),
      { what: 'unit locks', onWait: () => {} },
    );
    try {
      const end = await startPipeline(proj.env, ['--config', CONFIG, 'daemon', '--once']).done;
      expect(end.code, end.stderr).toBe(0);
      expect(end.stderr).toMatch(/automation: run \S+ success: materialized=[1-9]\d*/);
      expect(end.stderr).not.toMatch(/waiting for run/);
    } finally {
      await release();
    }
  }, 120_000);

  it('waits for the unit locks held by another run, then runs (it does not fail)', async () => {
    const { acquireUnitLocks } = await import('../../engine/unit-locks.ts');
    await rm(join(proj.root, 'state/automation'), { recursive: true, force: true });
    await rm(join(proj.root, 'output'), { recursive: true, force: true });
    const release = await acquireUnitLocks(join(proj.root, 'state', 'locks'), 'held-by-test', 'all', {
      what: 'unit locks',
      onWait: () => {},
    });
    const daemon = startPipeline(proj.env, ['--config', CONFIG, 'daemon', '--once']);
    let err = '';
    daemon.child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await until('the daemon to wait', async () =>
        /automation: waiting for run held-by-test \(pid \d+\) to release the unit locks of all units/.test(
          err,
        )
          ? true
          : undefined,
      );
      await new Promise((r) => setTimeout(r, 1000));
      expect(daemon.child.exitCode).toBeNull();
    } finally {
      await release();
    }
    const end = await daemon.done;
    expect(end.code).toBe(0);
    expect(end.stderr).toMatch(/automation: run \S+ success: materialized=\d+/);
  }, 120_000);

  it('a bad interval and a second daemon on the same state dir are one-line errors (exit 2)', async () => {
    const bad = await startPipeline(proj.env, ['--config', CONFIG, 'daemon', '--interval', '3x']).done;
    expect([bad.code, bad.stderr]).toEqual([
      2,
      'pipeline: --interval 3x: not a duration (e.g. 30s, 500ms, 2m, 1h)\n',
    ]);
    const tiny = await startPipeline({ ...proj.env, AUTOMATION_INTERVAL: '10ms' }, [
      '--config',
      CONFIG,
      'daemon',
    ]).done;
    expect([tiny.code, tiny.stderr]).toEqual([
      2,
      'pipeline: AUTOMATION_INTERVAL=10ms: between 100ms and 24h\n',
    ]);

    const first = startPipeline({ ...proj.env, AUTOMATION_INTERVAL: '1h' }, ['--config', CONFIG, 'daemon']);
    let err = '';
    first.child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await until('the first daemon', async () => (/automation: daemon \d+ on/.test(err) ? true : undefined));
    const second = await startPipeline(proj.env, ['--config', CONFIG, 'daemon']).done;
    first.child.kill('SIGTERM');
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(
      /^pipeline: another pipeline daemon uses this STATE_DIR \(.*\): run daemon-\S+ \(pid \d+\)/,
    );
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    expect((await first.done).code).toBe(0);
  }, 120_000);
});
