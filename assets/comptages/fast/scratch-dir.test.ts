/**
 * Scratch dirs of killed reads: a process killed with SIGKILL cannot remove its scratch dir (up to
 * ≈ 16 B per row of the road-count file), so the next read removes the dirs whose process is gone —
 * and only those.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeOrphanScratchDirs, ScratchDir } from './scratch-dir.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The pid of a process that has just exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

describe('scratch dirs', () => {
  it('removes the dirs of processes that are gone, keeps those of live processes and other names', async () => {
    const root = await mkdtemp(join(tmpdir(), 'scratch-sweep-'));
    dirs.push(root);
    const dead = await deadPid();
    const names = [
      `cityflow-comptages-${dead}-aB3xYz`, // killed read: removed
      `cityflow-comptages-${process.pid}-Qw12er`, // this process: kept
      `cityflow-comptages-${process.ppid}-Zx98cv`, // a live process: kept
      'cityflow-comptages-oldstyle', // no pid in the name: kept
      'something-else-1-abc',
    ];
    for (const n of names) {
      await mkdir(join(root, n));
      await writeFile(join(root, n, 'rows-0.bin'), Buffer.alloc(1024));
    }
    expect(removeOrphanScratchDirs(root)).toEqual([names[0]]);
    expect(names.map((n) => existsSync(join(root, n)))).toEqual([false, true, true, true, true]);
  });

  it('an unusable TMPDIR is an error that says so', async () => {
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = '/nonexistent/cityflow-tmp';
    try {
      await expect(ScratchDir.create(1)).rejects.toThrow(
        /cannot create the road-count scratch dir in \/nonexistent\/cityflow-tmp \(ENOENT\): set TMPDIR/,
      );
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });

  it('a new scratch dir carries this process id, and is removed by remove()', async () => {
    const s = await ScratchDir.create(1);
    expect(s.dir).toMatch(new RegExp(`cityflow-comptages-${process.pid}-`));
    expect(s.spill()).toMatchObject({ residentSlots: 1 });
    s.remove();
    expect(existsSync(s.dir)).toBe(false);
  });
});
