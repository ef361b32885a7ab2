import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOCK_LEASE_MS, LOCK_REFRESH_MS } from './lock.ts';
import { processStartTime, selfIdentity } from './pid.ts';
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

  /** Acquires the lock, or says it is still waiting after `ms`. */
  const acquireWithin = async (ms: number, said: string[] = []) => {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), ms);
    try {
      const release = await new StateStore(dir).acquireLock('run-new', (m) => said.push(m), ac.signal);
      await release();
      return 'acquired';
    } catch {
      return 'still waiting';
    } finally {
      clearTimeout(timer);
    }
  };
  const holder = (fields: Record<string, unknown>) =>
    writeFile(join(dir, 'lock'), JSON.stringify({ runId: 'old', refreshMs: LOCK_REFRESH_MS, ...fields }));

  it.skipIf(selfIdentity().startTime === undefined)(
    'takes over a lock whose pid now names another process: our own pid after a container restart',
    async () => {
      // What a restarted container finds: its pipeline is pid 1 again, the lock says pid 1 of before.
      const me = selfIdentity();
      await holder({ ...me, startTime: String(Number(me.startTime) - 100) });
      const said: string[] = [];
      expect(await acquireWithin(3_000, said)).toBe('acquired');
      expect(said).toEqual([
        expect.stringMatching(/^taking over the state lock .* of run old \(pid \d+\): that process is gone$/),
      ]);
    },
  );

  it.skipIf(selfIdentity().startTime === undefined)(
    'a live process holding the lock is waited for; the same pid with another start time is not',
    async () => {
      const parent = { ...selfIdentity(), pid: process.ppid, startTime: processStartTime(process.ppid) };
      await holder(parent);
      const said: string[] = [];
      expect(await acquireWithin(1_000, said)).toBe('still waiting');
      expect(said).toEqual([
        expect.stringMatching(/^waiting for run old \(pid \d+\) to release the state lock/),
      ]);
      await holder({ ...parent, startTime: '1' });
      expect(await acquireWithin(3_000)).toBe('acquired');
    },
  );

  it('takes over a lock with our pid and no start time (another OS, an older version) that this process does not hold', async () => {
    await holder({ pid: process.pid });
    expect(await acquireWithin(3_000)).toBe('acquired');
  });

  it('takes over a lock written before the machine rebooted', async () => {
    const me = selfIdentity();
    await holder({ ...me, pid: process.ppid, bootId: 'another-boot' });
    expect(await acquireWithin(3_000)).toBe(me.bootId === undefined ? 'still waiting' : 'acquired');
  });

  it('a holder in another pid namespace is waited for while it refreshes its lock, then taken to be gone', async () => {
    await holder({ ...selfIdentity(), pid: 1, pidNs: 'pid:[4026599999]', startTime: '5' });
    const said: string[] = [];
    expect(await acquireWithin(1_000, said)).toBe('still waiting');
    expect(said[0]).toMatch(
      /in another pid namespace \(container\), and is taken to be gone once the lock is 15 s old/,
    );
    const old = new Date(Date.now() - LOCK_LEASE_MS - 1_000);
    await utimes(join(dir, 'lock'), old, old);
    expect(await acquireWithin(3_000)).toBe('acquired');
  });

  it('the holder keeps its lock fresh while it holds it', async () => {
    const release = await new StateStore(dir).acquireLock('run-a', () => {});
    const old = new Date(Date.now() - 60_000);
    await utimes(join(dir, 'lock'), old, old);
    await new Promise((r) => setTimeout(r, LOCK_REFRESH_MS + 500));
    expect(Date.now() - (await stat(join(dir, 'lock'))).mtimeMs).toBeLessThan(LOCK_REFRESH_MS + 1_000);
    await release();
  });
});
