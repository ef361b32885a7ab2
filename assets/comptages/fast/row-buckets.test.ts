/**
 * Day buckets: records come back per bucket in the order they were written, values exact (codes or
 * the plain numbers behind SIDE codes), across many 32 KB chunks; a full disk is a clear error.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BucketWriter, bucketOf, forEachChunk, HAS_LIB, wordsToF64 } from './row-buckets.ts';
import { FLOW_SIDE, OCC_SIDE, flowValue, occValue } from './value-codes.ts';

let dir = '';
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('row buckets', () => {
  it('gives back each bucket’s rows in write order, with exact values, over many chunks', async () => {
    dir = await mkdtemp(join(tmpdir(), 'row-buckets-'));
    const buckets = 3;
    const w = new BucketWriter(join(dir, 'rows.bin'), buckets);
    const written: { day: number; arc: number; flow: number; occ: number; lib: number }[] = [];
    // 20,000 rows (≈ 6 chunks per bucket), a few with values the codes cannot hold exactly.
    for (let i = 0; i < 20_000; i++) {
      const day = 20_000 + (i % 7);
      const flow = i % 997 === 0 ? 12.5 : i % 5 === 0 ? NaN : i % 1000;
      const occ = i % 991 === 0 ? 12.1234567 : (i % 10_000) / 100;
      const lib = i % 13 === 0 ? 1 + (i % 4) : 0;
      w.row(i % 50, day, i % 24, 1, false, 1 + (i % 5), flow, occ, lib, 0, 0);
      written.push({ day, arc: i % 50, flow, occ, lib });
    }
    const file = w.finish();
    for (let b = 0; b < buckets; b++) {
      const got: typeof written = [];
      forEachChunk(file, b, (words, n) => {
        for (let u = 0; u < n;) {
          const [arc, day, bits, occCode] = [words[u]!, words[u + 1]! | 0, words[u + 2]!, words[u + 3]!];
          u += 4;
          const lib = bits & HAS_LIB ? words[u++]! : 0;
          const flowCode = bits >>> 16;
          const flowSide = flowCode === FLOW_SIDE ? wordsToF64(words[u++]!, words[u++]!) : 0;
          const occSide = occCode === OCC_SIDE ? wordsToF64(words[u++]!, words[u++]!) : 0;
          got.push({ day, arc, flow: flowValue(flowCode, flowSide), occ: occValue(occCode, occSide), lib });
        }
      });
      expect(got).toEqual(written.filter((r) => bucketOf(r.day, buckets) === b));
      expect(file.chunks[b]!.length / 2).toBeGreaterThan(1);
    }
  });

  // Linux: writes to /dev/full fail with ENOSPC (elsewhere the test is reported as skipped).
  it.runIf(existsSync('/dev/full'))(
    'a full disk fails with the scratch path, the cause and what to do',
    () => {
      const w = new BucketWriter('/dev/full', 1);
      w.row(1, 20_000, 3, 1, false, 1, 10, 5, 0, 0, 0);
      expect(() => w.finish()).toThrow(/road-count scratch file \/dev\/full: ENOSPC .*set TMPDIR/);
    },
  );
});
