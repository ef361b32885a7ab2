/**
 * worker_threads entry: scans one byte range (`scanRange`) and posts the partial result back, moving
 * the typed arrays (transfer list) instead of copying them. Progress is posted at most every 16 MB.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { scanRange, type RangeTask } from './scan-range.ts';

const task = workerData as RangeTask;
let lastPosted = 0;
const res = scanRange(task, (done) => {
  if (done - lastPosted >= 16 << 20) {
    lastPosted = done;
    parentPort!.postMessage({ type: 'progress', done });
  }
});
const { acc, ...rest } = res;
parentPort!.postMessage({ type: 'done', result: { ...rest, state: acc.toState() } }, acc.transferList());
