import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isStaleTag, newWriteTag, sliceBytes, verifiedChunks, writeTagTime } from './chunking.ts';

describe('chunking helpers', () => {
  it('sliceBytes: at most `size` bytes each, in order, concatenating back; empty → one empty chunk', () => {
    const bytes = Buffer.from('é🚲'.repeat(10)); // multi-byte characters cut across slices
    for (const size of [1, 3, 7, bytes.length - 1, bytes.length, bytes.length + 1]) {
      const parts = sliceBytes(bytes, size);
      expect(parts.length).toBe(Math.ceil(bytes.length / size));
      expect(parts.every((p) => p.length <= size && p.length > 0)).toBe(true);
      expect(Buffer.concat(parts).equals(bytes)).toBe(true);
    }
    expect(sliceBytes(Buffer.alloc(0), 5)).toEqual([Buffer.alloc(0)]);
    expect(() => sliceBytes(bytes, 0)).toThrow('chunk size must be positive');
    expect(() => sliceBytes(bytes, Number.NaN)).toThrow('chunk size must be positive');
  });

  it('verifiedChunks: only the exact bytes the index recorded (size and sha256)', () => {
    const bytes = Buffer.from('{"a":1}');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    expect(verifiedChunks(bytes, { bytes: 7, sha256 })).toBe(bytes);
    expect(verifiedChunks(Buffer.from('{"a":2}'), { bytes: 7, sha256 })).toBeUndefined();
    expect(verifiedChunks(bytes.subarray(0, 6), { bytes: 7, sha256 })).toBeUndefined();
    expect(verifiedChunks(bytes, { bytes: 7 })).toBe(bytes); // records without sha256: size only
  });

  it('write tags carry their time; stale = not current, and the previous write or an old orphan', () => {
    const t = newWriteTag(1_700_000_000_000);
    expect(writeTagTime(t)).toBe(1_700_000_000_000);
    expect(newWriteTag(1_700_000_000_000)).not.toBe(t);
    expect(writeTagTime('')).toBeNaN();
    expect(writeTagTime('-abc')).toBeNaN();
    const old = newWriteTag(1_000);
    const young = newWriteTag(10_000);
    expect(isStaleTag(old, old, old, 5_000)).toBe(false); // never the current write
    expect(isStaleTag(young, null, young, 5_000)).toBe(true); // the previous write
    expect(isStaleTag(old, null, null, 5_000)).toBe(true); // an orphan older than the cutoff
    expect(isStaleTag(young, null, null, 5_000)).toBe(false); // maybe a concurrent writer's
  });
});
