/**
 * Content digest of a local file, for data versions. Small files: the SHA-256 of the content (hex).
 * From CHUNK_BYTES up: a tree digest — BLAKE3 of every 64 MB chunk, computed on worker threads (all
 * cores), then BLAKE3 of the chunk digests, written `tree-blake3:<hex>`. The chunks make it parallel;
 * BLAKE3 (native, @napi-rs/blake-hash) makes each thread fast: 5.6–7.9 GB/s here against 1.6 GB/s for
 * SHA-256 with the CPU's SHA extensions, so the first sight of the 6 GB road-count export went from
 * ≈ 3.3 s of hashing before any work to ≈ 0.8 s. Where the native module cannot load (a platform
 * without a prebuilt binary), the same tree is made of SHA-256 digests, written `tree-sha256:<hex>`:
 * another version for the same content, so at worst one recomputation, never a false "unchanged".
 * The digest depends on the content only (fixed chunk size), not on the number of cores.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { readStreamFor } from './read-stream.ts';

export const CHUNK_BYTES = 64 << 20;

type TreeHash = 'blake3' | 'sha256';

interface Blake3 {
  /** Resolved path of the module, for the worker threads to load it. */
  path: string;
  blake3: (input: Uint8Array) => Buffer;
}

/** The BLAKE3 module when it loads on this platform (tried once), else null. */
let blake3Module: Blake3 | null | undefined;
function loadBlake3(): Blake3 | null {
  if (blake3Module === undefined) {
    const require = createRequire(import.meta.url);
    try {
      const path = require.resolve('@napi-rs/blake-hash');
      blake3Module = { path, blake3: (require(path) as Pick<Blake3, 'blake3'>).blake3 };
    } catch {
      blake3Module = null;
    }
  }
  return blake3Module;
}

/** Worker body (plain CommonJS, evaluated): digests its chunks of the file, posts each as it ends. */
const WORKER = `
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const { path, size, chunk, indices, blake3 } = workerData;
const hasher = blake3
  ? (() => { const { Blake3Hasher } = require(blake3); return () => new Blake3Hasher(); })()
  : () => createHash('sha256');
const buf = Buffer.allocUnsafe(1 << 20);
const fd = openSync(path, 'r');
try {
  for (const i of indices) {
    const h = hasher();
    const end = Math.min(size, (i + 1) * chunk);
    for (let pos = i * chunk; pos < end; ) {
      const got = readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
      if (got === 0) throw new Error(path + ' is shorter than ' + size + ' bytes (changed while hashed)');
      h.update(got === buf.length ? buf : buf.subarray(0, got));
      pos += got;
    }
    parentPort.postMessage({ i, digest: blake3 ? h.digestBuffer() : h.digest() });
  }
} finally {
  closeSync(fd);
}
`;

export interface DigestOptions {
  /** Chunk size of the tree digest (tests use small ones). */
  chunkBytes?: number;
  /** Worker threads (default: CPU count). */
  threads?: number;
  /** Stops hashing (threads terminated) and rejects with the abort reason. */
  signal?: AbortSignal;
  /** Hash of the tree's chunks (default: BLAKE3 where its native module loads, else SHA-256). */
  treeHash?: TreeHash;
}

/**
 * Files below this size are read with one synchronous call into a buffer of their size. A stream
 * allocated a 1 MB buffer for each (its high-water mark), whatever the file's size: the first plan over a
 * year of hourly files (26,280 files of ≈ 200 bytes) spent 15 of its 31 s collecting those buffers, and a
 * stream costs ≈ 200–300 µs a file against ≈ 15–20 µs read at once (docs/performance.md, "Tenth pass").
 * Synchronous, as the listings are (local-files.ts): a file this small blocks the thread for microseconds.
 */
const SMALL_FILE_BYTES = 256 << 10;

/** SHA-256 (hex) of a file of about `size` bytes read at once; null if it has grown since its `stat`. */
function smallFileDigest(path: string, size: number): string | null {
  const fd = openSync(path, 'r');
  try {
    // One byte more than expected: filled, the file grew, and is hashed as a stream instead.
    const buf = Buffer.allocUnsafe(size + 1);
    let got = 0;
    for (let n = 1; n > 0 && got < buf.length; got += n) n = readSync(fd, buf, got, buf.length - got, got);
    return got > size ? null : createHash('sha256').update(buf.subarray(0, got)).digest('hex');
  } finally {
    closeSync(fd);
  }
}

export async function fileDigest(path: string, size: number, opts: DigestOptions = {}): Promise<string> {
  const chunk = opts.chunkBytes ?? CHUNK_BYTES;
  const { signal } = opts;
  signal?.throwIfAborted();
  if (size < Math.min(chunk, SMALL_FILE_BYTES)) {
    const digest = smallFileDigest(path, size);
    if (digest !== null) return digest;
  }
  if (size < chunk) {
    const h = createHash('sha256');
    // The signal is checked per piece rather than given to the stream: the many small files hashed at
    // once would each add an abort listener to the run's one signal (Node warns past 10).
    for await (const piece of readStreamFor(path, size)) {
      signal?.throwIfAborted();
      h.update(piece as Buffer);
    }
    return h.digest('hex');
  }
  const blake3 = (opts.treeHash ?? 'blake3') === 'blake3' ? loadBlake3() : null;
  if (opts.treeHash === 'blake3' && !blake3) throw new Error('BLAKE3 is not available on this platform');
  const chunks = Math.ceil(size / chunk);
  const threads = Math.max(1, Math.min(opts.threads ?? availableParallelism(), chunks));
  const digests: Buffer[] = new Array(chunks);
  // Contiguous runs of chunks per thread: each reads its part of the file sequentially.
  const per = Math.ceil(chunks / threads);
  const runs = Array.from({ length: threads }, (_, t) =>
    Array.from({ length: Math.max(0, Math.min(chunks, (t + 1) * per) - t * per) }, (_, k) => t * per + k),
  ).filter((run) => run.length > 0);
  // Loaded here: a run that hashes no large file does not pay for worker_threads at start (≈ 4 ms).
  const { Worker } = await import('node:worker_threads');
  const workers: Worker[] = [];
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {}); // only observed through the race below
  try {
    await Promise.race([
      aborted,
      Promise.all(
        runs.map(
          (indices) =>
            new Promise<void>((resolve, reject) => {
              const worker = new Worker(WORKER, {
                eval: true,
                workerData: { path, size, chunk, indices, blake3: blake3?.path ?? null },
              });
              workers.push(worker);
              worker.on('message', (m: { i: number; digest: Uint8Array }) => {
                digests[m.i] = Buffer.from(m.digest);
              });
              worker.once('error', reject);
              worker.once('exit', (code) =>
                code === 0
                  ? resolve()
                  : reject(new Error(`hashing ${path}: worker exited with code ${code}`)),
              );
            }),
        ),
      ),
    ]);
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    // On a failure or an abort the other threads stop too (after a success they have all exited already).
    for (const w of workers) void w.terminate();
  }
  const all = Buffer.concat(digests);
  if (blake3) return `tree-blake3:${blake3.blake3(all).toString('hex')}`;
  return `tree-sha256:${createHash('sha256').update(all).digest('hex')}`;
}
