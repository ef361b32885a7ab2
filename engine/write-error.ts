/**
 * File-system write failures a person can act on. Node's own messages often lack the file
 * (`ENOSPC: no space left on device, write`, `EFBIG: file too large, write`) or name a temp file; this
 * says which file was being written, what the code means and what to do, and keeps Node's message in
 * brackets (and as the cause, with `code`, `errno` and `syscall` copied, so callers testing `code` work).
 */
import { dirname } from 'node:path';

const HELP: Record<string, (dir: string, bytes: number | undefined) => string> = {
  ENOSPC: (dir) =>
    `no space left on the file system that holds ${dir}: free some space there, or write elsewhere`,
  EDQUOT: (dir) =>
    `disk quota exceeded on the file system that holds ${dir}: free some space, or write elsewhere`,
  EROFS: (dir) => `${dir} is on a read-only file system: mount it read-write, or write elsewhere`,
  EACCES: (dir) =>
    `permission denied: this user cannot write in ${dir} (make it writable, or write elsewhere)`,
  EPERM: (dir) => `operation not permitted in ${dir} (make it writable, or write elsewhere)`,
  EFBIG: (_dir, bytes) =>
    `file too large${bytes !== undefined ? ` (${bytes} bytes)` : ''}: over the file-size limit of this process ` +
    `(ulimit -f) or of the file system`,
  EMFILE: () => 'too many open files in this process (raise ulimit -n, or lower the concurrency)',
  ENFILE: () => 'too many open files on this system (lower the concurrency)',
};

export interface WriteError extends Error {
  code: string;
  path: string;
}

/** An error naming `path` for a failed write of it (or of its temp file); other errors unchanged. */
export function writeError(err: unknown, path: string, bytes?: number): unknown {
  const e = err as NodeJS.ErrnoException;
  const help = e && typeof e.code === 'string' ? HELP[e.code] : undefined;
  if (!help) return err;
  const out = new Error(`cannot write ${path}: ${help(dirname(path), bytes)} [${e.message}]`, {
    cause: err,
  }) as WriteError & NodeJS.ErrnoException;
  out.name = 'WriteError';
  out.code = e.code!;
  out.path = path;
  if (e.errno !== undefined) out.errno = e.errno;
  if (e.syscall !== undefined) out.syscall = e.syscall;
  return out;
}
