/**
 * pipeline/heap.mjs: the `pipeline` process keeps V8's young generation near 16 MB on every Node version
 * (Node 20 would grow it to 32 MB, Node 24 to 128 MB). Checked in child processes of this Node: a
 * workload that keeps two thirds of what it allocates grows the new space to V8's maximum without the
 * cap. With it, V8 13 (Node 24) still grows it by small steps past 16 MB within a burst of allocations
 * (16 → 21 MB here), then back: hence "less than twice the cap".
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hasHeapGrowingFlag, hasYoungGenerationFlags, YOUNG_GENERATION_BYTES } from '../pipeline/heap.mjs';

const HEAP = pathToFileURL(fileURLToPath(new URL('../pipeline/heap.mjs', import.meta.url))).href;

/** The largest new space (bytes) a child saw while allocating ≈ 6 M objects, keeping its last two batches. */
function largestNewSpace(cap: boolean, nodeOptions = ''): number {
  const script = `
    import v8 from 'node:v8';
    import { capYoungGeneration } from ${JSON.stringify(HEAP)};
    if (${cap}) capYoungGeneration();
    const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    let largest = 0;
    const kept = [];
    for (let i = 0; i < 300; i++) {
      const batch = Array.from({ length: 20_000 }, (_, j) => ({ i, j, s: 'x' + j }));
      kept.push(batch);
      if (kept.length > 2) kept.shift();
      largest = Math.max(largest, newSpace());
      await new Promise((r) => setImmediate(r));
    }
    console.log(largest);
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: nodeOptions },
  });
  expect(r.status, r.stderr).toBe(0);
  return Number(r.stdout.trim());
}

describe('young generation cap (pipeline/heap.mjs)', () => {
  it('grows past the cap without it, and stays near it with it', () => {
    const free = largestNewSpace(false);
    const capped = largestNewSpace(true);
    expect(free).toBeGreaterThan(YOUNG_GENERATION_BYTES);
    expect(capped).toBeGreaterThanOrEqual(YOUNG_GENERATION_BYTES); // it did grow to the cap
    expect(capped).toBeLessThan(Math.min(free, 2 * YOUNG_GENERATION_BYTES));
  });

  it('leaves a process with its own young generation flags as it is', () => {
    expect(largestNewSpace(true, '--max-semi-space-size=32')).toBeGreaterThan(YOUNG_GENERATION_BYTES);
  });

  it('recognises young generation flags on the command line and in NODE_OPTIONS', () => {
    expect(hasYoungGenerationFlags(['--max-semi-space-size=64'], '')).toBe(true);
    expect(hasYoungGenerationFlags([], '--enable-source-maps --max_semi_space_size=8')).toBe(true);
    expect(hasYoungGenerationFlags([], '--semi-space-growth-factor=4')).toBe(true);
    expect(hasYoungGenerationFlags(['--max-old-space-size=4096'], '--enable-source-maps')).toBe(false);
    expect(hasYoungGenerationFlags([], '')).toBe(false);
  });
});

/**
 * The largest old space (bytes) a child saw while ≈ 15 MB stay live and batches of objects live across a
 * few turns (promoted), then die; and whether capHeapGrowth set the flag.
 */
function largestOldSpace(cap: boolean, execArgv: string[] = []): { bytes: number; set: boolean } {
  const script = `
    import v8 from 'node:v8';
    import { capHeapGrowth } from ${JSON.stringify(HEAP)};
    const set = ${cap} ? capHeapGrowth() : false;
    const oldSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_size;
    const live = Array.from({ length: 200_000 }, (_, j) => ({ j, s: 'live' + j }));
    const kept = [];
    let largest = 0;
    for (let i = 0; i < 300; i++) {
      kept.push(Array.from({ length: 20_000 }, (_, j) => ({ i, j, s: 'x' + j })));
      if (kept.length > 8) kept.shift();
      largest = Math.max(largest, oldSpace());
      await new Promise((r) => setImmediate(r));
    }
    console.log(JSON.stringify({ bytes: largest, set, live: live.length }));
  `;
  const r = spawnSync(process.execPath, [...execArgv, '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim()) as { bytes: number; set: boolean };
}

describe('old generation growth (pipeline/heap.mjs)', () => {
  it('keeps the old space well below what V8 lets it reach on its own', () => {
    const free = largestOldSpace(false);
    const capped = largestOldSpace(true);
    expect(capped.set).toBe(true);
    expect(capped.bytes).toBeLessThan(0.85 * free.bytes);
  }, 30_000);

  it('leaves a process started with its own growth flag as it is', () => {
    expect(largestOldSpace(true, ['--heap-growing-percent=300']).set).toBe(false);
    expect(hasHeapGrowingFlag(['--heap_growing_percent=50'], '')).toBe(true);
    expect(hasHeapGrowingFlag(['--max-old-space-size=4096'], '--max-semi-space-size=8')).toBe(false);
  }, 30_000);
});
