/**
 * Unit locks with real `pipeline materialize` processes on a small project (test/ui/fixture-project.ts:
 * `per_city`, six static partitions whose units each take SLOW_MS): runs on disjoint units overlap in
 * time; a run on units another holds waits and skips what that one built; the locks of a run killed with
 * SIGKILL are taken over.
 */
import type { ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startPipeline, type Finished } from '../faults/cli-process.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { makeProject, removeProject } from '../ui/fixture-project.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await removeProject(d);
});

function materialize(
  dir: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; done: Promise<Finished> } {
  return startPipeline(
    { PATH: process.env.PATH, HOME: dir, CI: 'true', ...env },
    ['materialize', '--no-tui', '--json', ...args],
    dir,
  );
}

const summary = (r: Finished) =>
  JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
    runId: string;
    materialized: number;
    skipped: number;
    status: string;
  };

/** A run's span from its log: [run_started, run_finished] and the units it materialized. */
async function runLog(dir: string, runId: string): Promise<{ span: [number, number]; built: string[] }> {
  const events = (await readFile(join(dir, '.cityflow', 'runs', `${runId}.jsonl`), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; at: string; asset?: string; partition?: string });
  const at = (t: string) => Date.parse(events.find((e) => e.type === t)!.at);
  return {
    span: [at('run_started'), at('run_finished')],
    built: events.filter((e) => e.type === 'materialized').map((e) => `${e.asset}[${e.partition}]`),
  };
}

/** The unit-lock entry a run wrote in the project's state locks (or in `locksDir`), once it is there. */
async function lockTaken(dir: string, locksDir = join(dir, '.cityflow', 'locks')): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const names = await readdir(locksDir).catch(() => [] as string[]);
    const entry = names.find((n) => n.endsWith('.units.json'));
    if (entry) return entry;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no run took its unit locks');
}

async function project(): Promise<string> {
  const dir = await makeProject();
  dirs.push(dir);
  // The upstream (unpartitioned) unit first: the runs below build only per_city's partitions.
  const r = await materialize(dir, ['--select', 'total_bikes']).done;
  expect(r.code, r.stderr).toBe(0);
  return dir;
}

const lockFiles = async (dir: string) => [
  ...(await readdir(join(dir, '.cityflow', 'locks'))).filter((n) => !n.startsWith('.')),
  ...(await readdir(join(dir, 'output', '.cityflow-locks'))),
];

describe('runs on disjoint units', () => {
  it('go on at the same time, and the index keeps both runs’ records', async () => {
    const dir = await project();
    const env = { SLOW_MS: '2500' };
    const t0 = Date.now();
    const a = materialize(dir, ['--select', 'per_city', '--partition', 'paris'], env);
    const b = materialize(dir, ['--select', 'per_city', '--partition', 'lyon'], env);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    const wall = Date.now() - t0;
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    expect(ra.stderr + rb.stderr).not.toMatch(/waiting for run/);
    const [sa, sb] = [summary(ra), summary(rb)];
    expect([sa.materialized, sb.materialized]).toEqual([1, 1]);
    const [la, lb] = [await runLog(dir, sa.runId), await runLog(dir, sb.runId)];
    expect(la.built).toEqual(['per_city[paris]']);
    expect(lb.built).toEqual(['per_city[lyon]']);
    // Overlap: each started before the other finished.
    expect(
      la.span[0] < lb.span[1] && lb.span[0] < la.span[1],
      `runs did not overlap: ${JSON.stringify([la.span, lb.span])}`,
    ).toBe(true);
    const overlapMs = Math.min(la.span[1], lb.span[1]) - Math.max(la.span[0], lb.span[0]);
    expect(overlapMs).toBeGreaterThan(1500);
    const index = JSON.parse(
      await readFile(join(dir, '.cityflow', 'index', 'per_city.json'), 'utf8'),
    ) as Record<string, { runId: string }>;
    expect(index.paris?.runId).toBe(sa.runId);
    expect(index.lyon?.runId).toBe(sb.runId);
    expect(await lockFiles(dir)).toEqual([]);
    console.log(`disjoint runs: overlapped ${overlapMs} ms (each unit 2500 ms), both done in ${wall} ms`);
  }, 120_000);
});

describe('runs on the same units', () => {
  it('the second waits, saying for whom, then skips what the first built', async () => {
    const dir = await project();
    const env = { SLOW_MS: '1500', PIPELINE_CONCURRENCY: '2' };
    const a = materialize(dir, ['--select', 'per_city'], env);
    const entry = await lockTaken(dir);
    const b = materialize(dir, ['--select', 'per_city'], env);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    const [sa, sb] = [summary(ra), summary(rb)];
    expect(entry).toBe(`${sa.runId}.units.json`);
    expect(sa.materialized).toBe(6);
    expect(sb).toMatchObject({ materialized: 0, skipped: 6, status: 'success' });
    // How many of the 6 the second run still had to wait for depends on how far the first got while the
    // second process started (1–6); all of them were built by the first in the end.
    const waited = new RegExp(
      `waiting for run ${sa.runId} \\(pid ${a.child.pid}\\) to release the unit locks of ([1-6]) unit\\(s\\) this run builds: per_city\\[`,
    ).exec(rb.stderr);
    expect(waited, rb.stderr).not.toBeNull();
    expect(rb.stderr).toContain(
      `planned again under the unit locks: ${waited![1]} unit(s) were built meanwhile by another run, 0 left to build`,
    );
    const [la, lb] = [await runLog(dir, sa.runId), await runLog(dir, sb.runId)];
    expect(lb.span[0]).toBeGreaterThanOrEqual(la.span[1]);
    expect(lb.built).toEqual([]);
    expect(await lockFiles(dir)).toEqual([]);
  }, 120_000);
});

describe('a run killed with SIGKILL while holding unit locks', () => {
  it('leaves locks the next run takes over at once', async () => {
    const dir = await project();
    const a = materialize(dir, ['--select', 'per_city', '--force'], { SLOW_MS: '60000' });
    const entry = await lockTaken(dir);
    // The output unit locks are taken right after the state's: killed in between, there would be none.
    expect(await lockTaken(dir, join(dir, 'output', '.cityflow-locks'))).toBe(entry);
    a.child.kill('SIGKILL');
    const ra = await a.done;
    expect(ra.signal).toBe('SIGKILL');
    expect((await readdir(join(dir, '.cityflow', 'locks'))).filter((n) => n.endsWith('.units.json'))).toEqual(
      [entry],
    );
    const t0 = Date.now();
    const b = materialize(dir, ['--select', 'per_city', '--force'], { SLOW_MS: '0' });
    const watchdog = setTimeout(() => b.child.kill('SIGKILL'), 30_000);
    const rb = await b.done;
    clearTimeout(watchdog);
    expect(rb.signal, `the run waited on a dead run's locks: ${rb.stderr}`).toBe(null);
    expect(rb.code, rb.stderr).toBe(0);
    expect(summary(rb).materialized).toBe(6);
    const killedRun = entry.replace(/\.units\.json$/, '');
    expect(rb.stderr).toContain(`taking over the unit locks of run ${killedRun} (pid ${a.child.pid})`);
    expect(rb.stderr).toContain(`taking over the output unit locks of run ${killedRun} (pid ${a.child.pid})`);
    expect(await lockFiles(dir)).toEqual([]);
    console.log(
      `kill -9 with unit locks held: next run took them over and finished in ${Date.now() - t0} ms`,
    );
  }, 120_000);
});
