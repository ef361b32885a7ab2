import { describe, expect, it } from 'vitest';
import {
  bytesPerSecond,
  elapsedMs,
  finishEvent,
  initialUploadState,
  MAX_FAILURES_KEPT,
  settledBytes,
  type UploadViewEvent,
} from './upload-reducer.ts';
import { fold, MiB, T0 } from './fixtures/upload-steps.ts';

/** A 20 MiB multipart file (parts 8, 8, 4 MiB), a 1000-byte file sent whole and a 500-byte identical one. */
const steps: Array<[number, UploadViewEvent]> = [
  [100, { type: 'plan', files: 3, bytes: 20 * MiB + 1500 }],
  [110, { type: 'check', key: 'raw/big.bin', bytes: 20 * MiB }],
  [120, { type: 'check', key: 'raw/a.csv', bytes: 1000 }],
  [130, { type: 'check', key: 'raw/same.csv', bytes: 500 }],
  [
    140,
    {
      type: 'done',
      key: 'raw/same.csv',
      action: 'skip',
      reason: 'same size and etag',
      bytes: 500,
      done: 1,
      total: 3,
    },
  ],
  [500, { type: 'upload', key: 'raw/big.bin', bytes: 20 * MiB, reason: 'new', multipart: true }],
  [600, { type: 'upload', key: 'raw/a.csv', bytes: 1000, reason: 'size differs', multipart: false }],
  [700, { type: 'bytes', key: 'raw/a.csv', loaded: 1000, total: 1000 }],
  [
    710,
    {
      type: 'done',
      key: 'raw/a.csv',
      action: 'upload',
      reason: 'size differs',
      bytes: 1000,
      done: 2,
      total: 3,
    },
  ],
  [1500, { type: 'bytes', key: 'raw/big.bin', loaded: 8 * MiB, total: 20 * MiB }],
  [2500, { type: 'bytes', key: 'raw/big.bin', loaded: 16 * MiB, total: 20 * MiB }],
];
const tail: Array<[number, UploadViewEvent]> = [
  [3000, { type: 'bytes', key: 'raw/big.bin', loaded: 20 * MiB, total: 20 * MiB }],
  [
    3100,
    { type: 'done', key: 'raw/big.bin', action: 'upload', reason: 'new', bytes: 20 * MiB, done: 3, total: 3 },
  ],
  [3200, { type: 'finish' }],
];

