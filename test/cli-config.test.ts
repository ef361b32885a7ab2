/**
 * The project config through the real `pipeline` command: found from the current directory upwards,
 * given with --config or CITYFLOW_CONFIG, and every mistake in it one message naming the file and line
 * (exit 2, no stack trace): syntax errors, imports that fail, definitions that throw or do not validate.
 */
import { execFile } from 'node:child_process';
import {
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '..', 'pipeline', 'bin.mjs');
let root: string;

/** A project folder under root with these files (paths relative to it). */
async function project(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(root, name);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

async function pipeline(
  cwd: string,
  args: string[],
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH, HOME: root, CI: 'true', ...extraEnv };
  try {
    const r = await promisify(execFile)(process.execPath, [BIN, ...args], { cwd, env });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const HEAD =
  "import { z } from 'zod';\nimport { defineAsset } from 'cityflow';\nimport { defineConfig } from 'cityflow/config';\n";
const ASSET = (key: string, extra = '') =>
  `defineAsset({ key: '${key}', schema: z.number(), compute: () => 1${extra} })`;

/** The first file named `name` under `dir` (a config build's compiled module). */
async function findFile(dir: string, name: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true });
  const hit = entries.find((e) => e === name || e.endsWith(`/${name}`));
  if (!hit) throw new Error(`no ${name} under ${dir}`);
  return join(dir, hit);
}

