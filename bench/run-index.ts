/**
 * The run index at scale (`npx tsx bench/run-index.ts [N]`, default 10,000): N run logs of 200 units
 * each, the first listing (builds the index from every log), then listings from the index (no log
 * parsed), and the index update a run makes at its start and at its end.
 */
import { mkdirSync, writeFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateStore } from '../engine/state.ts';
import { runIndexStats, runIndexPath } from '../engine/run-index.ts';
const dir = mkdtempSync(join(tmpdir(), 'bench-runs-'));
mkdirSync(join(dir, 'runs'));
const N = Number(process.argv[2] ?? 10000);
const t = Date.parse('2025-01-01T00:00:00Z');
for (let i = 0; i < N; i++) {
  const runId = `r${String(i).padStart(6, '0')}`,
    at = new Date(t + i * 60000).toISOString();
  const lines = [
    {
      type: 'run_started',
      runId,
      at,
      command: 'materialize --all',
      assets: ['a', 'b'],
      units: 200,
      toRun: 200,
      concurrency: 2,
    },
    ...Array.from({ length: 200 }, (_, k) => ({
      type: 'materialized',
      runId,
      at,
      asset: 'a',
      partition: `p${k}`,
      metadata: { bytes: 1, durationMs: 1, location: 'x', dataVersion: 'v' },
    })),
    {
      type: 'run_finished',
      runId,
      at,
      status: 'success',
      materialized: 200,
      skipped: 0,
      failed: 0,
      durationMs: 5,
    },
  ];
  writeFileSync(join(dir, 'runs', `${runId}.jsonl`), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
}
const s = new StateStore(dir);
let t0 = performance.now();
await s.listRuns();
console.log(
  `first listing (index built from ${runIndexStats.logsParsed} logs): ${(performance.now() - t0).toFixed(0)} ms; index ${(statSync(runIndexPath(dir)).size / 1e6).toFixed(2)} MB`,
);
for (let k = 0; k < 3; k++) {
  const before = runIndexStats.logsParsed;
  t0 = performance.now();
  const l = await s.listRuns();
  console.log(
    `listing ${l.length} runs from the index: ${(performance.now() - t0).toFixed(0)} ms, logs parsed: ${runIndexStats.logsParsed - before}`,
  );
}
const log = s.openRunLog('new-run');
t0 = performance.now();
log({
  type: 'run_started',
  runId: 'new-run',
  at: new Date().toISOString(),
  command: 'x',
  assets: [],
  units: 0,
  toRun: 0,
  concurrency: 1,
});
const t1 = performance.now();
log({
  type: 'run_finished',
  runId: 'new-run',
  at: new Date().toISOString(),
  status: 'success',
  materialized: 0,
  skipped: 0,
  failed: 0,
  durationMs: 1,
});
console.log(
  `index update at run start: ${(t1 - t0).toFixed(0)} ms, at run end: ${(performance.now() - t1).toFixed(0)} ms (index of ${N} runs)`,
);
rmSync(dir, { recursive: true, force: true });
