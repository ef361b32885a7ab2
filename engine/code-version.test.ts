/**
 * Module-level code versions on a real project written to a temp dir (modules are analysed, never run):
 * what an edit changes, what it does not, packages, the per-content cache, and the recorded manifests.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defineAsset } from './asset.ts';
import { codeChanges, codeManifestPath, loadCodeManifest, saveCodeManifest } from './code-manifest.ts';
import { CodeVersions, captureDefiningModule, packageNameOf, sourcePathOf } from './code-version.ts';

let root: string;

const FILES: Record<string, string> = {
  'package.json': '{ "name": "tmp-project", "version": "1.0.0" }\n',
  'package-lock.json': JSON.stringify({
    packages: {
      '': { name: 'tmp-project' },
      'node_modules/zod': { version: '4.6.7' },
      'node_modules/@scope/tool': { version: '2.0.0' },
    },
  }),
  // The framework of this temp project (never counted).
  'engine/index.ts': 'export const defineAsset = (d: unknown) => d;\n',
  'a/asset.ts': `import { defineAsset } from '../engine/index.ts';
import { z } from 'zod';
import { readFileSync } from 'node:fs';
import { double } from './helper.ts';
import type { Shape } from './types.ts';

const DATA = new URL('./data.json', import.meta.url);
const WORKER = new URL('./worker.js', import.meta.url);

export const a = defineAsset({
  key: 'a',
  schema: z.number(),
  compute: async (): Promise<number> => {
    const { later } = await import('./lazy.ts');
    const shape: Shape = JSON.parse(readFileSync(DATA, 'utf8'));
    return double(shape.n) + later + WORKER.href.length;
  },
});
`,
  'a/helper.ts': `import { clamp } from '../shared/util.ts';

/** Twice the value, clamped. */
export function double(x: number): number {
  return clamp(x * 2);
}
`,
  'a/helper.test.ts': `import { double } from './helper.ts';\nif (double(1) !== 2) throw new Error('x');\n`,
  'a/types.ts': 'export interface Shape { n: number }\n',
  'a/lazy.ts': 'export const later = 1;\n',
  'a/worker.ts': "import { tool } from '@scope/tool/sub';\nexport const work = () => tool();\n",
  'a/data.json': '{ "n": 2 }\n',
  'b/asset.ts': `import { defineAsset } from '../engine/index.ts';
import { a } from '../a/asset.ts';
import { triple } from './helper.ts';

