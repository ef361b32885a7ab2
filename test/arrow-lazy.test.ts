/**
 * apache-arrow loads only when a table value is encoded or decoded (engine/arrow.ts): the engine itself
 * does not import it, nor do the Paris definitions, and tables are recognised by Arrow's own brand,
 * whichever copy made them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tableFromArrays } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { isArrowTable } from '../engine/arrow.ts';
import { compiledRoot } from '../pipeline/compile.mjs';

/**
 * Every module URL a fresh Node process loads while importing `entry` (through a load hook). The hook
 * appends to a file synchronously: hooks run on a thread of their own, whose stderr is forwarded
 * asynchronously and was cut off at exit on Node 24 (lines missing at random).
 */
function modulesLoadedBy(entry: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'cityflow-loaded-'));
  const log = join(dir, 'loaded.txt');
  try {
    const hook =
      `import { appendFileSync } from 'node:fs';\n` +
      `export async function load(url, ctx, next) { appendFileSync(${JSON.stringify(log)}, url + '\\n'); return next(url, ctx); }`;
    const script =
      `import { register } from 'node:module';\n` +
      `register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));\n` +
      `await import(${JSON.stringify(entry)});\n`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`the import failed: ${r.stderr}`);
    return readFileSync(log, 'utf8').split('\n').filter(Boolean);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The modules loaded by importing `rel` from the compiled build (pipeline/compile.mjs). */
async function loadedByCompiled(rel: string): Promise<string[]> {
  const build = await compiledRoot();
  if (!build) throw new Error('the sources could not be compiled (pipeline/compile.mjs)');
  return modulesLoadedBy(pathToFileURL(join(build, rel)).href);
}

describe('apache-arrow on demand', () => {
  it('the compiled engine loads without apache-arrow (nor its bundle)', async () => {
    const loaded = await loadedByCompiled('engine/index.js');
    expect(loaded.some((u) => u.endsWith('/engine/index.js'))).toBe(true);
    expect(loaded.some((u) => u.includes('/vendor/zod.js'))).toBe(true);
    expect(loaded.filter((u) => /apache-arrow/.test(u))).toEqual([]);
  });

  it("the Paris definitions load without it too (the arc-days schema's columns are declared as a function)", async () => {
    const loaded = await loadedByCompiled('cityflow.config.js');
    expect(loaded.some((u) => u.endsWith('/assets/comptages/arc-days-asset.js'))).toBe(true);
    expect(loaded.some((u) => u.endsWith('/assets/comptages/metrics-asset.js'))).toBe(true);
    expect(loaded.filter((u) => /apache-arrow/.test(u))).toEqual([]);
  });

  it('recognises tables by their brand, and nothing else', () => {
    const table = tableFromArrays({ n: Int32Array.from([1, 2]) });
    expect(isArrowTable(table)).toBe(true);
    expect(isArrowTable(table.getChildAt(0))).toBe(false);
    expect(isArrowTable({ schema: {}, numRows: 2, getChildAt: () => null })).toBe(false);
    expect(isArrowTable(null)).toBe(false);
    expect(isArrowTable('table')).toBe(false);
  });
});
