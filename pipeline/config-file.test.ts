import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigFileError, findConfig } from './config-file.ts';

let root: string;
const touch = async (path: string) => {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, 'export default {};\n');
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cityflow-find-config-'));
  await touch(join(root, 'project/cityflow.config.mts'));
  await touch(join(root, 'project/cityflow.config.js')); // .mts is tried first
  await mkdir(join(root, 'project/src/deep'), { recursive: true });
  await touch(join(root, 'other/custom.config.ts'));
  await touch(join(root, 'package/cityflow.config.ts'));
  await mkdir(join(root, 'empty'), { recursive: true });
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('findConfig', () => {
  it('walks up from the current directory; .ts, .mts, .js, .mjs in that order', () => {
    expect(findConfig({ cwd: join(root, 'project/src/deep') })).toEqual({
      file: join(root, 'project/cityflow.config.mts'),
      from: 'current directory',
    });
  });

  it('--config wins over CITYFLOW_CONFIG, which wins over the folders; relative to the current directory', () => {
    const env = { CITYFLOW_CONFIG: join(root, 'other/custom.config.ts') };
    const cwd = join(root, 'project');
    expect(findConfig({ cwd, env, flag: '../other/custom.config.ts' })).toEqual({
      file: join(root, 'other/custom.config.ts'),
      from: '--config',
    });
    expect(findConfig({ cwd, env })).toEqual({ file: env.CITYFLOW_CONFIG, from: 'CITYFLOW_CONFIG' });
    expect(findConfig({ cwd, env: { CITYFLOW_CONFIG: ' ' } }).from).toBe('current directory');
  });

  it('a folder given is searched for a config file', () => {
    expect(findConfig({ cwd: root, flag: 'project' }).file).toBe(join(root, 'project/cityflow.config.mts'));
    expect(() => findConfig({ cwd: root, flag: 'empty' })).toThrow(
      /^--config empty: no cityflow\.config\.ts, cityflow\.config\.mts, .* in that folder/,
    );
  });

  it("falls back to the CLI package's own config, else says what to do", () => {
    const cwd = join(root, 'empty');
    expect(findConfig({ cwd, packageRoot: join(root, 'package') })).toEqual({
      file: join(root, 'package/cityflow.config.ts'),
      from: 'CityFlow package',
    });
    expect(() => findConfig({ cwd, packageRoot: join(root, 'empty') })).toThrow(ConfigFileError);
    expect(() => findConfig({ cwd, env: { CITYFLOW_CONFIG: 'nope.ts' } })).toThrow(
      `CITYFLOW_CONFIG nope.ts: no such file (${join(cwd, 'nope.ts')})`,
    );
  });
});
