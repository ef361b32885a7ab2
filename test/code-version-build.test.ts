import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compiledRoot } from '../pipeline/compile.mjs';

/**
 * The engine imported from a plain JavaScript build (as `dist/engine/*.js` of the published package,
 * outside the CLI's compile cache): each asset's code version must still come from the module that
 * defines it, not from the engine's own `asset.js`.
 */
describe('code versions with the engine built to JavaScript', () => {
  // Inside the repository's node_modules so that the modules resolve `zod` and the engine's packages.
  const base = mkdtempSync(join(import.meta.dirname, '..', 'node_modules', '.cache', 'cv-build-'));
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('follows the defining module: editing one asset module changes its version only', async () => {
    const build = await compiledRoot();
    if (!build) throw new Error('the sources could not be compiled (pipeline/compile.mjs)');
    // The engine with the packages the build bundled (its imports of zod and apache-arrow point there).
    for (const dir of ['engine', 'vendor'])
      cpSync(join(build, dir), join(base, 'dist', dir), { recursive: true });
    const engine = join(base, 'dist', 'engine', 'index.js');
    const project = join(base, 'project');
    mkdirSync(project);
    const assetModule = (key: string, value: number) =>
      `import { defineAsset } from ${JSON.stringify(engine)};\nimport { z } from 'zod';\n` +
      `export const ${key} = defineAsset({ key: '${key}', schema: z.number(), compute: () => ${value} });\n`;
    writeFileSync(join(project, 'a.mjs'), assetModule('a', 1));
    writeFileSync(join(project, 'b.mjs'), assetModule('b', 2));
    writeFileSync(
      join(project, 'main.mjs'),
      `import { a } from './a.mjs';\nimport { b } from './b.mjs';\n` +
        `console.log(JSON.stringify({ a: a.codeVersion, b: b.codeVersion }));\n`,
    );
    const versions = () =>
      JSON.parse(execFileSync(process.execPath, [join(project, 'main.mjs')], { encoding: 'utf8' })) as {
        a: string;
        b: string;
      };
    const before = versions();
    expect(before.a).not.toBe(before.b);
    writeFileSync(join(project, 'a.mjs'), assetModule('a', 3));
    const after = versions();
    expect(after.a).not.toBe(before.a);
    expect(after.b).toBe(before.b);
  }, 120_000);
});
