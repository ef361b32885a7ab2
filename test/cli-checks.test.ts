/**
 * User stories of issue 10 through the real `pipeline` command, on a copy of the project and the sample:
 * a formula bug caught by a blocking check fails the run (exit 1), and later runs keep refusing the
 * dependents (even forced) until a materialization passes the check; `why` names the check; `why` and
 * `plan --all` agree on every unit after each step.
 */
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyProject } from './faults/cli-process.ts';

let copy: { root: string; env: NodeJS.ProcessEnv };

interface PlanUnit {
  asset: string;
  partition: string;
  decision: string;
  reasons: { kind: string; check?: string; asset?: string }[];
}

const pipeline = (...args: string[]) => pipelineWith(copy.env, ...args);

async function pipelineWith(
  env: NodeJS.ProcessEnv,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [join(copy.root, 'pipeline/bin.mjs'), ...args],
      { env, cwd: copy.root },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const planAll = async (...extra: string[]): Promise<PlanUnit[]> =>
  (JSON.parse((await pipeline('plan', ...extra, '--json')).stdout) as { units: PlanUnit[] }).units;

/** `why KEY --json` for every asset gives the decisions and reasons of `plan --all`. */
async function expectWhyEqualsPlan(): Promise<void> {
  const all = (await planAll('--all')).filter((u) => u.decision !== 'observe');
  const assets = [...new Set(all.map((u) => u.asset))];
  for (const a of assets) {
    const why = JSON.parse((await pipeline('why', a, '--json')).stdout) as PlanUnit[];
    const pick = (u: PlanUnit) => ({ partition: u.partition, decision: u.decision, reasons: u.reasons });
    expect(why.map(pick), a).toEqual(all.filter((u) => u.asset === a).map(pick));
  }
}

beforeAll(async () => {
  copy = await copyProject('cityflow-checks-');
}, 120_000);
afterAll(() => rm(copy.root, { recursive: true, force: true }));

describe('blocking checks through the CLI', () => {
  it('a failing blocking check exits 1 and keeps refusing its dependents until it passes', async () => {
    expect((await pipeline('materialize', '--all', '--no-tui')).code).toBe(0);

    // A formula bug: the day's total no longer matches the counters (bikes_total_is_sum_of_counters).
    const metrics = join(copy.root, 'assets/bikes/metrics.ts');
    const good = await readFile(metrics, 'utf8');
    expect(good).toContain('total_velos += total;');
    await writeFile(metrics, good.replace('total_velos += total;', 'total_velos += total + 1;'));

    const broken = await pipeline('materialize', '--all', '--no-tui');
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/bikes_metrics\[\d{4}-\d{2}-\d{2}\].*bikes_total_is_sum_of_counters/);
    expect(broken.stdout).toMatch(/daily_report\[\d{4}-\d{2}-\d{2}\].*blocked_by_check/);
    await expectWhyEqualsPlan();

    // The dependent alone, forced: still refused, exit 1, nothing written.
    const days = (await planAll('--all')).filter((u) => u.asset === 'daily_report').map((u) => u.partition);
    const day = days[0]!;
    const reportFile = join(copy.root, 'output/daily_report', `${day}.json`);
    const before = await readFile(reportFile, 'utf8');
    const forced = await pipeline('materialize', '--select', 'daily_report', '--force', '--no-tui');
    expect(forced.code).toBe(1);
    expect(await readFile(reportFile, 'utf8')).toBe(before);
    const why = await pipeline('why', 'daily_report', '--partition', day);
    expect(why.stdout).toContain(`blocked by check bikes_total_is_sum_of_counters on bikes_metrics[${day}]`);
    const whyBikes = await pipeline('why', 'bikes_metrics', '--partition', day);
    expect(whyBikes.stdout).toMatch(/check bikes_total_is_sum_of_counters: fail \(blocking\): total/);

    // status:failed selects the asset that failed its check.
    const failed = await planAll('--select', 'status:failed');
    expect([...new Set(failed.filter((u) => u.decision !== 'observe').map((u) => u.asset))]).toEqual([
      'bikes_metrics',
    ]);

    // Fixed: the check passes, the dependents are built, and everything is up to date.
    await writeFile(metrics, good);
    const fixed = await pipeline('materialize', '--all', '--no-tui');
    expect(fixed.code).toBe(0);
    expect((await planAll('--all')).filter((u) => u.decision === 'run')).toEqual([]);
    await expectWhyEqualsPlan();
  }, 240_000);

  it('why and --select take a unit as runs print it (asset[partition]), the same as --partition', async () => {
    const [long, short, planned] = await Promise.all([
      pipeline('why', 'bikes_metrics', '--partition', '2025-10-28', '--json'),
      pipeline('why', 'bikes_metrics[2025-10-28]', '--json'),
      planAll('--select', 'bikes_metrics[2025-10-28]'),
    ]);
    expect(planned.map((u) => `${u.asset}[${u.partition}]`)).toEqual(['bikes_metrics[2025-10-28]']);
    expect(short.code).toBe(0);
    const units = JSON.parse(short.stdout) as PlanUnit[];
    expect(units.map((u) => u.partition)).toEqual(['2025-10-28']);
    expect(units).toEqual(JSON.parse(long.stdout));
    const both = await pipeline('why', 'bikes_metrics[2025-10-28]', '--partition', '2025-10-29');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/names partition 2025-10-28, --partition says 2025-10-29/);
  }, 60_000);

  it('an empty selection is an error', async () => {
    // A new state dir: nothing has failed there.
    const fresh = { ...copy.env, STATE_DIR: join(copy.root, 'state-empty') };
    const r = await pipelineWith(fresh, 'plan', '--select', 'status:failed');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no asset matches/);
  }, 60_000);
});
