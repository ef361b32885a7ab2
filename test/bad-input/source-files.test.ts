/**
 * Issue 12: raw files that used to vanish or fail the wrong assets. A folder named like a data file is
 * listed (its reader then fails naming it) instead of being ignored; a dangling link fails only the
 * sources whose pattern it matches.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseBikesFile } from '../../assets/bikes/parse.ts';
import { rawChantiers, rawComptages, rawReferentiel } from '../../assets/sources.ts';
import { LocalSourceIO } from '../../io-managers/local-source.ts';
import { collector } from './helpers.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cityflow-source-files-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const locations = {
  comptages: rawComptages.locate!(''),
  chantiers: rawChantiers.locate!(''),
  referentiel: rawReferentiel.locate!(''),
};

describe('a folder where a data file should be', () => {
  it('is listed under its key and its reader fails naming it (was: ignored, exit 0 on less data)', async () => {
    const hour = 'api/bikes/dt=2021-09-01/hour=14';
    await mkdir(join(root, hour, 'bikes_data.json'), { recursive: true });
    await writeFile(join(root, hour, 'other.json'), '[]');
    const io = new LocalSourceIO({ dataDir: root });
    const set = await io.resolve({ prefix: hour, match: /\.(json|jsonl|csv)$/i });
    expect(set.files.map((f) => f.key)).toEqual([`${hour}/bikes_data.json`, `${hour}/other.json`]);
    const c = collector();
    await expect(parseBikesFile(set.files[0]!, c.reject)).rejects.toThrow(
      `cannot read ${hour}/bikes_data.json: EISDIR`,
    );
  });

  it('in batch/ (walked recursively) too: batch/comptages-2024.csv/ is listed as the comptages file', async () => {
    await mkdir(join(root, 'batch', 'comptages-2024.csv'), { recursive: true });
    await writeFile(join(root, 'batch', 'chantiers.csv'), 'x');
    const io = new LocalSourceIO({ dataDir: root });
    expect((await io.resolve(locations.comptages)).files.map((f) => f.key)).toEqual([
      'batch/comptages-2024.csv',
    ]);
    expect((await io.resolve(locations.chantiers)).files.map((f) => f.key)).toEqual(['batch/chantiers.csv']);
  });
});

describe('a dangling symbolic link', () => {
  it('README.txt → missing: no batch source fails (was: all three)', async () => {
    await mkdir(join(root, 'batch'), { recursive: true });
    for (const n of ['comptages.csv', 'chantiers.csv', 'referentiel.csv'])
      await writeFile(join(root, 'batch', n), 'x');
    await symlink(join(root, 'nowhere.txt'), join(root, 'batch', 'README.txt'));
    const io = new LocalSourceIO({ dataDir: root });
    for (const loc of Object.values(locations)) expect((await io.resolve(loc)).files).toHaveLength(1);
  });

  it('comptages-2024.csv → missing: only the comptages source fails, naming the link', async () => {
    await mkdir(join(root, 'batch'), { recursive: true });
    for (const n of ['chantiers.csv', 'referentiel.csv']) await writeFile(join(root, 'batch', n), 'x');
    await symlink(join(root, 'gone.csv'), join(root, 'batch', 'comptages-2024.csv'));
    const io = new LocalSourceIO({ dataDir: root });
    await expect(io.resolve(locations.comptages)).rejects.toThrow(
      /batch\/comptages-2024\.csv is a symbolic link to a missing file or folder \(ENOENT\)/,
    );
    await expect(io.observe(locations.comptages)).rejects.toThrow(/comptages-2024\.csv is a symbolic link/);
    expect((await io.resolve(locations.chantiers)).files).toHaveLength(1);
    expect((await io.resolve(locations.referentiel)).files).toHaveLength(1);
  });
});
