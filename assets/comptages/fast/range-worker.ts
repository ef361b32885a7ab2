/**
 * worker_threads entry of the fast reader (reader-workers.ts): runs the jobs it is sent, one at a
 * time — scan one byte range (`scanRange`) or aggregate a set of day buckets (`replayBuckets`) — and
 * posts each result back, moving typed arrays (transfer list) instead of copying them. Scan progress
 * is posted at most every 16 MB.
 */
import { parentPort } from 'node:worker_threads';
import { replayBuckets, type ReplayTask } from './replay.ts';
import { scanRange, type RangeTask } from './scan-range.ts';

export type WorkerTask = { kind: 'scan'; task: RangeTask } | { kind: 'replay'; task: ReplayTask };

parentPort!.on('message', (job: WorkerTask) => {
  if (job.kind === 'scan') {
    let lastPosted = 0;
    const result = scanRange(job.task, (done) => {
      if (done - lastPosted >= 16 << 20) {
        lastPosted = done;
        parentPort!.postMessage({ type: 'progress', done });
      }
    });
    parentPort!.postMessage({ type: 'done', result });
  } else {
    const { acc, ...rest } = replayBuckets(job.task);
    parentPort!.postMessage({ type: 'done', result: { ...rest, state: acc.toState() } }, acc.transferList());
  }
});
