/**
 * File digests for data versions: small files hash as plain SHA-256; big ones as a tree of fixed-size
 * chunks hashed in parallel (BLAKE3, or SHA-256 where BLAKE3 cannot load), the same whatever the
 * number of threads.
 */
import { blake3 } from '@napi-rs/blake-hash';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileDigest } from './file-digest.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'file-digest-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

describe('fileDigest', () => {
  it('a file smaller than a chunk: the SHA-256 of its content', async () => {
    const body = Buffer.from('Identifiant arc;Date et heure de comptage\n4264;2025-01-01T00:00:00+01:00\n');
    const path = join(dir, 'small.csv');
    await writeFile(path, body);
    expect(await fileDigest(path, body.length, { chunkBytes: 1000 })).toBe(sha256(body).toString('hex'));
  });

  it('small and medium files (read at once, or streamed) give the SHA-256 of what the file holds when read', async () => {
    for (const bytes of [0, 1, 4095, 4096, 300_000, 2_000_000]) {
      const body = Buffer.alloc(bytes, 'x');
      if (bytes) body[bytes - 1] = 10;
      const path = join(dir, `sized-${bytes}.csv`);
      await writeFile(path, body);
      expect(await fileDigest(path, bytes)).toBe(sha256(body).toString('hex'));
    }
    // Grown or shrunk since its stat: the digest is of the content, never of the first `size` bytes.
    const path = join(dir, 'moving.csv');
    await writeFile(path, 'abcdef');
    expect(await fileDigest(path, 3)).toBe(sha256(Buffer.from('abcdef')).toString('hex'));
    expect(await fileDigest(path, 100)).toBe(sha256(Buffer.from('abcdef')).toString('hex'));
  });

  const tree = (hash: (b: Buffer) => Buffer, body: Buffer): string =>
    hash(
      Buffer.concat([
        hash(body.subarray(0, 1000)),
        hash(body.subarray(1000, 2000)),
        hash(body.subarray(2000)),
      ]),
    ).toString('hex');

  it('a big file: BLAKE3 of its chunks’ BLAKE3, the same with 1, 2 or 3 threads', async () => {
    const body = Buffer.alloc(2500);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31 + 7) % 251;
    const path = join(dir, 'big.csv');
    await writeFile(path, body);
    const expected = `tree-blake3:${tree(blake3, body)}`;
    for (const threads of [1, 2, 3])
      expect(await fileDigest(path, body.length, { chunkBytes: 1000, threads })).toBe(expected);
    // One byte changed in the last chunk: another digest.
    body[2400] = body[2400]! ^ 1;
    await writeFile(path, body);
    expect(await fileDigest(path, body.length, { chunkBytes: 1000 })).not.toBe(expected);
  });

  it('without BLAKE3: the same tree of SHA-256 digests, named as such', async () => {
    const body = Buffer.alloc(2500);
    for (let i = 0; i < body.length; i++) body[i] = (i * 17 + 3) % 253;
    const path = join(dir, 'big-sha.csv');
    await writeFile(path, body);
    for (const threads of [1, 2])
      expect(await fileDigest(path, body.length, { chunkBytes: 1000, threads, treeHash: 'sha256' })).toBe(
        `tree-sha256:${tree(sha256, body)}`,
      );
  });

  it('a file shorter than its listed size (changed meanwhile) is an error naming it', async () => {
    const path = join(dir, 'shrunk.csv');
    await writeFile(path, Buffer.alloc(1500));
    await expect(fileDigest(path, 3000, { chunkBytes: 1000 })).rejects.toThrow(
      /shrunk\.csv is shorter than 3000 bytes/,
    );
  });

  it('stops when aborted: threads terminated, rejects with the abort reason at once', async () => {
    // 64 MB chunks of a 4 GB sparse file: seconds of hashing if the abort were not honoured.
    const path = join(dir, 'sparse.csv');
    const size = 4 * 2 ** 30;
    await writeFile(path, '');
    await truncate(path, size);
    const ac = new AbortController();
    const pending = fileDigest(path, size, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop')), 20);
    await expect(pending).rejects.toThrow('stop');
    const small = join(dir, 'small-aborted.csv');
    await writeFile(small, 'x');
    await expect(fileDigest(small, 1, { signal: AbortSignal.abort() })).rejects.toThrow();
  });
});
