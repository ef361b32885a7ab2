/**
 * Write failures name the file: the errors a full disk, a quota, a read-only mount or a size limit give,
 * injected into the write itself (the file handle's `write`), so this runs anywhere; the real ones
 * (tmpfs, ulimit -f, a read-only mount, chmod) are in test/faults/operator-errors.test.ts.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

/** The error the next file-handle write throws (fault injection), or null for real writes. */
let fault: NodeJS.ErrnoException | null = null;

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof real.open = async (...args) => {
    const fh = await real.open(...args);
    const f = fault;
    if (!f) return fh;
    return new Proxy(fh, {
      get(target, key) {
        if (key === 'write' || key === 'writeFile') return () => Promise.reject(f);
        const v = Reflect.get(target, key) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  };
  return { ...real, open };
});

const { writeFileAtomic } = await import('./atomic.ts');

const nodeError = (code: string, message: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: ${message}, write`), { code, errno: -1, syscall: 'write' });

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('writeFileAtomic: a failed write names the file and says what to do', () => {
  it.each([
    [
      'ENOSPC',
      'no space left on device',
      'no space left on the file system that holds DIR: free some space there',
    ],
    ['EDQUOT', 'disk quota exceeded', 'disk quota exceeded on the file system that holds DIR'],
    [
      'EFBIG',
      'file too large',
      'file too large (10 bytes): over the file-size limit of this process (ulimit -f)',
    ],
    ['EROFS', 'read-only file system', 'DIR is on a read-only file system: mount it read-write'],
    ['EACCES', 'permission denied', 'permission denied: this user cannot write in DIR'],
  ])('%s', async (code, nodeMessage, help) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cityflow-write-error-'));
    dirs.push(dir);
    const file = path.join(dir, 'bikes_metrics', '2025-11-03.json');
    await writeFileAtomic(file, 'old value\n');
    fault = nodeError(code, nodeMessage);
    const err = (await writeFileAtomic(file, 'new value\n').catch(
      (e: unknown) => e,
    )) as NodeJS.ErrnoException;
    fault = null;
    expect(err.message.startsWith(`cannot write ${file}: `)).toBe(true);
    expect(err.message).toContain(help.replace('DIR', path.dirname(file)));
    expect(err.message).toMatch(/or write elsewhere|ulimit -f/);
    expect(err.message.endsWith(`[${code}: ${nodeMessage}, write]`)).toBe(true);
    expect(err.code).toBe(code); // callers testing the code still can
    expect((err.cause as Error).message).toBe(`${code}: ${nodeMessage}, write`);
    // The old value is intact and no temp file is left.
    expect(await readFile(file, 'utf8')).toBe('old value\n');
    expect(await readdir(path.dirname(file))).toEqual(['2025-11-03.json']);
  });

  it('leaves other errors unchanged (fault injection before the rename, unknown codes)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cityflow-write-error-'));
    dirs.push(dir);
    const file = path.join(dir, 'x.json');
    const boom = new Error('killed here');
    await expect(writeFileAtomic(file, '1', { beforeRename: () => Promise.reject(boom) })).rejects.toBe(boom);
    fault = nodeError('EWEIRD', 'something else');
    await expect(writeFileAtomic(file, '1')).rejects.toBe(fault);
    fault = null;
  });
});
