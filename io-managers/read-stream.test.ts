import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStreamFor } from './read-stream.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'read-stream-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('readStreamFor', () => {
  it('reads the whole file, in buffers no bigger than it needs (1 MB at most)', async () => {
    for (const [bytes, mark] of [
      [0, 16 << 10],
      [300, 16 << 10],
      [100_000, 100_001],
      [3 << 20, 1 << 20],
    ] as const) {
      const body = Buffer.alloc(bytes, 'y');
      const path = join(dir, `f${bytes}`);
      await writeFile(path, body);
      const stream = readStreamFor(path, bytes);
      expect(stream.readableHighWaterMark).toBe(mark);
      const pieces: Buffer[] = [];
      for await (const piece of stream) pieces.push(piece as Buffer);
      expect(Buffer.concat(pieces).equals(body)).toBe(true);
      expect(Math.max(0, ...pieces.map((p) => p.length))).toBeLessThanOrEqual(mark);
    }
  });

  it('a file longer than expected is still read to its end', async () => {
    const path = join(dir, 'grown');
    await writeFile(path, 'z'.repeat(50_000));
    let got = 0;
    for await (const piece of readStreamFor(path, 10)) got += (piece as Buffer).length;
    expect(got).toBe(50_000);
  });
});
