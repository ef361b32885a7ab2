// The `pipeline` process's young generation (V8's new space), kept to YOUNG_GENERATION_BYTES.
//
// Why: V8 grows the new space (two semi-spaces) while objects survive its collections, up to a maximum
// set from the heap limit when the process starts. Node 20 stops at 32 MB; Node 24 (V8 13) at 128 MB,
// all of it resident once used. A long run that keeps a little of what it allocates (the road-count
// metrics: one day's table at a time) reaches it: on Node 24 `comptages_metrics` over 60 days peaked at
// 270–290 MB instead of 175 MB on Node 20, for no speed gained (docs/performance.md, "Seventh pass").
//
// How: the maximum can only be given on Node's command line (`--max-semi-space-size`), which a
// `pipeline` started through npm's bin shim or `node pipeline/bin.mjs` does not have. The growth
// factor, though, is read by V8 each time it grows the new space: after each collection, it is set to 1
// (no growth) once the new space has reached the size wanted, and back to V8's default 2 below it
// (V8 shrinks the new space of an idle process). A soft limit: the observer runs between tasks, and V8 13
// also grows the new space by small steps of its own, so within a long burst of allocations it can pass
// 16 MB for a while (≈ 21 MB in test/heap.test.ts, against 128 MB). The flag is process-wide: worker
// threads started later keep the size their young generation has then (the road-count readers set
// their own limits).
//
// A process given its own young generation flags (on the command line or in NODE_OPTIONS) is left as
// it is: `NODE_OPTIONS=--max-semi-space-size=64 pipeline …` trades memory for fewer collections.
//
// The old generation, too (`capHeapGrowth`): after each full collection V8 lets the heap grow to its
// live size times a factor it picks from its own GC and allocation speeds, up to 4. A long run whose
// live data is small but which promotes much short-lived data (the metrics of 218 days of road counts:
// one day's table, its document, their JSON) reached 66–91 MB of old space for 25 MB live, and its
// dead ArrayBuffers waited as long. Fixed at 2 (`--heap-growing-percent=100`, read by V8 at each
// full collection, so it can be set after start): that run's peak RSS 223 → ≈ 170 MB on Node 24,
// ≈ 5 % more time (docs/performance.md, "Eighth pass"). `node --heap-growing-percent=… pipeline` keeps
// the user's own.
import { PerformanceObserver } from 'node:perf_hooks';
import process from 'node:process';
import v8 from 'node:v8';

/** The new space's size (both semi-spaces) this process stops growing at: Node 20's half. */
export const YOUNG_GENERATION_BYTES = 16 * 2 ** 20;
/** V8's default growth factor of the new space. */
const V8_GROWTH_FACTOR = 2;
const YOUNG_GENERATION_FLAG = /--(?:max-semi-space-size|min-semi-space-size|semi-space-growth-factor)\b/;

/** Whether Node was given a flag matching `pattern` (`--max_semi_space_size` is `--max-semi-space-size`). */
const givenFlag = (pattern, execArgv, nodeOptions) =>
  [...execArgv, nodeOptions].some((arg) => pattern.test(arg.replaceAll('_', '-')));

/** The user's own young generation flags, if any. */
export function hasYoungGenerationFlags(
  execArgv = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
) {
  return givenFlag(YOUNG_GENERATION_FLAG, execArgv, nodeOptions);
}

/** The old generation may grow to this percentage above its live size between full collections. */
export const HEAP_GROWING_PERCENT = 100;
const HEAP_GROWING_FLAG = /--heap-growing-percent\b/;

/** The user's own old generation growth flag, if any. */
export function hasHeapGrowingFlag(
  execArgv = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
) {
  return givenFlag(HEAP_GROWING_FLAG, execArgv, nodeOptions);
}

/** Fixes the old generation's growth factor (see above); false when the process has its own. */
export function capHeapGrowth(percent = HEAP_GROWING_PERCENT) {
  if (hasHeapGrowingFlag()) return false;
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
  return true;
}

const newSpaceSize = () =>
  v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;

/**
 * Keeps the new space at `bytes` (see above); returns the observer, or null when the process has young
 * generation flags of its own.
 */
export function capYoungGeneration(bytes = YOUNG_GENERATION_BYTES) {
  if (hasYoungGenerationFlags()) return null;
  let factor = V8_GROWTH_FACTOR;
  const adjust = () => {
    const wanted = newSpaceSize() >= bytes ? 1 : V8_GROWTH_FACTOR;
    if (wanted !== factor) {
      factor = wanted;
      v8.setFlagsFromString(`--semi-space-growth-factor=${factor}`);
    }
  };
  const observer = new PerformanceObserver(adjust);
  observer.observe({ entryTypes: ['gc'] });
  adjust();
  return observer;
}

/** The heap a `pipeline` process keeps (both of the above): what bin.mjs and the engine bench call. */
export function keepPipelineHeap() {
  capYoungGeneration();
  capHeapGrowth();
}