describe('reduceUpload', () => {
  it('starts listing, with nothing known', () => {
    const s = initialUploadState({ dryRun: false, startedAt: T0 });
    expect(s.status).toBe('listing');
    expect(s.filesTotal).toBeNull();
    expect(settledBytes(s)).toBe(0);
    expect(bytesPerSecond(s, T0 + 1000)).toBeNull();
  });

  it('mid-sync: counts settled files, lists in-flight files with their acknowledged bytes', () => {
    const s = fold(steps);
    expect(s.status).toBe('syncing');
    expect([s.filesTotal, s.bytesTotal]).toEqual([3, 20 * MiB + 1500]);
    expect([s.filesDone, s.uploaded, s.skipped, s.failed]).toEqual([2, 1, 1, 0]);
    expect([s.uploadedBytes, s.skippedBytes]).toEqual([1000, 500]);
    expect(s.inFlight).toEqual([
      { key: 'raw/big.bin', bytes: 20 * MiB, phase: 'uploading', loaded: 16 * MiB, multipart: true },
    ]);
    // 1000 (a.csv) + 16 MiB of big.bin acknowledged.
    expect(s.sentBytes).toBe(1000 + 16 * MiB);
    // Settled: 1000 uploaded + 500 skipped + 16 MiB in flight.
    expect(settledBytes(s)).toBe(1500 + 16 * MiB);
    // Rate from the first upload (t=500) to now (t=2500): (16 MiB + 1000) B / 2 s.
    expect(bytesPerSecond(s, T0 + 2500)).toBe((16 * MiB + 1000) / 2);
    expect(elapsedMs(s, T0 + 2600)).toBe(2600);
  });

  it('keeps a picked-up file in the checking phase until its upload starts', () => {
    const s = fold(steps.slice(0, 3));
    expect(s.inFlight.map((f) => [f.key, f.phase, f.loaded])).toEqual([
      ['raw/big.bin', 'checking', 0],
      ['raw/a.csv', 'checking', 0],
    ]);
  });

  it('finished: every byte counted once, nothing in flight, clock and rate stop at the end', () => {
    const s = fold([...steps, ...tail]);
    expect(s.status).toBe('done');
    expect(s.finishedAt).toBe(T0 + 3200);
    expect(s.inFlight).toEqual([]);
    expect([s.filesDone, s.uploaded, s.uploadedBytes]).toEqual([3, 2, 20 * MiB + 1000]);
    expect(s.sentBytes).toBe(20 * MiB + 1000);
    expect(settledBytes(s)).toBe(s.bytesTotal);
    // The clock and the rate ignore a later `now`: 3200 ms; (20 MiB + 1000) B sent while an upload was in
    // flight, from the first upload at 500 to big.bin done at 3100 = 2.6 s.
    expect(elapsedMs(s, T0 + 99_000)).toBe(3200);
    expect(bytesPerSecond(s, T0 + 99_000)).toBe(((20 * MiB + 1000) * 1000) / 2600);
    expect([s.sendingMs, s.sendingSince]).toEqual([2600, null]);
  });

  it('measures the rate over the time spent sending, not over hashing between uploads', () => {
    const s = fold([
      [0, { type: 'plan', files: 2, bytes: 3000 }],
      [0, { type: 'check', key: 'k1', bytes: 1000 }],
      [100, { type: 'upload', key: 'k1', bytes: 1000, reason: 'new', multipart: false }],
      [200, { type: 'bytes', key: 'k1', loaded: 1000, total: 1000 }],
      [200, { type: 'done', key: 'k1', action: 'upload', reason: 'new', bytes: 1000, done: 1, total: 2 }],
      // 5 s hashing k2 with nothing in flight.
      [200, { type: 'check', key: 'k2', bytes: 2000 }],
      [5200, { type: 'upload', key: 'k2', bytes: 2000, reason: 'new', multipart: false }],
      [5500, { type: 'bytes', key: 'k2', loaded: 2000, total: 2000 }],
      [5500, { type: 'done', key: 'k2', action: 'upload', reason: 'new', bytes: 2000, done: 2, total: 2 }],
      [5600, { type: 'finish' }],
    ]);
    // Sending 100→200 and 5200→5500 = 400 ms; 3000 B / 0.4 s = 7500 B/s (over the whole 5.6 s: ~536).
    expect(s.sendingMs).toBe(400);
    expect(bytesPerSecond(s)).toBe(7500);
  });

  it('counts a done file whole even if its last byte event was missing', () => {
    const s = fold([...steps, tail[1]!]);
    // big.bin was at 16 MiB; done adds its last 4 MiB.
    expect(s.sentBytes).toBe(20 * MiB + 1000);
  });

  it('ignores a byte count that goes backwards', () => {
    const s = fold([
      ...steps,
      [2600, { type: 'bytes', key: 'raw/big.bin', loaded: 8 * MiB, total: 20 * MiB }],
    ]);
    expect(s.inFlight[0]!.loaded).toBe(16 * MiB);
    expect(s.sentBytes).toBe(16 * MiB + 1000);
  });

  it('dry run: files that would go up count as uploaded, but no byte is sent and there is no rate', () => {
    const s = fold(
      [
        [10, { type: 'plan', files: 2, bytes: 300 }],
        [20, { type: 'check', key: 'k1', bytes: 100 }],
        [30, { type: 'done', key: 'k1', action: 'upload', reason: 'new', bytes: 100, done: 1, total: 2 }],
        [40, { type: 'check', key: 'k2', bytes: 200 }],
        [
          50,
          {
            type: 'done',
            key: 'k2',
            action: 'skip',
            reason: 'same size and etag',
            bytes: 200,
            done: 2,
            total: 2,
          },
        ],
        [60, { type: 'finish' }],
      ],
      true,
    );
    expect([s.uploaded, s.uploadedBytes, s.skipped, s.skippedBytes, s.sentBytes]).toEqual([
      1, 100, 1, 200, 0,
    ]);
    expect(bytesPerSecond(s)).toBeNull();
    expect(s.status).toBe('done');
  });

  it('failures: counted, kept (latest few), and the sync ends failed without a separate fatal error', () => {
    const many: Array<[number, UploadViewEvent]> = [[0, { type: 'plan', files: 7, bytes: 700 }]];
    for (let i = 1; i <= 7; i++) {
      many.push([i * 10, { type: 'check', key: `k${i}`, bytes: 100 }]);
      many.push([
        i * 10 + 1,
        { type: 'error', key: `k${i}`, bytes: 100, message: `boom ${i}`, done: i, total: 7 },
      ]);
    }
    many.push([100, { type: 'finish', error: '7 of 7 files failed to upload' }]);
    const s = fold(many);
    expect([s.failed, s.failedBytes, s.filesDone]).toEqual([7, 700, 7]);
    // The last 5 of 7: k3..k7.
    expect(s.failures).toHaveLength(MAX_FAILURES_KEPT);
    expect(s.failures.map((f) => f.key)).toEqual(['k3', 'k4', 'k5', 'k6', 'k7']);
    expect(s.failures[4]).toEqual({ key: 'k7', message: 'boom 7' });
    expect(s.status).toBe('failed');
    expect(s.fatal).toBeNull();
    expect(s.inFlight).toEqual([]);
  });

  it('an error that stopped the whole sync (no file failed) is kept as fatal', () => {
    const s = fold([[50, { type: 'finish', error: 'NoSuchBucket: The specified bucket does not exist' }]]);
    expect(s.status).toBe('failed');
    expect(s.fatal).toBe('NoSuchBucket: The specified bucket does not exist');
  });

  it('cancelled mid-sync: done files stay counted, the cut-off file leaves the in-flight list, clock stops', () => {
    const s = fold([...steps, [2800, { type: 'finish', cancelled: true }]]);
    expect(s.status).toBe('cancelled');
    expect(s.fatal).toBeNull();
    expect(s.finishedAt).toBe(T0 + 2800);
    expect(s.inFlight).toEqual([]);
    // a.csv uploaded (1000 bytes) and same.csv skipped before the abort; big.bin neither.
    expect([s.filesDone, s.uploaded, s.uploadedBytes, s.skipped, s.failed]).toEqual([2, 1, 1000, 1, 0]);
    // Sending stopped at the cancel: from the first upload (500) to 2800 = 2.3 s.
    expect([s.sendingMs, s.sendingSince]).toEqual([2300, null]);
    expect(elapsedMs(s, T0 + 99_000)).toBe(2800);
  });

  it('finishEvent: SyncCancelled (by name) is a cancel, any other error an error', () => {
    const cancelled = Object.assign(new Error('Upload cancelled: 1 of 3 files uploaded'), {
      name: 'SyncCancelled',
    });
    expect(finishEvent(cancelled)).toEqual({ type: 'finish', cancelled: true });
    expect(finishEvent(new Error('boom'))).toEqual({ type: 'finish', error: 'boom' });
    expect(finishEvent()).toEqual({ type: 'finish' });
  });
});
