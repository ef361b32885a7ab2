import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateStore } from './state.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityflow-lock-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('state lock', () => {
  it('is created with its holder in it, and leaves no temp file', async () => {
    const state = new StateStore(dir);
    const release = await state.acquireLock('run-a', () => {});
    expect(JSON.parse(await readFile(join(dir, 'lock'), 'utf8'))).toMatchObject({
      pid: process.pid,
      runId: 'run-a',
    });
    expect(await readdir(dir)).toEqual(['lock']);
    await release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('a second run waits for a live holder, says for what once, and gets it when released', async () => {
    const state = new StateStore(dir);
    const release = await state.acquireLock('run-a', () => {});
    const said: string[] = [];
    let got = false;
    const second = state.acquireLock('run-b', (m) => said.push(m)).then((r) => ((got = true), r));
    await new Promise((r) => setTimeout(r, 500));
    expect(got).toBe(false);
    expect(said).toEqual([
      expect.stringMatching(/^waiting for run run-a \(pid \d+\) to release the state lock/),
    ]);
    await release();
    await (
      await second
    )();
    expect(got).toBe(true);
  });

  it('takes over a lock whose holder is dead, and removes the temp files of dead attempts', async () => {
    // pid 2^22 + 1 is above Linux's pid_max default: no such process.
    await writeFile(join(dir, 'lock'), JSON.stringify({ pid: 4_194_305, runId: 'killed' }));
    await writeFile(join(dir, 'lock.4194305.killed.tmp'), '{}');
    const release = await new StateStore(dir).acquireLock('run-b', () => {});
    expect(JSON.parse(await readFile(join(dir, 'lock'), 'utf8'))).toMatchObject({ runId: 'run-b' });
    expect(await readdir(dir)).toEqual(['lock']);
    await release();
  });

  it('takes over an empty lock (killed between create and write by an older version) once it stays unreadable', async () => {
    // This is what hung a CI run: the waiting run polled an empty lock forever.
    await writeFile(join(dir, 'lock'), '');
    const t0 = Date.now();
    const release = await new StateStore(dir).acquireLock('run-b', () => {});
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2_000);
    expect(JSON.parse(await readFile(join(dir, 'lock'), 'utf8'))).toMatchObject({ runId: 'run-b' });
    await release();
  });
});
