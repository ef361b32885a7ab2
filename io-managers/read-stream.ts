import { createReadStream, type ReadStream } from 'node:fs';

const MAX_PIECE_BYTES = 1 << 20;
const MIN_PIECE_BYTES = 16 << 10;

/**
 * A read stream of a file of about `size` bytes whose buffers are no bigger than the file needs (1 MB at
 * most). Node's file stream allocates a buffer of its high-water mark for every read, whatever is left
 * to read: with a 1 MB mark, each of thousands of small files (a year of hourly raw files) made 2 MB of
 * garbage outside V8's heap, and a process holding a large heap spent most of its time collecting it.
 */
export function readStreamFor(path: string, size: number): ReadStream {
  // One byte more than the file: its content and the end in two reads.
  const piece = Math.min(MAX_PIECE_BYTES, Math.max(MIN_PIECE_BYTES, size + 1));
  return createReadStream(path, { highWaterMark: piece });
}
