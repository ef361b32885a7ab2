/**
 * A child process for test/locks/flush-merge.test.ts: records COUNT partitions of one asset through the
 * real StateStore, flushing after every BATCH of them (as a run does every 200 ms), as another run's
 * process would while this one records other partitions of the same asset.
 *   argv: STATE_DIR ASSET PREFIX COUNT BATCH
 */
import { StateStore } from '../../engine/state.ts';

const [dir, asset, prefix, countText, batchText] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const state = new StateStore(dir);
// Loaded at the start, as a run's store is: what the others record afterwards is not in memory.
state.partitionsOf(asset);
const count = Number(countText);
const batch = Number(batchText);
for (let i = 0; i < count; i++) {
  const partition = `${prefix}-${String(i).padStart(5, '0')}`;
  state.recordSuccess(asset, partition, {
    dataVersion: `v-${prefix}-${i}`,
    codeVersion: 'c',
    inputVersions: {},
    runId: `run-${prefix}`,
    at: new Date().toISOString(),
    metadata: { bytes: 1, durationMs: 1, location: '', dataVersion: `v-${prefix}-${i}` },
  });
  if (i % batch === batch - 1) await state.flush();
}
await state.flush();
console.log('done');
