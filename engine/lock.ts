import { link, mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isAlive, processStartTime, selfIdentity, type ProcessIdentity } from './pid.ts';

/** What a lock file holds: who holds it, beyond the pid the OS reuses. */
export interface LockHolder extends Partial<ProcessIdentity> {
  pid?: number;
  runId?: string;
  at?: string;
  /** The holder touches the lock this often (ms); absent in locks of older versions. */
  refreshMs?: number;
  /** Free-form facts for the waiting message (e.g. the holder's state dir). */
  note?: string;
}

/** A holder touches its lock this often, so that a lock nobody touches any more can be recognised. */
export const LOCK_REFRESH_MS = 2_000;
/** A holder that cannot be checked by its pid (another pid namespace or host) is gone once its lock is this old. */
export const LOCK_LEASE_MS = 15_000;
/** An unreadable lock (an empty file from a killed older version) is taken over after this long. */
const STALE_UNREADABLE_LOCK_MS = 2_000;
/** The temp file of a lock attempt exists for milliseconds; one older than this was left by a kill. */
const STALE_ATTEMPT_MS = 10_000;

/** The locks this process holds, by lock path → run id (a lock with our pid and another run id is a previous process's). */
const heldHere = new Map<string, string>();

const known = <T>(a: T | undefined, b: T | undefined): boolean => a !== undefined && b !== undefined;

/**
 * Whether the process that wrote this lock is still running. The pid alone is not enough: the OS reuses
 * pids, and a container's pipeline is pid 1 after every restart. On Linux a holder in our pid namespace
 * and boot is checked exactly (same pid and same start time); one in another pid namespace or on another
 * host (a shared volume) cannot be checked by its pid, and counts as running while it keeps its lock
 * fresh. Elsewhere, a pid that exists counts, unless it is ours (and we do not hold the lock) or the
 * holder stopped refreshing the lock.
 */
export function isLockHolderAlive(path: string, h: LockHolder, lockAgeMs: number): boolean {
  const me = selfIdentity();
  const sameHost = !known(h.host, me.host) || h.host === me.host;
  // Rebooted since: no process of before is running.
  if (sameHost && known(h.bootId, me.bootId) && h.bootId !== me.bootId) return false;
  const fresh = lockAgeMs < LOCK_LEASE_MS;
  if (!sameHost || (known(h.pidNs, me.pidNs) && h.pidNs !== me.pidNs)) return fresh;
  if (!h.pid || !isAlive(h.pid)) return false;
  if (known(h.startTime, me.startTime)) {
    const started = processStartTime(h.pid);
    // Unreadable (another user's process under `hidepid`, or exiting right now): go by the lease.
    return started === undefined ? fresh : started === h.startTime;
  }
  // No start time to compare (not Linux, or a lock of an older version): the pid may name another process.
  if (h.pid === me.pid) return heldHere.get(path) === h.runId;
  return h.refreshMs === undefined || fresh;
}

/**
 * Touches a held lock file every LOCK_REFRESH_MS (its age tells waiters in another pid namespace or on
 * another host that the holder is alive). Returns the function that stops it.
 */
export function keepFresh(path: string): () => void {
  const refresh = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => {});
  }, LOCK_REFRESH_MS);
  refresh.unref();
  return () => clearInterval(refresh);
}

/**
 * Takes the lock `<dir>/<name>` for a run: one holder at a time. A second process waits (saying once for
 * whom, through `onWait`) until the holder releases it; a lock whose holder is gone (kill -9, reboot,
 * container restart) is taken over. The lock appears with its content or not at all (written aside,
 * then linked into place), and the holder touches it every LOCK_REFRESH_MS while it holds it.
 */
export async function acquireDirLock(
  dir: string,
  name: string,
  runId: string,
  opts: {
    /** For messages, e.g. "state lock". */
    what: string;
    onWait: (msg: string) => void;
    signal?: AbortSignal;
    /** Told to whoever waits for this lock. */
    note?: string;
  },
): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  const me = selfIdentity();
  const content: LockHolder = {
    ...me,
    runId,
    at: new Date().toISOString(),
    refreshMs: LOCK_REFRESH_MS,
    ...(opts.note ? { note: opts.note } : {}),
  };
  let told = false;
  let unreadableSince = 0;
  for (;;) {
    const tmp = `${path}.${process.pid}.${runId}.tmp`;
    await writeFile(tmp, JSON.stringify(content));
    try {
      await link(tmp, path);
      heldHere.set(path, runId);
      await removeStaleAttempts(dir, name);
      const stopRefresh = keepFresh(path);
      return async () => {
        stopRefresh();
        heldHere.delete(path);
        await rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      await rm(tmp, { force: true });
    }
    let holder: LockHolder = {};
    let ageMs = 0;
    try {
      const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
      holder = JSON.parse(text) as LockHolder;
      ageMs = Date.now() - st.mtimeMs;
      unreadableSince = 0;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
      // Written by an older version that was killed between creating and writing it: stale once it
      // has stayed unreadable for a while.
      unreadableSince ||= Date.now();
      if (Date.now() - unreadableSince > STALE_UNREADABLE_LOCK_MS) {
        await rm(path, { force: true });
        continue;
      }
    }
    if (holder.pid && !isLockHolderAlive(path, holder, ageMs)) {
      opts.onWait(
        `taking over the ${opts.what} ${path} of run ${holder.runId} (pid ${holder.pid}): that process is gone`,
      );
      await rm(path, { force: true });
      continue;
    }
    if (!told && holder.pid) {
      const where =
        holder.host && holder.host !== me.host
          ? ` on ${holder.host}`
          : holder.pidNs && me.pidNs && holder.pidNs !== me.pidNs
            ? ' in another pid namespace (container)'
            : '';
      opts.onWait(
        `waiting for run ${holder.runId} (pid ${holder.pid}) to release the ${opts.what} ${path}` +
          (where
            ? `; it runs${where}, and is taken to be gone once the lock is ${LOCK_LEASE_MS / 1000} s old`
            : '') +
          (holder.note ? ` (${holder.note})` : ''),
      );
      told = true;
    }
    if (opts.signal?.aborted) throw new Error(`Cancelled while waiting for the ${opts.what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Temp files of lock attempts whose process was killed before it could remove them. */
async function removeStaleAttempts(dir: string, name: string): Promise<void> {
  const prefix = `${name}.`;
  for (const file of await readdir(dir)) {
    if (!file.startsWith(prefix) || !file.endsWith('.tmp')) continue;
    const pid = Number(/^(\d+)\./.exec(file.slice(prefix.length))?.[1]);
    if (!Number.isInteger(pid)) continue;
    const path = join(dir, file);
    const st = await stat(path).catch(() => null);
    if (st && (!isAlive(pid) || Date.now() - st.mtimeMs > STALE_ATTEMPT_MS)) await rm(path, { force: true });
  }
}
