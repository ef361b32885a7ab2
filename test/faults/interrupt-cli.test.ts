/**
 * Ctrl-C (SIGINT) and SIGTERM stop `pipeline materialize` with the signal's exit code (130, 143) and one
 * line, whether the units already run or not: waiting for the state lock, observing the sources and
 * planning come before any unit, and an abort there is the cancellation, not an error.
 */
import { mkdir, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scratchProject, startPipeline, type Finished } from './cli-process.ts';

const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

/** Resolves once `text` has appeared on the stream. */
function seen(stream: NodeJS.ReadableStream, text: string | RegExp): Promise<void> {
  return new Promise((resolve) => {
    let all = '';
    stream.on('data', (d: Buffer) => {
      all += d.toString();
      if (typeof text === 'string' ? all.includes(text) : text.test(all)) resolve();
    });
  });
}

async function runs(stateDir: string): Promise<string[]> {
  return readdir(join(stateDir, 'runs')).catch(() => []);
}

/** Every unit locked by a live process (this test's), as another run would hold them. */
async function holdLock(stateDir: string): Promise<void> {
  await mkdir(join(stateDir, 'locks'), { recursive: true });
  await writeFile(
    join(stateDir, 'locks', 'held-by-the-test.units.json'),
    JSON.stringify({
      pid: process.pid,
      runId: 'held-by-the-test',
      at: new Date().toISOString(),
      units: 'all',
    }),
  );
}

function expectOneLineCancel(r: Finished, signal: string): void {
  expect(r.stderr).not.toMatch(/aborted|pipeline:/);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines.filter((l) => /cancel/i.test(l))).toEqual([
    `Cancelled (${signal}) before any unit ran: nothing was built.`,
  ]);
}

describe('a signal before the units run', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s while waiting for the unit locks exits %i with one line', async (signal, code) => {
    const p = await scratchProject('cityflow-sig-lock-');
    roots.push(p.root);
    const stateDir = p.env.STATE_DIR!;
    await holdLock(stateDir);
    const { child, done } = startPipeline(p.env, ['materialize', '--all', '--no-tui']);
    await seen(child.stderr!, 'waiting for run held-by-the-test');
    child.kill(signal);
    const r = await done;
    expect(r.signal).toBe(null);
    expect(r.code, r.stderr).toBe(code);
    expectOneLineCancel(r, signal);
    expect(r.stdout).toBe('');
    expect(await runs(stateDir)).toEqual([]); // no run was started
  });

  it('SIGTERM while the sources are observed (a 1 GB raw file to digest) exits 143 with one line', async () => {
    const p = await scratchProject('cityflow-sig-plan-');
    roots.push(p.root);
    // A sparse gigabyte: no disk used, but its digest reads it all.
    await truncate(
      join(p.env.DATA_DIR!, 'batch', 'comptages-routiers-permanents_historique-st-antoine.csv'),
      1e9,
    );
    const { child, done } = startPipeline(p.env, ['materialize', '--all', '--no-tui']);
    // The mode line comes before the lock and the plan; the digest takes seconds.
    await seen(child.stderr!, 'Local mode');
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code, r.stderr).toBe(143);
    expectOneLineCancel(r, 'SIGTERM');
    expect(await runs(p.env.STATE_DIR!)).toEqual([]);
  }, 120_000);
});

describe('SIGTERM during a run', () => {
  it('cancels the run (recorded as cancelled) and exits 143', async () => {
    const p = await scratchProject('cityflow-sig-run-');
    roots.push(p.root);
    const { child, done } = startPipeline(p.env, ['materialize', '--all', '--no-tui', '--concurrency', '1']);
    await seen(child.stdout!, '✓ materialized');
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toMatch(/Cancelling: finishing in-flight writes/);
    expect(r.stdout).toMatch(/run \S+ cancelled/);
  });
});
