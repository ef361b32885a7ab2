import { mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
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

describe('LocalSourceIO hash cache', () => {
  it('observing many new folders does not rewrite the cache file each time (quadratic); close() writes the rest', async () => {
    const dir = join(root, 'many');
    const hours = 600;
    for (let h = 0; h < hours; h++) {
      await mkdir(join(dir, `api/bikes/dt=2025-01-01/hour=${h}`), { recursive: true });
      await writeFile(join(dir, `api/bikes/dt=2025-01-01/hour=${h}/bikes.json`), `{"n":${h}}`);
    }
    const cacheFile = join(root, 'many-hashes.json');
    // One write per hour at most: only the first observation writes before close().
    const io = new LocalSourceIO({
      dataDir: dir,
      hashCacheFile: cacheFile,
      hashCacheWriteIntervalMs: 3_600_000,
      hashCacheRacyMs: 0, // files written just now are remembered too
    });
    const versions: string[] = [];
    const t0 = performance.now();
    for (let h = 0; h < hours; h++)
      versions.push((await io.observe({ prefix: `api/bikes/dt=2025-01-01/hour=${h}` })).dataVersion);
    const ms = performance.now() - t0;
    const written = (JSON.parse(await readFile(cacheFile, 'utf8')) as { files: object }).files;
    console.log(
      `${hours} new folders observed in ${ms.toFixed(0)} ms; ${Object.keys(written).length} entries written before close`,
    );
    expect(Object.keys(written)).toHaveLength(1);
    await io.close();
    const all = (JSON.parse(await readFile(cacheFile, 'utf8')) as { files: object }).files;
    expect(Object.keys(all)).toHaveLength(hours);
    // A later process trusts the persisted hashes (same stamps): same versions.
    const again = new LocalSourceIO({ dataDir: dir, hashCacheFile: cacheFile, hashCacheRacyMs: 0 });
    for (let h = 0; h < hours; h += 97)
      expect((await again.observe({ prefix: `api/bikes/dt=2025-01-01/hour=${h}` })).dataVersion).toBe(
        versions[h],
      );
  });
});

describe('LocalSourceIO data versions', () => {
  it('change when a file is edited keeping its size and mtime, by another process with its own cache', async () => {
    const dir = join(root, 'same-stamp');
    const folder = join(dir, 'api/bikes/dt=2025-01-01/hour=00');
    await mkdir(folder, { recursive: true });
    const file = join(folder, 'bikes.json');
    await writeFile(file, '{"n":1}');
    const old = new Date(Date.now() - 60_000);
    await utimes(file, old, old);
    const cacheFile = join(root, 'same-stamp-hashes.json');
    const observe = async () => {
      const io = new LocalSourceIO({ dataDir: dir, hashCacheFile: cacheFile });
      const { dataVersion } = await io.observe({ prefix: 'api/bikes/dt=2025-01-01/hour=00' });
      await io.close();
      return dataVersion;
    };
    const first = await observe();
    expect(await observe()).toBe(first);
    await writeFile(file, '{"n":2}'); // same size
    await utimes(file, old, old); // and the mtime put back
    expect(await observe()).not.toBe(first);
  });
});

describe('LocalSourceIO.observeMany', () => {
  it('gives what observe gives for each location, failures included, in order', async () => {
    const dir = join(root, 'batch-observe');
    await mkdir(join(dir, 'api/bikes/dt=2025-11-04/hour=00'), { recursive: true });
    await mkdir(join(dir, 'api/bikes/dt=2025-11-04/hour=01'), { recursive: true });
    await writeFile(join(dir, 'api/bikes/dt=2025-11-04/hour=00/bikes.json'), '{"n":0}');
    await writeFile(join(dir, 'api/bikes/dt=2025-11-04/hour=00/notes.txt'), 'x');
    await writeFile(join(dir, 'api/bikes/dt=2025-11-05'), 'a file where a day folder should be');
    await symlink(join(root, 'elsewhere/dt=2025-11-05'), join(dir, 'api/bikes/dt=2025-11-06'));
    await symlink(join(root, 'gone'), join(dir, 'api/bikes/dt=2025-11-07'));
    await mkdir(join(dir, 'batch'), { recursive: true });
    await writeFile(join(dir, 'batch/comptages.csv'), 'a\n');
    await symlink(join(root, 'moved-away.csv'), join(dir, 'batch/referentiel.csv'));
    const locations = [
      { prefix: 'api/bikes/dt=2025-11-04/hour=00' },
      { prefix: 'api/bikes/dt=2025-11-04/hour=00', match: /\.json$/ },
      { prefix: 'api/bikes/dt=2025-11-04/hour=01' }, // empty folder
      { prefix: 'api/bikes/dt=2025-11-04/hour=02' }, // absent from its day
      { prefix: 'api/bikes/DT=2025-11-04/hour=00' }, // another case: absent on Linux, read on macOS
      { prefix: 'api/bikes/dt=2025-11-05/hour=00' }, // its "day" is a file: an error, as observe says
      { prefix: 'api/bikes/dt=2025-11-06/hour=00' }, // a linked day folder
      { prefix: 'api/bikes/dt=2025-11-07/hour=00' }, // a day linked to nothing
      { prefix: 'api/bikes/dt=2025-12-01/hour=00' }, // a day that is not there
      { prefix: 'api/weather/dt=2025-11-04/hour=00' }, // a source that is not there
      { prefix: 'api/bikes', recursive: true, match: /\.json$/ },
      { prefix: 'batch', match: /^comptages/ },
      { prefix: 'batch', match: /\.csv$/ }, // the dangling link fails this one only
      { prefix: '../outside' }, // refused
    ];
    const one = new LocalSourceIO({ dataDir: dir });
    const expected = await Promise.allSettled(locations.map((l) => one.observe(l)));
    const many = await new LocalSourceIO({ dataDir: dir }).observeMany(locations);
    const shown = (results: PromiseSettledResult<unknown>[]) =>
      results.map((r) => (r.status === 'fulfilled' ? r.value : `rejected: ${(r.reason as Error).message}`));
    expect(shown(many)).toEqual(shown(expected));
    // The cases are what they say: files found, folders absent, errors.
    expect(
      shown(many).map((r) =>
        typeof r === 'string' ? r.slice(0, 9) : (r as { fileCount: number }).fileCount,
      ),
    ).toEqual([2, 1, 0, 0, 0, 'rejected:', 1, 0, 0, 0, 2, 1, 'rejected:', 'rejected:']);
  });

  it('a folder created after an earlier batch read its parent is seen by the next batch', async () => {
    const dir = join(root, 'batch-later');
    await mkdir(join(dir, 'api/bikes/dt=2025-11-04/hour=00'), { recursive: true });
    await writeFile(join(dir, 'api/bikes/dt=2025-11-04/hour=00/bikes.json'), '{}');
    const io = new LocalSourceIO({ dataDir: dir });
    const hours = ['00', '01'].map((h) => ({ prefix: `api/bikes/dt=2025-11-04/hour=${h}` }));
    const counts = async () =>
      (await io.observeMany(hours)).map((r) => (r.status === 'fulfilled' ? r.value.fileCount : -1));
    expect(await counts()).toEqual([1, 0]);
    await mkdir(join(dir, 'api/bikes/dt=2025-11-04/hour=01'));
    await writeFile(join(dir, 'api/bikes/dt=2025-11-04/hour=01/bikes.json'), '{}');
    expect(await counts()).toEqual([1, 1]);
  });
});

describe('LocalSourceIO prefixes', () => {
  it('refuses every prefix that leaves DATA_DIR, and only those', async () => {
    const io = new LocalSourceIO({ dataDir: data });
    for (const prefix of [
      '..',
      '../x',
      'api/../../x',
      'api/bikes/../../../x',
      '/etc',
      join(root, 'elsewhere'),
    ])
      await expect(io.observe({ prefix }), prefix).rejects.toThrow(/escapes DATA_DIR/);
    for (const prefix of ['', '.', 'api/..', 'api/bikes/../bikes', './batch', 'batch/..x', 'a..b'])
      await expect(io.observe({ prefix }), prefix).resolves.toHaveProperty('fileCount');
  });
});
