/**
 * `pipeline runs` and `pipeline runs prune` through the real CLI on a small project: listing from the
 * run index, pruning by count and by age, dry runs, and one-line usage errors (exit 2).
 */
import { execFile } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRunIndex } from '../../engine/run-index.ts';
import { makeProject, removeProject } from '../ui/fixture-project.ts';

const BIN = join(import.meta.dirname, '..', '..', 'pipeline', 'bin.mjs');
let dir: string;

async function pipeline(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, CI: 'true' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

type Listed = { runId: string; status: string; materialized: number; command: string; startedAt: string };
const list = async () => JSON.parse((await pipeline('runs', '--json')).stdout) as Listed[];
const logs = async () => (await readdir(join(dir, '.cityflow', 'runs'))).sort();

beforeAll(async () => {
  dir = await makeProject();
  for (let i = 0; i < 3; i++) {
    const r = await pipeline('materialize', '--all', ...(i === 0 ? [] : ['--force']));
    expect(r.code, r.stderr).toBe(0);
  }
}, 120_000);
afterAll(() => removeProject(dir));

describe('pipeline runs', () => {
  it('lists the runs newest first from the index', async () => {
    const runs = await list();
    expect(runs.map((r) => r.status)).toEqual(['success', 'success', 'success']);
    expect(runs[0]!.command).toMatch(/--force/);
    expect(runs[2]!.materialized).toBe(7);
    expect(runs.map((r) => r.startedAt)).toEqual(
      runs
        .map((r) => r.startedAt)
        .sort()
        .reverse(),
    );
    const idx = readRunIndex(join(dir, '.cityflow'));
    expect(Object.keys(idx).sort()).toEqual(runs.map((r) => r.runId).sort());
    const text = await pipeline('runs');
    expect(text.stdout.trim().split('\n')[0]).toMatch(
      new RegExp(`^${runs[0]!.runId}\\s+success\\s+✓\\d+ ↷\\d+ ✗0`),
    );
  });

  it('refuses bad prune options with one line and exit 2', async () => {
    for (const [args, msg] of [
      [[], /--keep N or --older-than DURATION/],
      [['--keep', '2', '--older-than', '3d'], /one of them/],
      [['--keep', 'abc'], /--keep.*a whole number ≥ 0/],
      [['--keep', '-1'], /--keep/],
      [['--older-than', '3x'], /not a duration: "3x".*30d, 12h/],
      [['--older-than', '../../etc'], /not a duration/],
    ] as const) {
      const r = await pipeline('runs', 'prune', ...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    expect((await logs()).length).toBe(3);
  });

  it('prunes: a dry run removes nothing, --keep 1 removes the two oldest, --older-than keeps recent runs', async () => {
    const before = await list();
    const dry = await pipeline('runs', 'prune', '--keep', '1', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`would remove ${before[1]!.runId}`);
    expect(dry.stdout).toContain(`would remove ${before[2]!.runId}`);
    expect(dry.stdout).toMatch(/Dry run: would remove 2 runs; 1 kept\./);
    expect((await logs()).length).toBe(3);
    const none = await pipeline('runs', 'prune', '--older-than', '1h');
    expect(none.stdout).toMatch(/Removed 0 runs .*; 3 kept\./);
    const r = await pipeline('runs', 'prune', '--keep', '1');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`removed ${before[2]!.runId}`);
    expect(r.stdout).toMatch(/Removed 2 runs from .*runs; 1 kept\./);
    expect(await logs()).toEqual([`${before[0]!.runId}.jsonl`]);
    expect((await list()).map((x) => x.runId)).toEqual([before[0]!.runId]);
    // A run started 40 days ago (its log says so) goes with --older-than 30d.
    const old = '20250101T000000000Z-abcdef';
    await writeFile(
      join(dir, '.cityflow', 'runs', `${old}.jsonl`),
      JSON.stringify({
        type: 'run_started',
        runId: old,
        at: new Date(Date.now() - 40 * 86_400_000).toISOString(),
        command: 'x',
        assets: [],
        units: 0,
        toRun: 0,
        concurrency: 1,
      }) + '\n',
    );
    const json = await pipeline('runs', 'prune', '--older-than', '30d', '--json');
    expect(JSON.parse(json.stdout)).toEqual({ dryRun: false, removed: [old], kept: 1, running: [] });
  });
});