export const b = defineAsset({ key: 'b', deps: { a }, compute: ({ a }: { a: number }) => triple(a) });
`,
  'b/helper.ts':
    "import { clamp } from '../shared/util.ts';\nexport const triple = (x: number) => clamp(x * 3);\n",
  'shared/util.ts': 'export const clamp = (x: number) => Math.min(x, 100);\n',
  'unreached.ts': 'export const nobody = 1;\n',
};

const A = (): string => join(root, 'a/asset.ts');
const B = (): string => join(root, 'b/asset.ts');

/** A fresh computation (as a new process would do) over the temp project. */
const versions = (cache = false): CodeVersions =>
  new CodeVersions({
    frameworkDir: join(root, 'engine'),
    definingModules: new Set([A(), B()]),
    cache,
  });
const both = (): { a: string; b: string } => {
  const cv = versions();
  return { a: cv.of(A()).version, b: cv.of(B()).version };
};

async function edit(path: string, change: (text: string) => string): Promise<void> {
  const file = join(root, path);
  const before = await readFile(file, 'utf8');
  const after = change(before);
  expect(after).not.toBe(before);
  await writeFile(file, after);
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cityflow-codeversion-'));
  for (const [path, text] of Object.entries(FILES)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('module-level code versions', () => {
  it('cover the defining module, the project modules it reaches and their packages', () => {
    const { version, manifest } = versions().of(A());
    expect(version).toMatch(/^mod:[0-9a-f]{16}$/);
    expect(Object.keys(manifest.files)).toEqual([
      'a/asset.ts',
      'a/data.json', // new URL('./data.json', import.meta.url)
      'a/helper.ts',
      'a/lazy.ts', // import('./lazy.ts')
      'a/worker.ts', // new URL('./worker.js', import.meta.url): the .ts source
      'shared/util.ts',
    ]);
    // Type-only imports, the framework, tests and unreached modules are not part of it; node: builtins neither.
    expect(manifest.packages).toEqual({ '@scope/tool': '2.0.0', zod: '4.6.7' });
    // Another asset's module is a boundary: its code reaches b through a's data version.
    expect(Object.keys(versions().of(B()).manifest.files)).toEqual([
      'b/asset.ts',
      'b/helper.ts',
      'shared/util.ts',
    ]);
    expect(versions().of(B()).manifest.packages).toEqual({});
  });

  it('a helper edit changes exactly the assets that reach it', async () => {
    const v0 = both();
    await edit('a/helper.ts', (t) => t.replace('x * 2', 'x * 2 + 1'));
    const v1 = both();
    expect(v1.a).not.toBe(v0.a);
    expect(v1.b).toBe(v0.b);
    await edit('b/helper.ts', (t) => t.replace('x * 3', 'x * 4'));
    const v2 = both();
    expect(v2).toEqual({ a: v1.a, b: expect.not.stringMatching(v1.b) });
    await edit('shared/util.ts', (t) => t.replace('100', '99'));
    const v3 = both();
    expect(v3.a).not.toBe(v2.a);
    expect(v3.b).not.toBe(v2.b);
    // Data files, dynamic imports and workers count too.
    for (const [path, change] of [
      ['a/data.json', (t: string) => t.replace('2', '3')],
      ['a/lazy.ts', (t: string) => t.replace('1', '2')],
      ['a/worker.ts', (t: string) => t.replace('tool()', 'tool() + 1')],
    ] as const) {
      const before = both();
      await edit(path, change);
      expect(both()).toEqual({ a: expect.not.stringMatching(before.a), b: before.b });
    }
  });

  it('comments, formatting, types, tests, unreached modules and the framework change nothing', async () => {
    const v0 = both();
    await edit('a/helper.ts', (t) =>
      t.replace('/** Twice the value, clamped. */', '// Doubled.\n/* then clamped */'),
    );
    await edit('a/helper.ts', (t) =>
      t.replace('return clamp(x * 2);', 'return clamp(\n    x   *   2\n  ) ;'),
    );
    await edit('a/helper.ts', (t) =>
      t.replace('(x: number): number', '(x: number | bigint & number): number'),
    );
    await edit(
      'a/helper.ts',
      (t) => `${t}\nexport interface Unused { y: string }\nexport type Id = string;\n`,
    );
    await edit('a/types.ts', (t) => t.replace('n: number', 'n: number; m?: string'));
    await edit('a/asset.ts', (t) =>
      t.replace("import type { Shape } from './types.ts';", "import { type Shape } from './types.ts';"),
    );
    await edit('a/helper.test.ts', (t) => t.replace('2', '3'));
    await edit('unreached.ts', (t) => t.replace('1', '2'));
    await edit('engine/index.ts', (t) => t.replace('d;', '({ d });'));
    expect(both()).toEqual(v0);
  });

  it('a package version change in the lockfile changes the version, and codeChanges names it', async () => {
    const stateDir = join(root, '.cityflow');
    const before = versions().of(A());
    await saveCodeManifest(stateDir, before.version, before.manifest);
    const b0 = both().b;
    await edit('package-lock.json', (t) => t.replace('4.6.7', '4.7.0'));
    const after = versions().of(A());
    expect(after.version).not.toBe(before.version);
    expect(both().b).toBe(b0); // b imports no package
    expect(
      codeChanges(stateDir, { codeVersion: after.version, codeManifest: after.manifest }, before.version),
    ).toEqual(['zod 4.6.7 → 4.7.0']);
  });

  it('falls back to node_modules/<name>/package.json when the lockfile does not list a package', async () => {
    await edit('package-lock.json', () => '{}');
    await mkdir(join(root, 'node_modules/zod'), { recursive: true });
    await writeFile(join(root, 'node_modules/zod/package.json'), '{ "name": "zod", "version": "4.9.9" }');
    expect(versions().of(A()).manifest.packages).toEqual({ '@scope/tool': 'unknown', zod: '4.9.9' });
  });

  it('codeChanges lists changed, added and removed files; undefined when nothing was recorded', async () => {
    const stateDir = join(root, '.cityflow');
    const v0 = versions().of(A());
    await saveCodeManifest(stateDir, v0.version, v0.manifest);
    expect(existsSync(codeManifestPath(stateDir, v0.version))).toBe(true);
    expect(codeManifestPath(stateDir, v0.version)).toMatch(/code[\\/]mod-[0-9a-f]{16}\.json$/);
    expect(loadCodeManifest(stateDir, v0.version)).toEqual(v0.manifest);

    await edit('a/helper.ts', (t) => t.replace('x * 2', 'x * 5'));
    await writeFile(join(root, 'a/new-helper.ts'), 'export const extra = 1;\n');
    await edit('a/asset.ts', (t) =>
      t
        .replace(
          "import { double } from './helper.ts';",
          "import { double } from './helper.ts';\nimport { extra } from './new-helper.ts';",
        )
        .replace("await import('./lazy.ts')", 'await Promise.resolve({ later: extra })'),
    );
    const v1 = versions().of(A());
    const asset = { codeVersion: v1.version, codeManifest: v1.manifest };
    expect(codeChanges(stateDir, asset, v0.version)).toEqual([
      'a/asset.ts',
      'a/helper.ts',
      '-a/lazy.ts',
      '+a/new-helper.ts',
    ]);
    expect(codeChanges(stateDir, asset, v1.version)).toEqual([]);
    expect(codeChanges(stateDir, asset, 'mod:0000000000000000')).toBeUndefined(); // never recorded
    expect(codeChanges(stateDir, asset, undefined)).toBeUndefined();
    expect(codeChanges(stateDir, { codeVersion: 'v2' }, v0.version)).toBeUndefined(); // explicit version

    // A damaged manifest is not trusted; saving again keeps an existing file as it is.
    await writeFile(codeManifestPath(stateDir, v1.version), '{"files":{},"packages":{}}');
    expect(loadCodeManifest(stateDir, v1.version)).toBeUndefined();
    await saveCodeManifest(stateDir, v0.version, v1.manifest);
    expect(JSON.parse(readFileSync(codeManifestPath(stateDir, v0.version), 'utf8'))).toEqual(v0.manifest);
  });

  it('a missing import is recorded, and creating the file changes the version', async () => {
    await edit('a/asset.ts', (t) => `import './later.ts';\n${t}`);
    const v0 = versions().of(A());
    expect(v0.manifest.files['a/later.ts']).toBe('missing');
    await writeFile(join(root, 'a/later.ts'), 'export {};\n');
    expect(versions().of(A()).version).not.toBe(v0.version);
  });

  it('a file esbuild cannot parse counts by its bytes', async () => {
    await edit('a/asset.ts', (t) => `const RAW = new URL('./raw.js', import.meta.url);\n${t}`);
    await writeFile(join(root, 'a/raw.js'), 'not { javascript\n');
    const v0 = versions().of(A());
    expect(v0.manifest.files['a/raw.js']).toMatch(/^[0-9a-f]{16}$/);
    await writeFile(join(root, 'a/raw.js'), 'not { javascript either\n');
    expect(versions().of(A()).version).not.toBe(v0.version);
  });

  it('caches what it learns of each file by content, and gives the same versions from the cache', async () => {
    const fresh = versions(false).of(A());
    expect(versions(true).of(A())).toEqual(fresh);
    const cacheFile = join(root, 'node_modules/.cache/cityflow/code-files.json');
    const cache = JSON.parse(await readFile(cacheFile, 'utf8')) as { entries: Record<string, unknown> };
    expect(Object.keys(cache.entries).length).toBeGreaterThanOrEqual(4);
    expect(versions(true).of(A())).toEqual(fresh); // from the cache
    await writeFile(cacheFile, '{ not json');
    expect(versions(true).of(A())).toEqual(fresh);
    // The cache is keyed by content: an edit is seen at once.
    await edit('a/lazy.ts', (t) => t.replace('1', '3'));
    expect(versions(true).of(A()).version).not.toBe(fresh.version);
  });
});

describe('defining modules', () => {
  it('defineAsset records its caller; the module version covers it, without the framework', () => {
    const asset = defineAsset({ key: 'here', schema: z.number(), compute: () => 1 });
    const manifest = asset.codeManifest!;
    expect(asset.codeVersion).toMatch(/^mod:[0-9a-f]{16}$/);
    // A defining module inside the framework's folder (this test) counts itself, and nothing else of it.
    expect(Object.keys(manifest.files)).toEqual(['engine/code-version.test.ts']);
    expect(Object.keys(manifest.packages)).toEqual(['vitest', 'zod']);
  });

  it('an explicit codeVersion wins: no manifest, nothing to explain', () => {
    const asset = defineAsset({ key: 'pinned', schema: z.number(), codeVersion: 'v7', compute: () => 1 });
    expect(asset.codeVersion).toBe('v7');
    expect(asset.codeManifest).toBeUndefined();
    expect(codeChanges(tmpdir(), asset, 'v6')).toBeUndefined();
  });

  it('captureDefiningModule names the calling module', () => {
    expect(captureDefiningModule()).toBe(sourcePathOf(import.meta.url));
  });

  it('maps a module of the compiled CLI back to its source', async () => {
    const build = join(root, 'node_modules/.cache/cityflow/0123456789abcdef');
    expect(sourcePathOf(pathToFileURL(join(build, 'a/asset.js')).href)).toBe(A());
    expect(sourcePathOf(`${pathToFileURL(A()).href}?t=1`)).toBe(A());
    // No source next to it: the compiled file is what there is.
    expect(sourcePathOf(join(build, 'gone.js'))).toBe(join(build, 'gone.js'));
  });

  it('names packages from bare specifiers; builtins are not packages', () => {
    expect(packageNameOf('zod')).toBe('zod');
    expect(packageNameOf('zod/v4')).toBe('zod');
    expect(packageNameOf('@aws-sdk/client-s3/dist')).toBe('@aws-sdk/client-s3');
    for (const spec of [
      'node:fs',
      'fs',
      'fs/promises',
      './x.ts',
      '../y',
      '/abs.js',
      '#internal',
      'data:text/javascript,',
    ])
      expect(packageNameOf(spec)).toBeUndefined();
  });
});
