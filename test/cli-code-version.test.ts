/**
 * Module-level code versions through the `pipeline` command, on a copy of the project: a formula edited
 * in a helper module (assets/weather/metrics.ts, imported by weather_metrics' module) re-runs exactly that
 * asset (its dependents follow through their inputs), a comment edit runs nothing, and the compiled CLI
 * and tsx (CITYFLOW_TSX=1) give every asset the same version.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyProject, runCopy } from './faults/cli-process.ts';

interface PlanUnit {
  asset: string;
  partition: string;
  decision: 'run' | 'skip' | 'observe';
  reasons: { kind: string; changed?: string[] }[];
}

let copy: { root: string; env: NodeJS.ProcessEnv };
const pipeline = (...args: string[]): Promise<string> => runCopy(copy, args);
const METRICS = (): string => join(copy.root, 'assets/weather/metrics.ts');

async function edit(change: (text: string) => string): Promise<void> {
  const before = await readFile(METRICS(), 'utf8');
  const after = change(before);
  expect(after).not.toBe(before);
  await writeFile(METRICS(), after);
}

const toRun = async (): Promise<PlanUnit[]> =>
  (JSON.parse(await pipeline('plan', '--all', '--json')) as { units: PlanUnit[] }).units.filter(
    (u) => u.decision === 'run',
  );

async function versions(extraEnv: NodeJS.ProcessEnv = {}): Promise<Record<string, string>> {
  const rows = JSON.parse(await runCopy(copy, ['list', '--json'], extraEnv)) as {
    key: string;
    kind: string;
    codeVersion: string;
  }[];
  return Object.fromEntries(rows.filter((r) => r.kind === 'asset').map((r) => [r.key, r.codeVersion]));
}

beforeAll(async () => {
  copy = await copyProject('cityflow-cli-codeversion-');
  const out = await pipeline('materialize', '--all', '--no-tui', '--json');
  expect(JSON.parse(out.trim().split('\n').at(-1)!)).toMatchObject({ status: 'success', failed: 0 });
}, 180_000);
afterAll(() => rm(copy.root, { recursive: true, force: true }));

describe('module-level code versions through the CLI', () => {
  it('the compiled CLI and tsx give the same versions', async () => {
    const compiled = await versions();
    expect(Object.keys(compiled)).toContain('weather_metrics');
    for (const v of Object.values(compiled)) expect(v).toMatch(/^mod:[0-9a-f]{16}$/);
    expect(await versions({ CITYFLOW_TSX: '1' })).toEqual(compiled);
  }, 120_000);

  it('a comment edited in a helper module runs nothing', async () => {
    await edit((t) => t.replace('/** impact = clamp(', '/** Mobility impact: clamp('));
    expect(await toRun()).toEqual([]);
  }, 120_000);

  it('a formula edited in a helper module re-runs exactly the asset importing it', async () => {
    const before = await versions();
    await edit((t) => t.replace('base: 50,', 'base: 55,'));
    const after = await versions();
    expect(Object.keys(after).filter((k) => after[k] !== before[k])).toEqual(['weather_metrics']);

    const units = await toRun();
    const codeChanged = units.filter((u) => u.reasons.some((r) => r.kind === 'code_changed'));
    expect(new Set(codeChanged.map((u) => u.asset))).toEqual(new Set(['weather_metrics']));
    const weatherDays = units.filter((u) => u.asset === 'weather_metrics').length;
    expect(codeChanged).toHaveLength(weatherDays);
    expect(weatherDays).toBeGreaterThan(0);
    // Every other unit runs only because an upstream unit will.
    const others = units.filter((u) => u.asset !== 'weather_metrics');
    expect(new Set(others.map((u) => u.asset))).toEqual(new Set(['daily_report', 'daily_report_csv']));
    for (const u of others)
      expect(new Set(u.reasons.map((r) => r.kind))).toEqual(new Set(['upstream_will_run']));
  }, 120_000);

  // Needs the executor to record manifests (recordCodeManifest) and the planner to fill
  // `code_changed.changed` (codeChanges), see engine/code-manifest.ts.
  it('why names the edited file', async () => {
    const why = await pipeline('why', 'weather_metrics');
    expect(why).toMatch(
      /code version changed \(mod:[0-9a-f]{16} → mod:[0-9a-f]{16}\): assets\/weather\/metrics\.ts/,
    );
  }, 120_000);
});
