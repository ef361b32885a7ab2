/**
 * Engine overhead: a synthetic graph of 2,000 daily assets × 365 partitions.
 * Prints definition load + plan time, and per-unit scheduling overhead of execute() with no-op computes
 * on an in-memory store (so only the engine is measured). Run: npx tsx bench/engine-overhead.ts
 * The process keeps V8's heap as a `pipeline` process does (pipeline/heap.mjs): on Node 24 the plan
 * takes ≈ 0.5–0.7 s with its young generation kept small, 0.8–1.1 s with V8's default (up to 128 MB).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keepPipelineHeap } from '../pipeline/heap.mjs';
import { syntheticAssets } from './synthetic-graph.ts';
import {
  defineDefinitions,
  execute,
  plan,
  StateStore,
  type IOManager,
  type SourceIO,
} from '../engine/index.ts';

// As in a `pipeline` process (see above).
keepPipelineHeap();

const ASSETS = Number(process.env.BENCH_ASSETS ?? 2000);
const DAYS = Number(process.env.BENCH_DAYS ?? 365);

class MemoryIO implements IOManager {
  readonly name = 'memory';
  private m = new Map<string, { v: unknown; dv: string }>();
  async load(ctx: { assetKey: string; partitionKey: string }) {
    return this.m.get(`${ctx.assetKey}/${ctx.partitionKey}`)?.v;
  }
  async store(ctx: { assetKey: string; partitionKey: string }, v: unknown, dv: string) {
    this.m.set(`${ctx.assetKey}/${ctx.partitionKey}`, { v, dv });
    return { bytes: 1, location: 'memory' };
  }
  async stat(ctx: { assetKey: string; partitionKey: string }) {
    const e = this.m.get(`${ctx.assetKey}/${ctx.partitionKey}`);
    return e ? { dataVersion: e.dv } : null;
  }
}
const noSources: SourceIO = {
  name: 'none',
  observe: async () => ({ dataVersion: 'x', fileCount: 0, bytes: 0 }),
  resolve: async () => ({ files: [], origin: 'none' }),
  listFolders: async () => [],
};

const to = new Date(Date.UTC(2025, 0, 1 + DAYS - 1)).toISOString().slice(0, 10);
const dir = await mkdtemp(join(tmpdir(), 'cityflow-bench-'));
try {
  let t = performance.now();
  const defs = defineDefinitions({
    assets: syntheticAssets(ASSETS),
    io: { default: new MemoryIO() },
    sources: noSources,
  });
  const tDefs = performance.now() - t;
  const state = new StateStore(dir);
  t = performance.now();
  const p = await plan(defs, state, {
    selected: new Set(defs.graph.order),
    days: { from: '2025-01-01', to },
    verifyStorage: false,
  });
  const tPlan = performance.now() - t;
  console.log(`graph ${ASSETS} assets × ${DAYS} days = ${p.units.length.toLocaleString('en')} units`);
  console.log(
    `definition load ${tDefs.toFixed(0)} ms · plan ${tPlan.toFixed(0)} ms · total ${(tDefs + tPlan).toFixed(0)} ms (target < 1000 ms)`,
  );

  // Scheduling overhead: execute a smaller slice (all assets × 30 days) with no-op computes.
  const sliceDays = Number(process.env.BENCH_EXEC_DAYS ?? 30);
  const to2 = new Date(Date.UTC(2025, 0, sliceDays)).toISOString().slice(0, 10);
  const p2 = await plan(defs, state, {
    selected: new Set(defs.graph.order),
    days: { from: '2025-01-01', to: to2 },
    verifyStorage: false,
  });
  t = performance.now();
  const r = await execute(defs, state, p2, { concurrency: 2 });
  const tExec = performance.now() - t;
  const perUnit = tExec / p2.units.length;
  console.log(
    `execute ${p2.units.length.toLocaleString('en')} no-op units: ${tExec.toFixed(0)} ms → ${(perUnit * 1000).toFixed(0)} µs per unit (target < 2 ms) [${r.status}]`,
  );
  const mem = process.memoryUsage();
  console.log(`heap ${(mem.heapUsed / 2 ** 20).toFixed(0)} MB, rss ${(mem.rss / 2 ** 20).toFixed(0)} MB`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
