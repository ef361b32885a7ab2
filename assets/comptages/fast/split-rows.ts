/**
 * The WebAssembly row splitter (split-rows.as) behind a small class: it owns one WebAssembly memory
 * holding the read buffer (`buffer`, a Buffer view the file is read straight into) and the row table
 * the splitter writes (`rows`). See split-rows.as for what counts as a regular row.
 */
import { SPLIT_ROWS_WASM } from './split-rows-wasm.ts';

// The few WebAssembly JS API types used here (the project's `lib` has no DOM types, where they live).
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: unknown };
};
type WasmModule = { readonly wasmModule: unique symbol };

interface SplitExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  consumed: { value: number };
  newlines: { value: number };
  split(
    inPtr: number,
    from: number,
    have: number,
    atEnd: number,
    delim: number,
    crlf: number,
    width: number,
    outPtr: number,
    maxRows: number,
  ): number;
}

let compiled: WasmModule | null = null;
const PAGE = 65_536;
const TABLE_AT = 1024;
const TABLE_BYTES = 2 << 20;
const PAD = 32;

/** Row table layout: per row, ROW_HEADER ints then FIELD_INTS per field. */
export const ROW_HEADER = 4;
export const FIELD_INTS = 3;

export class RowSplitter {
  private readonly x: SplitExports;
  private readonly bufferAt = TABLE_AT + TABLE_BYTES;
  /** Read buffer, a view of the splitter's memory (replaced when it grows). */
  buffer!: Buffer;
  /** Row table of the last `split`, a view of the splitter's memory (replaced when it grows). */
  rows!: Int32Array;
  /** Ints per row in `rows`. */
  readonly stride: number;
  private readonly maxRows: number;
  /** After `split`: offset just past the last line handled, and the line breaks before it. */
  consumed = 0;
  newlines = 0;

  /**
   * `width` fields per regular row (0: every non-empty line is returned as slow, for layouts too
   * wide for the caller's field arrays).
   */
  constructor(
    capacity: number,
    private readonly delim: number,
    private readonly crlf: boolean,
    private readonly width: number,
  ) {
    compiled ??= new WebAssembly.Module(Buffer.from(SPLIT_ROWS_WASM, 'base64'));
    this.x = new WebAssembly.Instance(compiled, {}).exports as unknown as SplitExports;
    this.stride = ROW_HEADER + FIELD_INTS * width;
    this.maxRows = Math.floor(TABLE_BYTES / (this.stride * 4));
    this.grow(capacity);
  }

  /** Makes the read buffer `capacity` bytes, keeping its content; views are replaced. */
  grow(capacity: number): void {
    const need = this.bufferAt + capacity + PAD;
    const mem = this.x.memory;
    if (mem.buffer.byteLength < need) mem.grow(Math.ceil((need - mem.buffer.byteLength) / PAGE));
    this.buffer = Buffer.from(mem.buffer, this.bufferAt, capacity);
    this.rows = new Int32Array(mem.buffer, TABLE_AT, TABLE_BYTES / 4);
  }

  /**
   * Splits the lines of buffer[from, have) (`from` a line start); returns the number of rows written
   * to `rows`. Fewer rows than fit in the table means every complete line was handled.
   */
  split(from: number, have: number, atEnd: boolean): number {
    const x = this.x;
    const n = x.split(
      this.bufferAt,
      from,
      have,
      atEnd ? 1 : 0,
      this.delim,
      this.crlf ? 1 : 0,
      this.width,
      TABLE_AT,
      this.maxRows,
    );
    this.consumed = x.consumed.value;
    this.newlines = x.newlines.value;
    return n;
  }

  /** True when `split` stopped because the row table was full (call again from `consumed`). */
  full(n: number): boolean {
    return n === this.maxRows;
  }
}
