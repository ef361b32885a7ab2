import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * True when a process with this pid exists (EPERM: it exists, owned by someone else) and has not ended.
 * An ended process stays in the process table until its parent collects it (a zombie); an orphan's new
 * parent may take its time (in some containers the first process never does), so Linux's state is read.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const state = statFields(pid)?.[0];
  return state !== 'Z' && state !== 'X';
}

/**
 * Who a process is beyond its pid, which the OS reuses (a container's first process is pid 1 after
 * every restart). The Linux fields are absent elsewhere.
 */
export interface ProcessIdentity {
  pid: number;
  host: string;
  /** Linux: `/proc/sys/kernel/random/boot_id`, new at every boot. */
  bootId?: string;
  /** Linux: the pid namespace (`/proc/self/ns/pid`, e.g. `pid:[4026531836]`); a new one per container. */
  pidNs?: string;
  /** Linux: when the process started, in clock ticks after boot (`/proc/<pid>/stat` field 22). */
  startTime?: string;
}

function readOrUndefined(read: () => string): string | undefined {
  try {
    return read().trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The fields of `/proc/<pid>/stat` from field 3 (the state) on; undefined without /proc or that process. */
function statFields(pid: number): string[] | undefined {
  const stat = readOrUndefined(() => readFileSync(`/proc/${pid}/stat`, 'utf8'));
  // Field 2 is the command name in parentheses, which may itself hold spaces and parentheses.
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Field 22 of `/proc/<pid>/stat` (undefined without /proc or without that process). */
export function processStartTime(pid: number): string | undefined {
  return statFields(pid)?.[22 - 3];
}

let self: ProcessIdentity | undefined;

export function selfIdentity(): ProcessIdentity {
  return (self ??= {
    pid: process.pid,
    host: hostname(),
    bootId: readOrUndefined(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')),
    pidNs: readOrUndefined(() => readlinkSync('/proc/self/ns/pid')),
    startTime: processStartTime(process.pid),
  });
}

let bootTimeMs: number | undefined | null = null;

/**
 * When a process started, in ms since the epoch (Linux: boot time from `/proc/stat` + its start time in
 * clock ticks, taken at 100 per second as on every Linux build in use); undefined when it cannot be told.
 * Precise to about a second (the boot time is given in seconds).
 */
export function processStartMs(pid: number): number | undefined {
  if (bootTimeMs === null) {
    const btime = readOrUndefined(() => /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? '');
    bootTimeMs = btime ? Number(btime) * 1000 : undefined;
  }
  const ticks = processStartTime(pid);
  if (bootTimeMs === undefined || ticks === undefined || !/^\d+$/.test(ticks)) return undefined;
  return bootTimeMs + Number(ticks) * 10;
}
