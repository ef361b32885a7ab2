/**
 * CLI options and settings seen from outside: `--version`, LOG_LEVEL on the stderr and plain run lines,
 * the concurrency `pipeline env` reports, and `runs show ID --verbose` with the run log's stack traces.
 */
import { readFileSync } from 'node:fs';
import { readdir, rm, symlink, unlink } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchProject, startPipeline } from './faults/cli-process.ts';

let root: string;
let env: NodeJS.ProcessEnv;
const pipeline = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
  startPipeline({ ...env, ...extra }, args).done;

beforeAll(async () => {
  ({ root, env } = await scratchProject('cityflow-cli-options-'));
  // One raw file is a link to nothing: bikes_metrics fails on that day (with a stack trace and a cause).
  const day = join(env.DATA_DIR!, 'api', 'bikes', 'dt=2025-10-30');
  const hour = (await readdir(day))[0]!;
  const file = join(day, hour, (await readdir(join(day, hour)))[0]!);
  await unlink(file);
  await symlink(join(root, 'nowhere', 'bikes.json'), file);
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('pipeline --version', () => {
  const version = (
    JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  it.each(['--version', '-V'])('%s prints the package version and exits 0', async (flag) => {
    const r = await pipeline([flag]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${version}\n`);
  });
});

describe('pipeline env', () => {
  it('prints the concurrency a run uses: PIPELINE_CONCURRENCY, else the CPU count', async () => {
    const unset = await pipeline(['env']);
    expect(unset.stdout).toContain('PIPELINE_CONCURRENCY=(unset)\n');
    expect(unset.stdout).toContain(`concurrency (effective)=${availableParallelism()} (CPU count)\n`);
    const set = await pipeline(['env'], { PIPELINE_CONCURRENCY: '3' });
    expect(set.stdout).toContain('concurrency (effective)=3 (PIPELINE_CONCURRENCY)\n');
    // …and the run says the same.
    const run = await pipeline(['materialize', '--select', 'weather_metrics', '--no-tui'], {
      PIPELINE_CONCURRENCY: '3',
    });
    expect(run.stdout).toMatch(/started: .* concurrency=3\n/);
  });
});

describe('LOG_LEVEL', () => {
  it('warn: only the problems and the summary, no mode line; info: the usual lines', async () => {
    const warn = await pipeline(['materialize', '--all', '--force', '--no-tui'], { LOG_LEVEL: 'warn' });
    expect(warn.code).toBe(1);
    expect(warn.stderr).toBe('');
    const lines = warn.stdout.trim().split('\n');
    expect(lines.at(-1)).toMatch(/✗ run \S+ failed: materialized=\d+ skipped=\d+ failed=1 /);
    expect(lines.some((l) => /✗ failed bikes_metrics\[2025-10-30\] .*symbolic link/.test(l))).toBe(true);
    for (const l of lines)
      expect(l).toMatch(
        /✗ failed|✗ run|↷ skipped \S+ (upstream_failed|blocked_by_check)|⟳ retry| warn|! check|✗ check/,
      );

    const info = await pipeline(['materialize', '--all', '--force', '--no-tui']);
    expect(info.stderr).toMatch(/^Local mode → /);
    expect(info.stdout).toContain('▶ run ');
    expect(info.stdout).toContain('✓ materialized ');
    expect(info.stdout.split('\n').length).toBeGreaterThan(lines.length * 5);

    const error = await pipeline(['materialize', '--all', '--no-tui'], { LOG_LEVEL: 'error' });
    expect(
      error.stdout
        .trim()
        .split('\n')
        .map((l) => l.slice(11, 17)),
    ).toEqual(['✗ fail', '✗ run ']);
  });

  it('debug: a line with the concurrency and the run log, and more detail per unit', async () => {
    const r = await pipeline(['materialize', '--select', 'weather_metrics', '--force', '--no-tui'], {
      LOG_LEVEL: 'debug',
    });
    expect(r.stderr).toMatch(/run \S+: concurrency \d+ \(CPU count\), events in .*\.jsonl/);
    expect(r.stdout).toMatch(/✓ materialized weather_metrics\[\S+\] .* data=\S+ at .*weather_metrics/);
  });
});

describe('pipeline runs show ID --verbose', () => {
  it('prints the stack traces kept in the run log (with their causes)', async () => {
    const run = await pipeline(['materialize', '--select', 'bikes_metrics', '--json', '--no-tui']);
    const { runId } = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { runId: string };
    const verbose = await pipeline(['runs', 'show', runId, '--no-tui', '--verbose']);
    expect(verbose.code).toBe(0);
    const lines = verbose.stdout.split('\n');
    const at = lines.findIndex((l) => l.includes('✗ failed bikes_metrics[2025-10-30]'));
    expect(at).toBeGreaterThan(-1);
    expect(lines[at + 1]).toMatch(/^ {4}Error: .*symbolic link/);
    expect(lines[at + 2]).toMatch(/^ {8}at /);
    expect(lines.some((l) => /^ {4}Caused by: .*ENOENT/.test(l))).toBe(true);
    const plain = await pipeline(['runs', 'show', runId, '--no-tui']);
    expect(plain.stdout).not.toMatch(/^\s+at /m);
  });
});
