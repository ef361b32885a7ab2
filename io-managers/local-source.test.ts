import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalSourceIO } from './local-source.ts';

let root: string;
let data: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cityflow-local-source-'));
  data = join(root, 'data');
  // Elsewhere on disk: a big export and a day folder, linked into DATA_DIR as users do.
  await mkdir(join(root, 'elsewhere/dt=2025-11-05/hour=00'), { recursive: true });
  await writeFile(join(root, 'elsewhere/export.csv'), 'a;b\n1;2\n');
  await writeFile(join(root, 'elsewhere/dt=2025-11-05/hour=00/bikes.json'), '{"results":[]}');
  await mkdir(join(data, 'batch'), { recursive: true });
  await mkdir(join(data, 'api/bikes/dt=2025-11-04/hour=00'), { recursive: true });
  await writeFile(join(data, 'batch/local.csv'), 'x\n');
  await writeFile(join(data, 'api/bikes/dt=2025-11-04/hour=00/bikes.json'), '{}');
  await symlink(join(root, 'elsewhere/export.csv'), join(data, 'batch/linked.csv'));
  await symlink(join(root, 'elsewhere/dt=2025-11-05'), join(data, 'api/bikes/dt=2025-11-05'));
  // A link back up the tree: walking must not loop.
  await symlink(join(data, 'api'), join(data, 'api/bikes/dt=2025-11-04/hour=00/loop'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('LocalSourceIO and symbolic links', () => {
  it('reads a file linked into DATA_DIR like a copied one (it used to be ignored)', async () => {
    const io = new LocalSourceIO({ dataDir: data });
    const set = await io.resolve({ prefix: 'batch', match: /\.csv$/ });
    expect(set.files.map((f) => [f.key, f.size])).toEqual([
      ['batch/linked.csv', 8], // 'a;b\n1;2\n'
      ['batch/local.csv', 2],
    ]);
    expect((await io.observe({ prefix: 'batch', match: /\.csv$/ })).fileCount).toBe(2);
  });

  it('lists and walks a linked day folder, and walks a linked loop only once', async () => {
    const io = new LocalSourceIO({ dataDir: data });
    expect(await io.listFolders('api/bikes')).toEqual(['dt=2025-11-04', 'dt=2025-11-05']);
    const set = await io.resolve({ prefix: 'api/bikes', recursive: true, match: /\.json$/ });
    const keys = set.files.map((f) => f.key);
    expect(keys).toContain('api/bikes/dt=2025-11-05/hour=00/bikes.json');
    expect(keys).toContain('api/bikes/dt=2025-11-04/hour=00/bikes.json');
    expect(keys).toHaveLength(2); // the loop back to api/ adds nothing
  });

  it('a link to a missing file is an error naming it, not a silently absent input', async () => {
    const dir = join(root, 'dangling');
    await mkdir(join(dir, 'batch'), { recursive: true });
    await symlink(join(root, 'moved-away.csv'), join(dir, 'batch/comptages.csv'));
    const io = new LocalSourceIO({ dataDir: dir });
    await expect(io.observe({ prefix: 'batch' })).rejects.toThrow(
      /batch\/comptages\.csv is a symbolic link to a missing file or folder \(ENOENT\)/,
    );
  });
});
