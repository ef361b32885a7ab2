import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isAlive, processStartMs } from './pid.ts';
import { writeError } from './write-error.ts';

export interface AtomicWriteOptions {
  /** fsync before the rename (default true): guards against power loss. */
  fsync?: boolean;
  /** The file's modification (and access) time, in seconds since the epoch; set before it appears. */
  mtime?: number;
  /** Fault injection in tests: awaited just before the rename that makes the file appear. */
  beforeRename?: () => Promise<void> | void;
}

/** `<target>.tmp-<pid>-<8 hex>`: what a write leaves behind when its process is killed before the rename. */
const TEMP_FILE = /\.tmp-(\d+)-[0-9a-f]{8}$/;

/**
 * Writes a file so that readers see the old content or the new one, never a mix, and a killed process
 * leaves at most a stray `.tmp-<pid>-<hex>` file (never a truncated target): temp file + fsync + rename.
 * Such strays are removed by `sweepTempFiles`.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array | readonly Uint8Array[],
  opts: AtomicWriteOptions = {},
): Promise<void> {
  await mkdir(dirname(path), { recursive: true }).catch((err: unknown) => {
    throw writeError(err, path);
  });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const fh = await open(tmp, 'w');
    try {
      // Pieces are written one after the other (no concatenated copy of a value made of many chunks).
      if (!Array.isArray(data)) await fh.writeFile(data as string | Uint8Array);
      else
        for (const piece of data as readonly Uint8Array[])
          for (let at = 0; at < piece.length;) at += (await fh.write(piece, at)).bytesWritten;
      if (opts.mtime !== undefined) await fh.utimes(opts.mtime, opts.mtime);
      // fsync guards against power loss; a killed process never leaves a torn file either way.
      if (opts.fsync !== false) await fh.sync();
    } finally {
      await fh.close();
    }
    await opts.beforeRename?.();
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw writeError(err, path, byteLength(data)); // names the file
  }
}

const byteLength = (data: string | Uint8Array | readonly Uint8Array[]): number =>
  typeof data === 'string'
    ? Buffer.byteLength(data)
    : Array.isArray(data)
      ? data.reduce((n: number, c: Uint8Array) => n + c.length, 0)
      : (data as Uint8Array).length;

/** When this process started (ms since the epoch). */
const PROCESS_START_MS = Math.floor(performance.timeOrigin);
/**
 * A temp file whose pid is alive is still left alone when it is younger than this before the process
 * started: a write of another live process never takes that long, and clocks of file systems are coarse.
 */
const TEMP_GRACE_MS = 5_000;
/** A process's start time is known to about a second (engine/pid.ts); file times may be coarser. */
const START_SLACK_MS = 2_000;

/**
 * Removes the temp files that killed writes left in the given folders and their sub-folders down to
 * `depth` (1: the folders themselves): those whose writer is gone. The writer is the pid in the name; it
 * is gone when no such process runs, or when the process of that pid started after the file was last
 * written (the pid was reused: a container's pipeline is pid 1 after every restart). Where a process's
 * start time cannot be read (not Linux), a file older than this process (`startedAtMs`, less a grace)
 * counts as gone. So it is safe while other runs write: a live writer's temp files are kept, however long
 * its write takes. Missing folders are skipped. Returns the paths removed.
 */
export async function sweepTempFiles(
  dirs: readonly string[],
  opts: { depth?: number; startedAtMs?: number } = {},
): Promise<string[]> {
  const before = (opts.startedAtMs ?? PROCESS_START_MS) - TEMP_GRACE_MS;
  const removed: string[] = [];
  const sweep = async (dir: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return; // missing or unreadable: nothing of ours to remove
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (depth > 1) await sweep(path, depth - 1);
        continue;
      }
      const m = TEMP_FILE.exec(e.name);
      if (!m || !e.isFile()) continue;
      const pid = Number(m[1]);
      let stale = !isAlive(pid);
      if (!stale) {
        const st = await lstat(path).catch(() => null);
        const started = processStartMs(pid);
        stale =
          st !== null &&
          (started !== undefined ? st.mtimeMs < started - START_SLACK_MS : st.mtimeMs < before);
      }
      if (stale) {
        await rm(path, { force: true });
        removed.push(path);
      }
    }
  };
  for (const d of dirs) await sweep(d, opts.depth ?? 1);
  return removed;
}
