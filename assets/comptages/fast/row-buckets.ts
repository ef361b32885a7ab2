/**
 * Day buckets: the accepted rows of one byte range as compact records (16 bytes each, more only for
 * first-seen values and values that need a plain number), appended in file order to one scratch file,
 * grouped by bucket (day number modulo the bucket count). Aggregating one bucket at a time (replay.ts)
 * keeps the working set to a few days whatever the row order of the file: the real exports interleave
 * every day of the file, which made an in-memory accumulator hold every day at once (docs/performance.md).
 *
 * Each bucket fills its own 32 KB buffer; a full buffer is appended to the file as one chunk and its
 * position noted, so a bucket is read back as its chunks in order, i.e. its rows in file order.
 *
 * Record (Uint32 words): arc, day (int32), bits, occupancy code; then the libelle, geo and length
 * indices that are flagged, then the flow and occupancy as float64 (two words each) when their code is
 * the SIDE marker. Bits: hour 0–4, offset code 5–6, ambiguous 7, etat code 8–10, libelle/geo/length
 * flags 11–13, flow code 16–31.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { FLOW_SIDE, OCC_SIDE, flowCode, occCode } from './value-codes.ts';

const BUFFER_WORDS = 8192; // 32 KB per bucket
const MAX_RECORD_WORDS = 4 + 3 + 4;
// Flags of a record's third word (the reader, replay.ts, decodes records itself: once per row).
export const AMBIGUOUS = 1 << 7;
export const HAS_LIB = 1 << 11;
export const HAS_GEO = 1 << 12;
export const HAS_LEN = 1 << 13;

/** Where one range's buckets are: per bucket, [file position, byte length] of each chunk in order. */
export interface BucketFile {
  path: string;
  chunks: number[][];
}

/** Bucket of a Paris day number. */
export const bucketOf = (day: number, buckets: number): number => ((day % buckets) + buckets) % buckets;

// float64 ↔ two Uint32 words.
const f64 = new Float64Array(1);
const f64Words = new Uint32Array(f64.buffer);

export class BucketWriter {
  private readonly bufs: Uint32Array[] = [];
  private readonly used: Int32Array;
  private readonly chunks: number[][] = [];
  private readonly fd: number;
  private pos = 0;

  constructor(
    private readonly path: string,
    private readonly buckets: number,
  ) {
    this.used = new Int32Array(buckets);
    for (let b = 0; b < buckets; b++) {
      this.bufs.push(new Uint32Array(BUFFER_WORDS));
      this.chunks.push([]);
    }
    this.fd = openSync(path, 'w');
  }

  /**
   * Appends one accepted row. `off`: offset code (1 / 2); `etat`: etat code; NaN flow / occupancy =
   * null; `lib`, `geo`, `len`: first-seen indices this row supplies (0 = none).
   */
  row(
    arc: number,
    day: number,
    hour: number,
    off: number,
    ambiguous: boolean,
    etat: number,
    flow: number,
    occ: number,
    lib: number,
    geo: number,
    len: number,
  ): void {
    const b = bucketOf(day, this.buckets);
    let u = this.used[b]!;
    if (u + MAX_RECORD_WORDS > BUFFER_WORDS) {
      this.flush(b);
      u = 0;
    }
    const w = this.bufs[b]!;
    const fc = flowCode(flow);
    const oc = occCode(occ);
    let bits = hour | (off << 5) | (ambiguous ? AMBIGUOUS : 0) | (etat << 8) | (fc << 16);
    if (lib !== 0) bits |= HAS_LIB;
    if (geo !== 0) bits |= HAS_GEO;
    if (len !== 0) bits |= HAS_LEN;
    w[u] = arc;
    w[u + 1] = day;
    w[u + 2] = bits;
    w[u + 3] = oc;
    u += 4;
    if (lib !== 0) w[u++] = lib;
    if (geo !== 0) w[u++] = geo;
    if (len !== 0) w[u++] = len;
    if (fc === FLOW_SIDE) {
      f64[0] = flow;
      w[u++] = f64Words[0]!;
      w[u++] = f64Words[1]!;
    }
    if (oc === OCC_SIDE) {
      f64[0] = occ;
      w[u++] = f64Words[0]!;
      w[u++] = f64Words[1]!;
    }
    this.used[b] = u;
  }

  private flush(b: number): void {
    const n = this.used[b]! * 4;
    if (n === 0) return;
    const w = this.bufs[b]!;
    const bytes = new Uint8Array(w.buffer, w.byteOffset, n);
    let done = 0;
    try {
      while (done < n) done += writeSync(this.fd, bytes, done, n - done, this.pos + done);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new Error(
        `road-count scratch file ${this.path}: ${err.code ?? err.message} after ${this.pos + done} bytes ` +
          `(the fast reader keeps ≈ 16 B per row there; set TMPDIR to a disk with room)`,
        { cause: e },
      );
    }
    this.chunks[b]!.push(this.pos, n);
    this.pos += n;
    this.used[b] = 0;
  }

  /** Writes what is buffered and closes the file. */
  finish(): BucketFile {
    try {
      for (let b = 0; b < this.buckets; b++) this.flush(b);
    } finally {
      closeSync(this.fd);
    }
    return { path: this.path, chunks: this.chunks };
  }

  /** Closes the file without writing the rest (a scan that stopped early). */
  abandon(): void {
    closeSync(this.fd);
  }
}

/** Reads two record words as the float64 they hold. */
export function wordsToF64(lo: number, hi: number): number {
  f64Words[0] = lo;
  f64Words[1] = hi;
  return f64[0]!;
}

/**
 * Calls `fn` with the words of each chunk of bucket `b` of one range's file, in file order (`words` is
 * reused: the chunk's records are its first `n` words).
 */
export function forEachChunk(file: BucketFile, b: number, fn: (words: Uint32Array, n: number) => void): void {
  const chunks = file.chunks[b] ?? [];
  if (chunks.length === 0) return;
  const w = new Uint32Array(BUFFER_WORDS);
  const bytes = new Uint8Array(w.buffer);
  const fd = openSync(file.path, 'r');
  try {
    for (let c = 0; c < chunks.length; c += 2) {
      const pos = chunks[c]!;
      const n = chunks[c + 1]!;
      let done = 0;
      while (done < n) {
        const got = readSync(fd, bytes, done, n - done, pos + done);
        if (got === 0) throw new Error(`road-count scratch file ${file.path} is truncated`);
        done += got;
      }
      fn(w, n >> 2);
    }
  } finally {
    closeSync(fd);
  }
}