/** Exit 2 and exactly one stderr line starting with `pipeline: <where>: `, no stack frame. */
function expectConfigError(r: { code: number; stderr: string }, where: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(new RegExp(`^pipeline: ${where.source}: `));
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cityflow-config-'));
  // Packages of the test projects resolve from here (CityFlow itself is linked to the running CLI).
  await mkdir(join(root, 'node_modules'));
  await symlink(join(import.meta.dirname, '..', 'node_modules', 'zod'), join(root, 'node_modules', 'zod'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('pipeline with a project config', () => {
  it('finds cityflow.config.ts upwards, or takes --config / CITYFLOW_CONFIG', async () => {
    const dir = await project('ok', {
      'cityflow.config.ts': `${HEAD}const one = ${ASSET('one')};\nexport default defineConfig({ assets: [one] });\n`,
      'other.config.ts': `${HEAD}export default defineConfig(() => ({ assets: [${ASSET('two')}] }));\n`,
      'sub/deeper/.keep': '',
    });
    const keys = (r: { stdout: string }) => (JSON.parse(r.stdout) as { key: string }[]).map((a) => a.key);
    expect(keys(await pipeline(join(dir, 'sub/deeper'), ['list', '--json']))).toEqual(['one']);
    expect(keys(await pipeline(root, ['--config', join(dir, 'other.config.ts'), 'list', '--json']))).toEqual([
      'two',
    ]);
    expect(keys(await pipeline(dir, ['list', '--json', '--config', 'other.config.ts']))).toEqual(['two']);
    expect(
      keys(await pipeline(root, ['list', '--json'], { CITYFLOW_CONFIG: join(dir, 'other.config.ts') })),
    ).toEqual(['two']);
    const env = await pipeline(dir, ['env']);
    expect(env.stdout).toContain(`CITYFLOW_CONFIG=${join(dir, 'cityflow.config.ts')} (current directory)`);
  });

  it('relative DATA_DIR, OUTPUT_DIR, STATE_DIR and .env belong to the project folder, wherever the command runs', async () => {
    const dir = await project('relative', {
      'cityflow.config.ts': `${HEAD}const one = ${ASSET('one')};\nexport default defineConfig({ assets: [one] });\n`,
      '.env': 'OUTPUT_DIR=./results\n',
      'data/raw.txt': 'x\n',
      'sub/deeper/.keep': '',
    });
    const r = await pipeline(join(dir, 'sub/deeper'), ['materialize', '--all', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(dir, 'results/one/all.json'), 'utf8'))).toBe(1);
    expect((await readdir(join(dir, '.cityflow/index'))).sort()).toEqual(['one.json']);
    expect(await readdir(join(dir, 'sub/deeper'))).toEqual(['.keep']);
  });

  it('marks its config build in use at each start; builds unused for an hour beyond the last three go', async () => {
    const dir = await project('prune', {
      'cityflow.config.ts': `${HEAD}export default defineConfig({ assets: [${ASSET('p')}] });\n`,
    });
    const cache = join(dir, 'node_modules/.cache/cityflow');
    const configBuilds = async () => (await readdir(cache)).filter((n) => /^[0-9a-f]{16}$/.test(n)).sort();
    expect((await pipeline(dir, ['list'])).code).toBe(0);
    const [first] = await configBuilds();
    const hoursAgo = (h: number): Date => new Date(Date.now() - h * 3600_000);
    await utimes(join(cache, first!), hoursAgo(9), hoursAgo(9));
    expect((await pipeline(dir, ['list'])).code).toBe(0); // reused, and marked in use
    expect(Date.now() - (await stat(join(cache, first!))).mtimeMs).toBeLessThan(3600_000);
    for (const h of [2, 3, 4, 5]) {
      const other = join(cache, `c00000000000000${h}`);
      await mkdir(other);
      await writeFile(join(other, '.cityflow-config-build'), 'x\n');
      await utimes(other, hoursAgo(h), hoursAgo(h));
    }
    await writeFile(
      join(dir, 'cityflow.config.ts'),
      `${HEAD}export default defineConfig({ assets: [${ASSET('p', ' + 1')}] });\n`,
    );
    expect((await pipeline(dir, ['list'])).code).toBe(0);
    const after = await configBuilds();
    // The new build, and the three last used: the first one (just used), 2 h and 3 h.
    expect(after).toHaveLength(4);
    expect(after).toEqual(expect.arrayContaining([first!, 'c000000000000002', 'c000000000000003']));
  });

  it('a JSON file a config module imports is built in, and editing it re-runs what reads it', async () => {
    const dir = await project('json', {
      'cityflow.config.ts':
        `${HEAD}import settings from './settings.json' with { type: 'json' };\n` +
        `const t = defineAsset({ key: 't', schema: z.number(), compute: () => settings.threshold });\n` +
        `export default defineConfig({ assets: [t] });\n`,
      'settings.json': '{ "threshold": 7 }\n',
      'data/raw.txt': 'x\n',
    });
    const run = async () =>
      JSON.parse((await pipeline(dir, ['materialize', '--all', '--json'])).stdout.trim().split('\n').at(-1)!);
    const value = async () => JSON.parse(await readFile(join(dir, 'output/t/all.json'), 'utf8')) as number;
    expect(await run()).toMatchObject({ materialized: 1 });
    expect(await value()).toBe(7);
    await writeFile(join(dir, 'settings.json'), '{ "threshold": 9 }\n');
    expect(await run()).toMatchObject({ materialized: 1 });
    expect(await value()).toBe(9);
    expect(await run()).toMatchObject({ materialized: 0 });
  });

  it("a file read beside a module (new URL('./x', import.meta.url)) is found from the build", async () => {
    const dir = await project('beside', {
      'cityflow.config.ts': `${HEAD}import { n } from './src/n.ts';\nexport default defineConfig({ assets: [n] });\n`,
      'src/n.ts':
        `${HEAD}import { readFileSync } from 'node:fs';\n` +
        `const lines = () => readFileSync(new URL('./stations.csv', import.meta.url), 'utf8').trim().split('\\n');\n` +
        `export const n = defineAsset({ key: 'n', schema: z.number(), compute: () => lines().length });\n`,
      'src/stations.csv': '4001\n4002\n4003\n',
      'data/raw.txt': 'x\n',
    });
    const r = await pipeline(dir, ['materialize', '--all']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(dir, 'output/n/all.json'), 'utf8'))).toBe(3);
  });

  it('a worker module named by new URL(…, import.meta.url) is compiled with the build and runs', async () => {
    const dir = await project('worker', {
      'cityflow.config.ts':
        `${HEAD}import { fromWorker } from './src/asset.ts';\n` +
        `export default defineConfig({ assets: [${ASSET('doubled', '').replace('() => 1', 'fromWorker')}] });\n`,
      'src/asset.ts':
        "import { Worker } from 'node:worker_threads';\n" +
        "const url = import.meta.url.endsWith('.js') ? new URL('./double.js', import.meta.url) : new URL('./double.ts', import.meta.url);\n" +
        'export const fromWorker = () => new Promise<number>((ok, fail) => {\n' +
        '  const w = new Worker(url, { workerData: 21 });\n' +
        "  w.once('message', ok);\n  w.once('error', fail);\n});\n",
      'src/double.ts':
        "import { parentPort, workerData } from 'node:worker_threads';\nimport { twice } from './twice.ts';\n" +
        'parentPort!.postMessage(twice(workerData as number));\n',
      'src/twice.ts': 'export const twice = (n: number): number => n * 2;\n',
      'data/raw.txt': 'x\n',
    });
    const r = await pipeline(dir, ['materialize', '--all', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(dir, 'output/doubled/all.json'), 'utf8'))).toBe(42);
  });

  it("zod and apache-arrow the project imports are the CLI's bundled copies, not second copies", async () => {
    const dir = await project('bundled', {
      'cityflow.config.ts': `${HEAD}import { counts } from './src/counts.ts';\nexport default defineConfig({ assets: [counts] });\n`,
      'src/counts.ts':
        "import { tableFromArrays, Int32 } from 'apache-arrow';\nimport { defineAsset, tableSchema } from 'cityflow';\n" +
        "export const counts = defineAsset({ key: 'counts', schema: tableSchema({ n: new Int32() }),\n" +
        '  compute: () => tableFromArrays({ n: Int32Array.from([1, 2, 3]) }) });\n',
      'data/raw.txt': 'x\n',
    });
    await mkdir(join(dir, 'node_modules'));
    await symlink(
      join(import.meta.dirname, '..', 'node_modules', 'apache-arrow'),
      join(dir, 'node_modules', 'apache-arrow'),
    );
    // The run works with either copy (Arrow's classes recognise each other's instances); the link is
    // what keeps a second copy from loading.
    const r = await pipeline(dir, ['materialize', '--all', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toMatchObject({ materialized: 1 });
    const compiled = await readFile(
      await findFile(join(dir, 'node_modules/.cache/cityflow'), 'counts.js'),
      'utf8',
    );
    expect(compiled).toMatch(/from "file:[^"]*\/vendor\/apache-arrow\.js"/);
  });

  it('a project with its own installed copy of zod keeps it (bare import), and runs', async () => {
    const dir = await project('own-zod', {
      'cityflow.config.ts': `${HEAD}const one = ${ASSET('one')};\nexport default defineConfig({ assets: [one] });\n`,
      'data/raw.txt': 'x\n',
    });
    await cp(join(import.meta.dirname, '..', 'node_modules', 'zod'), join(dir, 'node_modules', 'zod'), {
      recursive: true,
    });
    const r = await pipeline(dir, ['materialize', '--all', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const compiled = await readFile(
      await findFile(join(dir, 'node_modules/.cache/cityflow'), 'cityflow.config.js'),
      'utf8',
    );
    expect(compiled).toMatch(/from "zod"/);
    expect(compiled).not.toMatch(/vendor\/zod\.js/);
  });

  it('a syntax error: file, line, column and the line itself', async () => {
    const dir = await project('syntax', {
      'cityflow.config.ts': `${HEAD}export default defineConfig({ assets: [ });\n`,
    });
    const r = await pipeline(dir, ['list']);
    expectConfigError(r, /cityflow\.config\.ts:4:\d+/);
    expect(r.stderr).toContain('4 | export default defineConfig({ assets: [ });');
  });

  it('a syntax error in an imported module names that module', async () => {
    const dir = await project('syntax-deep', {
      'cityflow.config.ts': `${HEAD}import { a } from './src/a.ts';\nexport default defineConfig({ assets: [a] });\n`,
      'src/a.ts': `${HEAD}\nexport const a = ${ASSET('a')}\nconst = 2;\n`,
    });
    expectConfigError(await pipeline(dir, ['plan', '--all']), /src\/a\.ts:6:\d+/);
  });

  it('an import that fails: the importing file and the line of the import', async () => {
    const dir = await project('import', {
      'cityflow.config.ts': `${HEAD}import { pad } from 'no-such-package-here';\nexport default defineConfig({ assets: [] , x: pad });\n`,
    });
    const r = await pipeline(dir, ['list']);
    expectConfigError(r, /cityflow\.config\.ts:4/);
    expect(r.stderr).toContain("Cannot find package 'no-such-package-here'");
    expect(r.stderr).not.toContain('node_modules/.cache'); // named by its source, not the compiled copy
  });

  it('a definition that throws while the modules load: its own file and line', async () => {
    const dir = await project('throws', {
      'cityflow.config.ts': `${HEAD}import { bad } from './src/bad.ts';\nexport default defineConfig({ assets: [bad] });\n`,
      'src/bad.ts': `${HEAD}\n// an invalid key\nexport const bad = ${ASSET('Bad-Key')};\n`,
    });
    const r = await pipeline(dir, ['materialize', '--all']);
    expectConfigError(r, /src\/bad\.ts:6:\d+/);
    expect(r.stderr).toContain('Invalid asset key "Bad-Key"');
  });

  it('definitions that do not validate: located at the asset or the binding they name', async () => {
    const dir = await project('invalid', {
      'cityflow.config.ts':
        `${HEAD}// a is not in the assets\n` +
        `const a = ${ASSET('a')};\n` +
        `const b = defineAsset({ key: 'b', schema: z.number(), deps: { a }, compute: ({ a }) => a });\n` +
        `export default defineConfig({ assets: [b] });\n`,
      'io.config.ts': `${HEAD}\nconst m = ${ASSET('m', ", io: 'metrcs'")};\nexport default defineConfig({ assets: [m] });\n`,
      'shape.config.ts': `${HEAD}export default defineConfig({ assets: [{ key: 'x' }] as never });\n`,
      'none.config.ts': `${HEAD}export const assets = [];\n`,
      'fn.config.ts': `${HEAD}export default defineConfig(() => {\n  throw new Error('DATA_URL is not set');\n});\n`,
    });
    const unknown = await pipeline(dir, ['list']);
    expectConfigError(unknown, /cityflow\.config\.ts:6/);
    expect(unknown.stderr).toContain('Asset "b" depends on unknown asset "a"');

    const io = await pipeline(dir, ['--config', 'io.config.ts', 'list']);
    expectConfigError(io, /io\.config\.ts:\d+/);
    expect(io.stderr).toContain(
      `asset "m" is stored with io: 'metrcs', but the configuration has no IO manager`,
    );

    const shape = await pipeline(dir, ['--config', 'shape.config.ts', 'list']);
    expectConfigError(shape, /shape\.config\.ts:4/);
    expect(shape.stderr).toContain('assets[0] is not an asset or a source');

    const none = await pipeline(dir, ['--config', 'none.config.ts', 'list']);
    expectConfigError(none, /none\.config\.ts:1/);
    expect(none.stderr).toContain("the configuration must be the module's default export");

    const fn = await pipeline(dir, ['--config', 'fn.config.ts', 'list']);
    expectConfigError(fn, /fn\.config\.ts:5:\d+/);
    expect(fn.stderr).toContain('DATA_URL is not set');
  });

  it('--config naming nothing: exit 2', async () => {
    const r = await pipeline(root, ['--config', 'nope.config.ts', 'list']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `pipeline: --config nope.config.ts: no such file (${join(root, 'nope.config.ts')})\n`,
    );
  });
});
