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

/** A file being written atomically (`openFileAtomic`): appended to, then made to appear, or dropped. */
export interface AtomicFile {
  /** Appends bytes; a string is written as UTF-8. Returns the number of bytes written. */
  write(piece: string | Uint8Array): Promise<number>;
  /** Sets the time, fsyncs and renames the file into place (options of `openFileAtomic`). */
  commit(): Promise<void>;
  /** Removes what was written: the target keeps its old content. Safe to call after a failed write. */
  abort(): Promise<void>;
}

/**
 * Opens `<path>.tmp-<pid>-<hex>` for an atomic write of `path`: readers see the old content or the
 * new one, never a mix, and a killed process leaves at most that stray file (never a truncated
 * target), which `sweepTempFiles` removes. Errors name `path` (write-error.ts); after one, the temp
 * file is gone.
 */
export async function openFileAtomic(path: string, opts: AtomicWriteOptions = {}): Promise<AtomicFile> {
  await mkdir(dirname(path), { recursive: true }).catch((err: unknown) => {
    throw writeError(err, path);
  });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  let written = 0;
  const fh = await open(tmp, 'w').catch((err: unknown) => {
    throw writeError(err, path);
  });
  let closed = false;
  const close = async (): Promise<void> => {
    if (!closed) {
      closed = true;
      await fh.close();
    }
  };
  /** `size`: what the file was to hold when the write failed (said for EFBIG). */
  const failed = async (err: unknown, size = written): Promise<never> => {
    await close().catch(() => {});
    await rm(tmp, { force: true });
    throw writeError(err, path, size); // names the file
  };
  return {
    async write(piece) {
      try {
        let bytes: Uint8Array;
        let at = 0;
        // A string goes to the system call as it is (no Buffer of it is kept); a short write, which
        // only a full disk makes, is finished from its bytes.
        if (typeof piece === 'string') {
          at = (await fh.write(piece)).bytesWritten;
          bytes = at === Buffer.byteLength(piece) ? new Uint8Array(0) : Buffer.from(piece, 'utf8');
        } else bytes = piece;
        while (at < bytes.length) at += (await fh.write(bytes, at)).bytesWritten;
        written += at;
        return at;
      } catch (err) {
        return failed(err, written + (typeof piece === 'string' ? Buffer.byteLength(piece) : piece.length));
      }
    },
    async commit() {
      try {
        if (opts.mtime !== undefined) await fh.utimes(opts.mtime, opts.mtime);
        // fsync guards against power loss; a killed process never leaves a torn file either way.
        if (opts.fsync !== false) await fh.sync();
        await close();
        await opts.beforeRename?.();
        await rename(tmp, path);
      } catch (err) {
        await failed(err);
      }
    },
    async abort() {
      await close().catch(() => {});
      await rm(tmp, { force: true });
    },
  };
}

/** Writes a whole file atomically (see `openFileAtomic`); pieces are written one after the other. */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array | readonly Uint8Array[],
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const file = await openFileAtomic(path, opts);
  const pieces = (Array.isArray(data) ? data : [data]) as readonly (string | Uint8Array)[];
  for (const piece of pieces) await file.write(piece);
  await file.commit();
}

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
