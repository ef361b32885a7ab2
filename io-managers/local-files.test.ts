import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolderMemo, listFiles } from './local-files.ts';

let root: string;
const hour = (day: string, h: number) => `api/bikes/dt=${day}/hour=${String(h).padStart(2, '0')}`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cityflow-folder-memo-'));
  const file = async (folder: string) => {
    await mkdir(join(root, folder), { recursive: true });
    await writeFile(join(root, folder, 'bikes.json'), '{}');
  };
  // Sparse days: 2 of 24 hours; a dense one: all 24.
  for (const day of ['2025-11-03', '2025-11-04']) for (const h of [2, 14]) await file(hour(day, h));
  for (let h = 0; h < 24; h++) await file(hour('2025-11-01', h));
  await writeFile(join(root, 'api/bikes/dt=2025-11-06'), 'a file, not a folder');
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** Lists every hour of `days` through one memo: the files found, the parents it read, what it knew absent. */
async function listHours(days: string[]) {
  const reads: string[] = [];
  const memo = new FolderMemo(root, (dir) => {
    reads.push(relative(root, dir));
    return readdirSync(dir);
  });
  const known: string[] = [];
  let files = 0;
  for (const day of days)
    for (let h = 0; h < 24; h++) {
      if (memo.absent(join(root, hour(day, h)))) known.push(hour(day, h));
      files += (await listFiles(root, hour(day, h), { folders: memo })).length;
    }
  return { files, reads, known };
}

describe('FolderMemo', () => {
  it('in sparse data, the first absent hour of a day has its day read once: no other absent hour is asked for', async () => {
    const { files, reads, known } = await listHours(['2025-11-03', '2025-11-04', '2025-11-05']);
    expect(files).toBe(4);
    expect(reads).toEqual(['api/bikes/dt=2025-11-03', 'api/bikes/dt=2025-11-04', 'api/bikes/dt=2025-11-05']);
    // 72 hours: 4 with data, the first absent hour of each day found by its own listing, the rest known.
    expect(known).toHaveLength(72 - 4 - 3);
    expect(known).not.toContain(hour('2025-11-04', 14));
  });

  it('with every folder there, reads nothing more', async () => {
    const { files, reads, known } = await listHours(['2025-11-01']);
    expect([files, reads, known]).toEqual([24, [], []]);
  });

  it('says absent only when sure: other spellings, unreadable parents and paths outside root are not', () => {
    const memo = new FolderMemo(root);
    memo.missing(join(root, 'api/bikes/dt=2025-11-04/hour=05')); // api/bikes/dt=2025-11-04 is read next
    expect(memo.absent(join(root, 'api/bikes/dt=2025-11-04/hour=06'))).toBe(true);
    expect(memo.absent(join(root, 'api/bikes/dt=2025-11-04/hour=05/sub'))).toBe(true);
    // Another case of an existing name: a case-insensitive file system holds it.
    expect(memo.absent(join(root, 'api/bikes/dt=2025-11-04/HOUR=02'))).toBe(false);
    // Below a file: listing it fails with ENOTDIR, which the listing itself must report.
    memo.missing(join(root, 'api/bikes/dt=2025-11-06/hour=00'));
    expect(memo.absent(join(root, 'api/bikes/dt=2025-11-06/hour=01'))).toBe(false);
    memo.missing(join(root, '..', 'elsewhere', 'x'));
    expect(memo.absent(join(root, '..', 'elsewhere', 'y'))).toBe(false);
    expect(memo.absent(root)).toBe(false);
    const unreadable = new FolderMemo(root, () => {
      throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    });
    unreadable.missing(join(root, 'api/bikes/dt=2025-11-04/hour=05'));
    expect(unreadable.absent(join(root, 'api/bikes/dt=2025-11-04/hour=06'))).toBe(false);
  });
});
