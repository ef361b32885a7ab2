import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolderMemo } from './local-files.ts';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cityflow-folder-memo-'));
  // Sparse hourly data: 2 of 3 days, 2 of 24 hours each.
  for (const day of ['2025-11-03', '2025-11-04'])
    for (const hour of ['02', '14']) {
      await mkdir(join(root, `api/bikes/dt=${day}/hour=${hour}`), { recursive: true });
      await writeFile(join(root, `api/bikes/dt=${day}/hour=${hour}/bikes.json`), '{}');
    }
  await writeFile(join(root, 'api/bikes/dt=2025-11-06'), 'a file, not a folder');
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('FolderMemo', () => {
  it('reads each parent once and no absent hour folder', () => {
    const reads: string[] = [];
    const memo = new FolderMemo(root, (dir) => {
      reads.push(relative(root, dir) || '.');
      return readdirSync(dir);
    });
    const absent: string[] = [];
    for (const day of ['2025-11-03', '2025-11-04', '2025-11-05'])
      for (let h = 0; h < 24; h++) {
        const hour = `api/bikes/dt=${day}/hour=${String(h).padStart(2, '0')}`;
        if (memo.absent(join(root, hour))) absent.push(hour);
      }
    expect(absent).toHaveLength(72 - 4);
    expect(absent).not.toContain('api/bikes/dt=2025-11-04/hour=14');
    // The day that is not there is known absent from api/bikes: never read.
    expect(reads).toEqual(['.', 'api', 'api/bikes', 'api/bikes/dt=2025-11-03', 'api/bikes/dt=2025-11-04']);
  });

  it('says absent only when sure: other spellings, unreadable parents and paths outside root are not', () => {
    const memo = new FolderMemo(root);
    // Another case of an existing name: a case-insensitive file system holds it.
    expect(memo.absent(join(root, 'api/bikes/DT=2025-11-04'))).toBe(false);
    expect(memo.absent(join(root, 'API'))).toBe(false);
    // Below a file: reading it fails with ENOTDIR, which the listing itself must report.
    expect(memo.absent(join(root, 'api/bikes/dt=2025-11-06/hour=00'))).toBe(false);
    expect(memo.absent(root)).toBe(false);
    expect(memo.absent(join(root, '..', 'elsewhere'))).toBe(false);
    const unreadable = new FolderMemo(root, () => {
      throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    });
    expect(unreadable.absent(join(root, 'api/bikes/dt=2025-11-05'))).toBe(false);
  });
});
