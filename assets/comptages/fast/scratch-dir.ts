/**
 * The scratch directory of one fast read, under the OS temp dir (`TMPDIR`): the day-bucket files of
 * the scan and the spill files of the aggregation. Removed once no day needs it, or when the process
 * exits. A process killed outright (kill -9) cannot remove its own, so every new read first removes
 * the scratch dirs whose process is gone: the name carries the pid (`cityflow-comptages-<pid>-…`).
 */
import { readdirSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from '../../../engine/pid.ts';
import type { SpillOptions } from './compact-arc-days.ts';

const PREFIX = 'cityflow-comptages-';
const OWNED = /^cityflow-comptages-(\d+)-/;

/** Removes the scratch dirs left in `dir` by processes that no longer exist; returns their names. */
export function removeOrphanScratchDirs(dir = tmpdir()): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = Number(OWNED.exec(name)?.[1] ?? NaN);
    if (!Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

export class ScratchDir {
  private n = 0;
  private removed = false;
  private readonly onExit = (): void => this.remove();

  private constructor(
    readonly dir: string,
    private readonly slots: number,
  ) {
    process.once('exit', this.onExit);
  }

  /** `slots`: the aggregation's resident budget per worker (0 or Infinity: no spilling). */
  static async create(slots: number): Promise<ScratchDir> {
    const parent = tmpdir();
    removeOrphanScratchDirs(parent);
    try {
      return new ScratchDir(await mkdtemp(join(parent, `${PREFIX}${process.pid}-`)), slots);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new Error(
        `cannot create the road-count scratch dir in ${parent} (${err.code ?? err.message}): ` +
          `set TMPDIR to a writable directory with room for ≈ 16 B per row`,
        { cause: e },
      );
    }
  }

  /** A fresh file name in the directory. */
  file(kind: string): string {
    return join(this.dir, `${kind}-${this.n++}.bin`);
  }

  /** Spill settings for one more aggregating worker (its own file), none when spilling is off. */
  spill(): SpillOptions | undefined {
    return this.slots > 0 && this.slots !== Infinity
      ? { path: this.file('days'), residentSlots: this.slots }
      : undefined;
  }

  remove(): void {
    if (this.removed) return;
    this.removed = true;
    process.removeListener('exit', this.onExit);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
