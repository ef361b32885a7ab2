import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireUnitLocks, covers, holdsUnitLocks, unitSet } from './unit-locks.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityflow-unitlocks-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const units = (asset: string, from: number, to: number) =>
  unitSet(Array.from({ length: to - from }, (_, i) => ({ asset, partition: `p${from + i}` })));
const opts = (msgs: string[], signal?: AbortSignal) => ({
  what: 'unit locks',
  onWait: (m: string) => msgs.push(m),
  ...(signal && { signal }),
});

describe('unit locks', () => {
  it('disjoint sets are held at once; an overlapping one waits, says for whom, and gets them on release', async () => {
    const msgs: string[] = [];
    const a = await acquireUnitLocks(dir, 'run-a', units('x', 0, 10), opts(msgs));
    const b = await acquireUnitLocks(dir, 'run-b', units('x', 10, 20), opts(msgs));
    expect(msgs).toEqual([]);
    let got = false;
    const c = acquireUnitLocks(dir, 'run-c', units('x', 5, 15), opts(msgs)).then((r) => ((got = true), r));
    await new Promise((r) => setTimeout(r, 500));
    expect(got).toBe(false);
    expect(msgs.sort()).toEqual([
      expect.stringMatching(
        /^waiting for run run-a \(pid \d+\) to release the unit locks of 5 unit\(s\) this run builds: x\[p5\], x\[p6\], x\[p7\], …/,
      ),
      expect.stringMatching(/^waiting for run run-b \(pid \d+\) to release the unit locks of 5 unit\(s\)/),
    ]);
    await a();
    await new Promise((r) => setTimeout(r, 400));
    expect(got).toBe(false); // all or nothing: run-b still holds x[p10..p14]
    await b();
    const releaseC = await c;
    expect(holdsUnitLocks(dir, 'run-c')).toBe(true);
    await releaseC();
    expect(await readdir(dir)).toEqual([]);
  });

  it('`all` waits for every live run and every run waits for it', async () => {
    const msgs: string[] = [];
    const a = await acquireUnitLocks(dir, 'run-a', units('x', 0, 1), opts(msgs));
    const ctl = new AbortController();
    const all = acquireUnitLocks(dir, 'run-all', 'all', opts(msgs, ctl.signal));
    await new Promise((r) => setTimeout(r, 300));
    ctl.abort();
    await expect(all).rejects.toThrow('Cancelled while waiting for the unit locks');
    await a();
    const releaseAll = await acquireUnitLocks(dir, 'run-all', 'all', opts(msgs));
    const ctl2 = new AbortController();
    const other = acquireUnitLocks(dir, 'run-b', units('y', 0, 1), opts(msgs, ctl2.signal));
    await new Promise((r) => setTimeout(r, 300));
    ctl2.abort();
    await expect(other).rejects.toThrow('Cancelled');
    expect(msgs.at(-1)).toMatch(
      /^waiting for run run-all \(pid \d+\) to release the unit locks of all units/,
    );
    await releaseAll();
  });

  it('takes over the entry of a dead run and removes a torn one once it is old', async () => {
    const msgs: string[] = [];
    await writeFile(
      join(dir, 'killed.units.json'),
      JSON.stringify({ pid: 4_194_305, runId: 'killed', units: { x: ['p1'] }, count: 1 }),
    );
    await writeFile(join(dir, 'torn.units.json'), '{"pid":');
    const old = new Date(Date.now() - 10_000);
    await utimes(join(dir, 'torn.units.json'), old, old);
    const r = await acquireUnitLocks(dir, 'run-b', units('x', 0, 3), opts(msgs));
    expect(msgs).toEqual([
      expect.stringMatching(
        /^taking over the unit locks of run killed \(pid 4194305\) in .*: that process is gone$/,
      ),
    ]);
    expect(await readdir(dir)).toEqual(['run-b.units.json']);
    await r();
  });

  it('covers', () => {
    expect(covers(units('x', 0, 10), units('x', 2, 5))).toBe(true);
    expect(covers(units('x', 0, 10), units('x', 8, 12))).toBe(false);
    expect(covers('all', units('y', 0, 1))).toBe(true);
    expect(covers(units('x', 0, 1), 'all')).toBe(false);
  });

  it('a 10,000-unit run takes its locks quickly beside three other live 10,000-unit runs (timed)', async () => {
    const msgs: string[] = [];
    const others = [];
    for (let k = 0; k < 3; k++)
      others.push(await acquireUnitLocks(dir, `run-${k}`, units(`a${k}`, 0, 10_000), opts(msgs)));
    const mine = new Map([...units('a0', 10_000, 15_000), ...units('b', 0, 5_000)]);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      const r = await acquireUnitLocks(dir, 'run-big', mine, opts(msgs));
      times.push(performance.now() - t);
      await r();
    }
    times.sort((a, b) => a - b);
    console.log(`unit locks: 10,000 units beside 3 live runs of 10,000: median ${times[2]!.toFixed(1)} ms`);
    expect(msgs).toEqual([]);
    expect(times[2]).toBeLessThan(200);
    for (const r of others) await r();
  });
});
