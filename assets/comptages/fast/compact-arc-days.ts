/**
 * Compact, mergeable arc-day accumulator for the fast reader: the same numbers as `ArcDayAccumulator`
 * (aggregate.ts) in flat typed arrays, one block per Paris day, ≈ 165 B per arc-day and no per-row or
 * per-arc-day objects. A worker's blocks are transferred to the main thread (moved, not copied); a
 * block whose day no earlier range has is adopted as is, so merging mostly time-ordered ranges costs
 * almost nothing; `takeArcDays` builds one day's `ArcDay[]` and frees that day's block.
 *
 * Per hour, 6 bytes: flow as a Uint16 (integer vehicles/hour), and one Uint32 holding the occupancy
 * as a scaled integer (×10^5, 24 bits), the etat code (3 bits) and the offset code (2 bits, 0 = no
 * row). Exactness: a value is stored scaled only if decoding gives back the very same double
 * (`q / scale === v`, and not -0); anything else (decimals beyond the scale, huge values) goes to a
 * per-day side table as a plain number. So values always equal what the csv-parse path gives.
 *
 * Each hour slot keeps its *first* row (the row with the natural Paris offset of that hour). The one
 * hour that can hold two distinct instants — the repeated autumn hour, 02:00+02:00 then 02:00+01:00 —
 * keeps its second row in a small side table, so a merge can still tell a duplicate (same instant)
 * from the other half of that hour. Outputs combine the halves exactly as the accumulator does:
 * flows added, occupancies averaged, the more severe state.
 *
 * First-seen rules (libelle, geo_point, row length) follow file order: partial results are merged in
 * range order, and each slot remembers which of its hours supplied those values, so a merge can detect
 * the (pathological) case where that row turns out to be a duplicate of an earlier range. The values
 * themselves are interned (an arc has the same libelle, point and length on almost every day).
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import type { ArcDay } from '../arc-day.ts';
import { compareArcIds } from '../aggregate.ts';
import { ETATS_TRAFIC, ETAT_SEVERITY } from '../normalize.ts';

/** Severity of an etat code (1 + index in ETATS_TRAFIC); 0 = no row. */
const SEVERITY_OF_CODE = [-1, ...ETATS_TRAFIC.map((e) => ETAT_SEVERITY[e])];

export const HOURS = 24;
/** Source code added to the hour when the value came from the second half of the autumn hour. */
export const SECOND_HALF = 24;

/** Offset codes stored per hour: 0 = empty, 1 = UTC+01:00 (60 min), 2 = UTC+02:00 (120 min). */
export const offsetCode = (offsetMinutes: number): number => (offsetMinutes === 120 ? 2 : 1);
export const offsetMinutesOf = (code: number): number => (code === 2 ? 120 : 60);

// Flow cell (Uint16): the integer value, or one of two markers.
const FLOW_NULL = 0xffff;
const FLOW_SIDE = 0xfffe;
const FLOW_MAX = 0xfffd;
// Occupancy bits of the Uint32 cell: value × 10^5, or one of two markers.
const OCC_SCALE = 1e5;
const OCC_MASK = 0xffffff;
const OCC_NULL = 0xffffff;
const OCC_SIDE = 0xfffffe;
const OCC_MAX = 10_000_000; // 100 %
const ETAT_SHIFT = 24;
const OFF_SHIFT = 27;

/** The second row of a repeated hour (see file comment). NaN = null. */
export interface SecondHalf {
  off: number;
  flow: number;
  occ: number;
  etat: number; // 1 + index in ETATS_TRAFIC
}

/** Plain-data form of one day block, structured-clone friendly (typed arrays are transferred). */
export interface DayState {
  day: number;
  size: number;
  /** Slots the arrays are laid out for (hour-major arrays: index hour × cap + slot). */
  cap: number;
  /** Per slot: arc index. */
  arc: Int32Array;
  /** Per hour × slot (hour-major): encoded flow. */
  flow: Uint16Array;
  /** Per hour × slot (hour-major): occupancy | etat << 24 | offset code << 27 (0 = no row). */
  cell: Uint32Array;
  /** Per slot: 1 + index in the libelle / geo / length tables, 0 = not set yet. */
  lib: Int32Array;
  geo: Int32Array;
  len: Int32Array;
  /** Per slot: 1 + source hour code of [libelle, geo_point, row length], 0 = not set. */
  src: Uint8Array;
  /** Side tables are keyed by slot × 24 + hour. */
  flowSide: [number, number][];
  occSide: [number, number][];
  second: [number, SecondHalf][];
  /** slot*24+hour of rows whose instant was chosen by the summer-first rule of offset-less times. */
  ambiguous: number[];
  /** Set when the arrays were spilled to a scratch file (they are then empty here). */
  disk?: DiskRef;
}

/** Where a spilled block's arrays are: whole (`cap` slots) in field order at `pos` of `path`. */
export interface DiskRef {
  path: string;
  pos: number;
}

/** A block's per-slot and per-hour arrays (the part that is spilled, transferred and recycled). */
type Columns = Pick<DayState, 'arc' | 'flow' | 'cell' | 'lib' | 'geo' | 'len' | 'src'>;

/** Zeroed columns for `cap` slots. */
const allocColumns = (cap: number): Columns => ({
  arc: new Int32Array(cap),
  flow: new Uint16Array(cap * HOURS),
  cell: new Uint32Array(cap * HOURS),
  lib: new Int32Array(cap),
  geo: new Int32Array(cap),
  len: new Int32Array(cap),
  src: new Uint8Array(cap * 3),
});

/** The columns in their fixed order (the layout of a spilled block on disk). */
const columnList = (c: Columns): (Int32Array | Uint16Array | Uint32Array | Uint8Array)[] => [
  c.arc,
  c.flow,
  c.cell,
  c.lib,
  c.geo,
  c.len,
  c.src,
];

/** The arrays of a spilled block, kept for the next block. */
type BlockArrays = Columns & { cap: number; slotOfArc: Int32Array };

/** Index remapping of a block adopted from a later range while still on disk, applied when loaded. */
interface Remap {
  arc: number[];
  lib: number[];
  geo: number[];
  len: number[];
}

/**
 * Spilling (workers): at most `residentSlots` arc-days stay in memory; the least recently used day
 * blocks go to `path`. Road-count files are roughly time-ordered, so a spilled day is rarely touched
 * again; when one is, it is read back and the budget doubles (a shuffled file degrades to in-memory).
 */
export interface SpillOptions {
  path: string;
  residentSlots: number;
}

export interface CompactState {
  arcIds: string[];
  libs: string[];
  /** [lat, lon] pairs, flattened. */
  geos: number[];
  lens: number[];
  days: DayState[];
}

const DAY_MS = 86_400_000;
/** Numeric arc ids below this are looked up in a dense array (≤ 4 MB; Paris ids are below 10,000). */
const DENSE_ARC_IDS = 1 << 20;

/** 'YYYY-MM-DD' of a day number (days since 1970-01-01). */
export const dayString = (dayNum: number): string => new Date(dayNum * DAY_MS).toISOString().slice(0, 10);

const isNegZero = (v: number): boolean => v === 0 && 1 / v < 0;

/** One Paris day's arc-days. */
export class DayBlock {
  size = 0;
  cap: number;
  /** Arc index → 1 + slot (0 = absent). */
  slotOfArc: Int32Array;
  // The columns (set by setColumns; plain fields, read on every row).
  arc!: Int32Array;
  flow!: Uint16Array;
  cell!: Uint32Array;
  lib!: Int32Array;
  geo!: Int32Array;
  len!: Int32Array;
  src!: Uint8Array;
  readonly flowSide = new Map<number, number>();
  readonly occSide = new Map<number, number>();
  readonly second = new Map<number, SecondHalf>();
  readonly ambiguous = new Set<number>();
  /** Non-null while the arrays are on disk. */
  disk: DiskRef | null = null;
  remap: Remap | null = null;
  lastUse = 0;

  constructor(
    readonly day: number,
    cap: number,
    arcs: number,
  ) {
    this.cap = cap;
    this.slotOfArc = new Int32Array(Math.max(arcs, 16));
    this.setColumns(allocColumns(cap));
  }

  private setColumns(c: Columns): void {
    this.arc = c.arc;
    this.flow = c.flow;
    this.cell = c.cell;
    this.lib = c.lib;
    this.geo = c.geo;
    this.len = c.len;
    this.src = c.src;
  }

  private columns(): Columns {
    return {
      arc: this.arc,
      flow: this.flow,
      cell: this.cell,
      lib: this.lib,
      geo: this.geo,
      len: this.len,
      src: this.src,
    };
  }

  static fromState(st: DayState, arcs: number): DayBlock {
    const b = new DayBlock(st.day, 0, arcs);
    b.size = st.size;
    b.cap = st.cap;
    b.setColumns(st);
    if (st.disk) b.disk = st.disk;
    else for (let s = 0; s < st.size; s++) b.indexArc(st.arc[s]!, s);
    for (const [k, v] of st.flowSide) b.flowSide.set(k, v);
    for (const [k, v] of st.occSide) b.occSide.set(k, v);
    for (const [k, v] of st.second) b.second.set(k, v);
    for (const k of st.ambiguous) b.ambiguous.add(k);
    return b;
  }

  toState(): DayState {
    return {
      day: this.day,
      size: this.size,
      cap: this.cap,
      ...this.columns(),
      flowSide: [...this.flowSide],
      occSide: [...this.occSide],
      second: [...this.second],
      ambiguous: [...this.ambiguous],
      ...(this.disk ? { disk: this.disk } : {}),
    };
  }

  private arrays(): (Int32Array | Uint16Array | Uint32Array | Uint8Array)[] {
    return columnList(this);
  }

  /**
   * Writes the arrays at the end of the scratch file `fd` and drops them from this block; returns
   * the new end of file and the arrays themselves, for reuse by the next day's block.
   */
  spill(fd: number, path: string, pos: number): [number, BlockArrays] {
    this.disk = { path, pos };
    for (const a of this.arrays()) {
      const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      pos += writeSync(fd, bytes, 0, bytes.length, pos);
    }
    const freed: BlockArrays = { cap: this.cap, slotOfArc: this.slotOfArc, ...this.columns() };
    // `cap` stays: it is the layout of the arrays on disk.
    this.setColumns(allocColumns(0));
    this.slotOfArc = new Int32Array(0);
    return [pos, freed];
  }

  /**
   * A fresh block on recycled arrays (zeroed): a worker spills a day and starts another at the same
   * pace, and reusing the buffers keeps dead ArrayBuffers from piling up between garbage collections.
   */
  static recycled(day: number, a: BlockArrays, arcs: number): DayBlock {
    const b = new DayBlock(day, 0, 0);
    b.cap = a.cap;
    for (const x of [...columnList(a), a.slotOfArc]) x.fill(0);
    b.slotOfArc = a.slotOfArc.length >= arcs ? a.slotOfArc : new Int32Array(arcs);
    b.setColumns(a);
    return b;
  }

  /**
   * Reads spilled arrays back (and applies a pending remap); `arcs` sizes the arc index. `reuse`:
   * arrays of a block already taken, large enough, recycled instead of allocating.
   */
  load(arcs: number, reuse?: BlockArrays): void {
    const disk = this.disk;
    if (!disk) return;
    const n = this.size;
    const cap = this.cap;
    // Recycled arrays must have the same layout (hour-major arrays depend on cap); they are overwritten.
    this.setColumns(reuse && reuse.cap === cap ? reuse : allocColumns(cap));
    const fd = openSync(disk.path, 'r');
    try {
      let pos = disk.pos;
      for (const a of this.arrays()) {
        const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
        let done = 0;
        while (done < bytes.length) {
          const got = readSync(fd, bytes, done, bytes.length - done, pos + done);
          if (got === 0) throw new Error(`road-count scratch file ${disk.path} is truncated`);
          done += got;
        }
        pos += bytes.length;
      }
    } finally {
      closeSync(fd);
    }
    this.disk = null;
    const r = this.remap;
    if (r) {
      for (let s = 0; s < n; s++) {
        this.arc[s] = r.arc[this.arc[s]!]!;
        this.lib[s] = r.lib[this.lib[s]!]!;
        this.geo[s] = r.geo[this.geo[s]!]!;
        this.len[s] = r.len[this.len[s]!]!;
      }
      this.remap = null;
    }
    this.slotOfArc = new Int32Array(Math.max(arcs, 16));
    for (let s = 0; s < n; s++) this.indexArc(this.arc[s]!, s);
  }

  buffers(): ArrayBuffer[] {
    return this.arrays().map((a) => a.buffer as ArrayBuffer);
  }

  slotOf(arc: number): number {
    if (this.disk) throw new Error('day block used while spilled');
    return arc < this.slotOfArc.length ? this.slotOfArc[arc]! - 1 : -1;
  }

  private indexArc(arc: number, slot: number): void {
    if (arc >= this.slotOfArc.length) {
      const wider = new Int32Array(Math.max(arc + 1, this.slotOfArc.length * 2));
      wider.set(this.slotOfArc);
      this.slotOfArc = wider;
    }
    this.slotOfArc[arc] = slot + 1;
  }

  addSlot(arc: number): number {
    if (this.size === this.cap) this.grow();
    const s = this.size++;
    this.arc[s] = arc;
    this.indexArc(arc, s);
    return s;
  }

  private grow(): void {
    const cap = Math.max(64, Math.ceil(this.cap * 1.5));
    const widen = <T extends Int32Array | Uint16Array | Uint32Array | Uint8Array>(a: T, per: number): T => {
      const b = new (a.constructor as new (n: number) => T)(cap * per);
      b.set(a);
      return b;
    };
    // Hour-major arrays: each hour's row of slots moves to its new place.
    const relayout = <T extends Uint16Array | Uint32Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(cap * HOURS);
      for (let h = 0; h < HOURS; h++) b.set(a.subarray(h * this.cap, h * this.cap + this.size), h * cap);
      return b;
    };
    this.arc = widen(this.arc, 1);
    this.flow = relayout(this.flow);
    this.cell = relayout(this.cell);
    this.lib = widen(this.lib, 1);
    this.geo = widen(this.geo, 1);
    this.len = widen(this.len, 1);
    this.src = widen(this.src, 3);
    this.cap = cap;
  }

  /** Offset code held at (slot, hour) (0 = empty). */
  offAt(slot: number, hour: number): number {
    return this.cell[hour * this.cap + slot]! >>> OFF_SHIFT;
  }

  has(slot: number, hour: number, off: number): boolean {
    const o = this.cell[hour * this.cap + slot]! >>> OFF_SHIFT;
    if (o === off) return true;
    if (o === 0) return false;
    return this.second.get(slot * HOURS + hour)?.off === off;
  }

  put(slot: number, hour: number, off: number, flow: number, occ: number, etat: number): number {
    // Arrays are hour-major (rows of one hour for all arcs sit together: the scanner's working set
    // is a few hours of a day, not whole 24-hour stretches); side tables use slot × 24 + hour.
    const i = hour * this.cap + slot;
    const key = slot * HOURS + hour;
    if (this.cell[i]! >>> OFF_SHIFT !== 0) {
      this.second.set(key, { off, flow, occ, etat });
      return hour + SECOND_HALF;
    }
    let f = FLOW_NULL;
    if (flow === flow) {
      // Integers up to FLOW_MAX (not -0) are stored as is; anything else on the side.
      if (flow >= 0 && flow <= FLOW_MAX && (flow | 0) === flow && !isNegZero(flow)) f = flow;
      else {
        f = FLOW_SIDE;
        this.flowSide.set(key, flow);
      }
    }
    let q = OCC_NULL;
    if (occ === occ) {
      q = Math.round(occ * OCC_SCALE);
      if (!(q >= 0 && q <= OCC_MAX && q / OCC_SCALE === occ && !isNegZero(occ))) {
        q = OCC_SIDE;
        this.occSide.set(key, occ);
      }
    }
    this.flow[i] = f;
    this.cell[i] = q | (etat << ETAT_SHIFT) | (off << OFF_SHIFT);
    return hour;
  }

  /** Flow of the first row at (slot, hour), NaN = null. */
  flowAt(slot: number, hour: number): number {
    const f = this.flow[hour * this.cap + slot]!;
    return f === FLOW_NULL ? NaN : f === FLOW_SIDE ? this.flowSide.get(slot * HOURS + hour)! : f;
  }

  occAt(slot: number, hour: number): number {
    const q = this.cell[hour * this.cap + slot]! & OCC_MASK;
    return q === OCC_NULL ? NaN : q === OCC_SIDE ? this.occSide.get(slot * HOURS + hour)! : q / OCC_SCALE;
  }

  etatAt(slot: number, hour: number): number {
    return (this.cell[hour * this.cap + slot]! >>> ETAT_SHIFT) & 7;
  }
}

/** 24 nulls as a packed array literal (cloned from its boilerplate, cheaper than `new Array(24)`). */
// prettier-ignore
const nulls24 = (): null[] => [
  null, null, null, null, null, null, null, null, null, null, null, null,
  null, null, null, null, null, null, null, null, null, null, null, null,
];

export class CompactArcDays {
  readonly arcIds: string[] = [];
  /** Arc index + 1 of small numeric ids (0 = unknown); larger ones in `numArc`. */
  private denseArc = new Int32Array(1024);
  private readonly numArc = new Map<number, number>();
  private readonly strArc = new Map<string, number>();
  private readonly blocks = new Map<number, DayBlock>();
  private last: DayBlock | null = null;
  /** The block of the day last passed to `select` (the scanner's current row). */
  cur!: DayBlock;
  readonly libs: string[] = [];
  readonly geos: number[] = [];
  readonly lens: number[] = [];
  private readonly libIndex = new Map<string, number>();
  private readonly geoIndex = new Map<string, number>();
  private readonly lenIndex = new Map<number, number>();
  private spillFd = -1;
  private spillPos = 0;
  private readonly pool: BlockArrays[] = [];
  private clock = 0;
  /** Blocks read back from the scratch file (each doubles the memory budget). */
  reloads = 0;

  constructor(private readonly spillOpts: SpillOptions | null = null) {}

  /** Arc index of a canonical integer id (digits, no leading zero): no string is built per row. */
  arcOfNumber(n: number): number {
    if (n < DENSE_ARC_IDS) {
      const a = n < this.denseArc.length ? this.denseArc[n]! - 1 : -1;
      return a >= 0 ? a : this.newArc(String(n));
    }
    const a = this.numArc.get(n);
    return a === undefined ? this.newArc(String(n)) : a;
  }

  arcOfString(id: string): number {
    if (/^(0|[1-9]\d{0,14})$/.test(id)) return this.arcOfNumber(Number(id));
    const a = this.strArc.get(id);
    return a === undefined ? this.newArc(id) : a;
  }

  private newArc(id: string): number {
    const a = this.arcIds.length;
    this.arcIds.push(id);
    if (/^(0|[1-9]\d{0,14})$/.test(id)) {
      const n = Number(id);
      if (n < DENSE_ARC_IDS) {
        if (n >= this.denseArc.length) {
          const wider = new Int32Array(Math.min(DENSE_ARC_IDS, Math.max(n + 1, this.denseArc.length * 2)));
          wider.set(this.denseArc);
          this.denseArc = wider;
        }
        this.denseArc[n] = a + 1;
      } else this.numArc.set(n, a);
    } else this.strArc.set(id, a);
    return a;
  }

  /** Makes `day` the current block (created empty if absent); returns the arc's slot there, or -1. */
  select(arc: number, day: number): number {
    let blk = this.last;
    if (blk === null || blk.day !== day) {
      blk = this.blocks.get(day) ?? null;
      if (blk === null) {
        const cap = Math.max(64, this.arcIds.length);
        const reuse = this.pool.pop();
        blk =
          reuse && reuse.cap >= cap
            ? DayBlock.recycled(day, reuse, this.arcIds.length)
            : new DayBlock(day, cap, this.arcIds.length);
        this.blocks.set(day, blk);
        if (this.spillOpts) this.spillColdBlocks(blk);
      } else if (blk.disk) {
        blk.load(this.arcIds.length);
        this.reloads++;
        this.spillOpts!.residentSlots *= 2;
      }
      blk.lastUse = ++this.clock;
      this.last = blk;
    }
    this.cur = blk;
    return blk.slotOf(arc);
  }

  /** Spills least recently used blocks (never `keep`) while resident arc-days exceed the budget. */
  private spillColdBlocks(keep: DayBlock): void {
    const opts = this.spillOpts!;
    const resident = [...this.blocks.values()].filter((b) => !b.disk && b !== keep);
    let slots = resident.reduce((n, b) => n + b.size, 0);
    if (slots <= opts.residentSlots) return;
    resident.sort((a, b) => a.lastUse - b.lastUse);
    if (this.spillFd < 0) this.spillFd = openSync(opts.path, 'w');
    for (const b of resident) {
      if (slots <= opts.residentSlots) break;
      slots -= b.size;
      const [pos, freed] = b.spill(this.spillFd, opts.path, this.spillPos);
      this.spillPos = pos;
      if (this.pool.length < 2) this.pool.push(freed);
    }
  }

  /** Closes the scratch file (the reader deletes it once the days are taken). */
  closeSpill(): void {
    if (this.spillFd >= 0) closeSync(this.spillFd);
    this.spillFd = -1;
  }

  /** Number of arc-days held. */
  get size(): number {
    let n = 0;
    for (const b of this.blocks.values()) n += b.size;
    return n;
  }

  // Interned first-seen values; the stored index is 1 + table index (0 = not set).
  internLib(s: string): number {
    let k = this.libIndex.get(s);
    if (k === undefined) this.libIndex.set(s, (k = this.libs.push(s)));
    return k;
  }
  internGeo(lat: number, lon: number): number {
    const key = `${lat},${lon}`;
    const k = this.geoIndex.get(key);
    // The key collapses -0 and 0: only reuse an entry that is the very same pair.
    if (k !== undefined && Object.is(this.geos[2 * k - 2], lat) && Object.is(this.geos[2 * k - 1], lon))
      return k;
    this.geos.push(lat, lon);
    const fresh = this.geos.length / 2;
    if (k === undefined) this.geoIndex.set(key, fresh);
    return fresh;
  }
  internLen(v: number): number {
    let k = this.lenIndex.get(v);
    if (k === undefined || !Object.is(this.lens[k - 1], v)) {
      k = this.lens.push(v);
      this.lenIndex.set(v, k);
    }
    return k;
  }

  // First-seen setters on the current block (`select` first).
  needsLibelle(slot: number): boolean {
    return this.cur.lib[slot] === 0;
  }
  setLibelle(slot: number, libelle: string, source: number): void {
    this.cur.lib[slot] = this.internLib(libelle);
    this.cur.src[slot * 3] = source + 1;
  }
  needsGeo(slot: number): boolean {
    return this.cur.geo[slot] === 0;
  }
  setGeo(slot: number, lat: number, lon: number, source: number): void {
    this.cur.geo[slot] = this.internGeo(lat, lon);
    this.cur.src[slot * 3 + 1] = source + 1;
  }
  /** Setters taking an index from `internLib` / `internGeo` / `internLen`. */
  setLibelleIndex(slot: number, k: number, source: number): void {
    this.cur.lib[slot] = k;
    this.cur.src[slot * 3] = source + 1;
  }
  setGeoIndex(slot: number, k: number, source: number): void {
    this.cur.geo[slot] = k;
    this.cur.src[slot * 3 + 1] = source + 1;
  }
  setLengthIndex(slot: number, k: number, source: number): void {
    this.cur.len[slot] = k;
    this.cur.src[slot * 3 + 2] = source + 1;
  }
  needsLength(slot: number): boolean {
    return this.cur.len[slot] === 0;
  }
  setLength(slot: number, length: number, source: number): void {
    this.cur.len[slot] = this.internLen(length);
    this.cur.src[slot * 3 + 2] = source + 1;
  }

  /** Plain data for postMessage; pass `transferList()` along to move the buffers instead of copying. */
  toState(): CompactState {
    return {
      arcIds: this.arcIds,
      libs: this.libs,
      geos: this.geos,
      lens: this.lens,
      days: [...this.blocks.values()].map((b) => b.toState()),
    };
  }

  transferList(): ArrayBuffer[] {
    return [...this.blocks.values()].flatMap((b) => b.buffers());
  }

  /** Adopts a transferred state (the first range's result) without copying its arrays. */
  static fromState(st: CompactState): CompactArcDays {
    const c = new CompactArcDays();
    for (const id of st.arcIds) c.arcOfString(id);
    for (const s of st.libs) c.internLib(s);
    for (let k = 0; k < st.geos.length; k += 2) c.internGeo(st.geos[k]!, st.geos[k + 1]!);
    for (const v of st.lens) c.internLen(v);
    // Tables are interned again above; a table with repeated values would shift indices.
    if (
      c.libs.length !== st.libs.length ||
      c.geos.length !== st.geos.length ||
      c.lens.length !== st.lens.length
    )
      throw new Error('compact state tables are not distinct');
    for (const d of st.days) c.blocks.set(d.day, DayBlock.fromState(d, st.arcIds.length));
    return c;
  }

  /**
   * Folds the partial result of the *next* byte range into this one. Returns the hour keys of `other`
   * rows that duplicate an instant already held here (they must be rejected as `duplicate_row`), or
   * `null` when the merge cannot reproduce single-pass semantics exactly (a duplicate supplied a
   * first-seen value that is still unset here, or an offset-less autumn time straddles the ranges):
   * the caller then re-reads the file in one range. `other`'s arrays are reused (and modified).
   */
  mergeNext(other: CompactState): MergeDuplicate[] | null {
    const dups: MergeDuplicate[] = [];
    const arcMap = other.arcIds.map((id) => this.arcOfString(id));
    const libMap = [0, ...other.libs.map((s) => this.internLib(s))];
    const geoMap = [0];
    for (let k = 0; k < other.geos.length; k += 2)
      geoMap.push(this.internGeo(other.geos[k]!, other.geos[k + 1]!));
    const lenMap = [0, ...other.lens.map((v) => this.internLen(v))];
    for (const od of other.days) {
      const mine = this.blocks.get(od.day);
      if (!mine) {
        // A day no earlier range has: nothing to de-duplicate, adopt the block with indices remapped
        // (now, or when it is read back if it is on disk).
        if (od.disk) {
          const blk = DayBlock.fromState(od, 0);
          blk.remap = { arc: arcMap, lib: libMap, geo: geoMap, len: lenMap };
          this.blocks.set(od.day, blk);
          continue;
        }
        for (let s = 0; s < od.size; s++) {
          od.arc[s] = arcMap[od.arc[s]!]!;
          od.lib[s] = libMap[od.lib[s]!]!;
          od.geo[s] = geoMap[od.geo[s]!]!;
          od.len[s] = lenMap[od.len[s]!]!;
        }
        this.blocks.set(od.day, DayBlock.fromState(od, this.arcIds.length));
        continue;
      }
      this.last = null;
      mine.load(this.arcIds.length);
      const ob = DayBlock.fromState(od, 0);
      ob.load(0);
      for (let s = 0; s < ob.size; s++) {
        const arcId = other.arcIds[ob.arc[s]!]!;
        const arc = arcMap[ob.arc[s]!]!;
        let t = mine.slotOf(arc);
        if (t < 0) t = mine.addSlot(arc);
        let dupSources: Set<number> | null = null;
        const take = (h: number, o: number, f: number, q: number, e: number, source: number): void => {
          if (mine.has(t, h, o)) {
            dups.push({ arcId, dayNum: od.day, hour: h, offsetMinutes: offsetMinutesOf(o) });
            (dupSources ??= new Set()).add(source);
          } else mine.put(t, h, o, f, q, e);
        };
        for (let h = 0; h < HOURS; h++) {
          const oi = s * HOURS + h;
          const off = ob.offAt(s, h);
          if (off === 0) continue;
          if (ob.ambiguous.has(oi) && mine.offAt(t, h) !== 0) return null;
          take(h, off, ob.flowAt(s, h), ob.occAt(s, h), ob.etatAt(s, h), h);
          const sec = ob.second.get(oi);
          if (sec) take(h, sec.off, sec.flow, sec.occ, sec.etat, h + SECOND_HALF);
        }
        const isDup = (source: number): boolean => dupSources !== null && dupSources.has(source);
        const src = (k: number): number => ob.src[s * 3 + k]! - 1;
        if (mine.lib[t] === 0 && ob.lib[s] !== 0) {
          if (isDup(src(0))) return null;
          mine.lib[t] = libMap[ob.lib[s]!]!;
          mine.src[t * 3] = src(0) + 1;
        }
        if (mine.geo[t] === 0 && ob.geo[s] !== 0) {
          if (isDup(src(1))) return null;
          mine.geo[t] = geoMap[ob.geo[s]!]!;
          mine.src[t * 3 + 1] = src(1) + 1;
        }
        if (mine.len[t] === 0 && ob.len[s] !== 0) {
          if (isDup(src(2))) return null;
          mine.len[t] = lenMap[ob.len[s]!]!;
          mine.src[t * 3 + 2] = src(2) + 1;
        }
      }
    }
    return dups;
  }

  /** True while some day is still on disk. */
  hasSpilled(): boolean {
    for (const b of this.blocks.values()) if (b.disk) return true;
    return false;
  }

  /** Day numbers held, ascending. */
  dayNumbers(): number[] {
    return [...this.blocks.keys()].sort((a, b) => a - b);
  }

  private arcRank: Int32Array | null = null;

  /**
   * The `ArcDay` records of one day (arcs in `compareArcIds` order, as aggregate.ts), then frees that
   * day's block: a second call for the same day returns []. Call only once all ranges are merged.
   */
  takeArcDays(dayNum: number): ArcDay[] {
    const blk = this.blocks.get(dayNum);
    if (!blk) return [];
    this.blocks.delete(dayNum);
    if (this.last === blk) this.last = null;
    blk.load(this.arcIds.length, this.pool.pop());
    if (!this.arcRank || this.arcRank.length !== this.arcIds.length) {
      const order = this.arcIds
        .map((_, a) => a)
        .sort((a, b) => compareArcIds(this.arcIds[a]!, this.arcIds[b]!));
      this.arcRank = new Int32Array(order.length);
      order.forEach((a, r) => (this.arcRank![a] = r));
    }
    // Slots in arc-rank order: ranks are distinct, so a direct placement replaces a comparison sort.
    const rank = this.arcRank;
    const byRank = new Int32Array(rank.length);
    for (let s = 0; s < blk.size; s++) byRank[rank[blk.arc[s]!]!] = s + 1;
    const day = dayString(dayNum);
    const list: ArcDay[] = [];
    for (let r = 0; r < byRank.length; r++)
      if (byRank[r]! !== 0) list.push(this.arcDay(blk, byRank[r]! - 1, day));
    // This day's arrays serve the next day read back from disk.
    if (this.pool.length < 2)
      this.pool.push({
        cap: blk.cap,
        slotOfArc: blk.slotOfArc,
        arc: blk.arc,
        flow: blk.flow,
        cell: blk.cell,
        lib: blk.lib,
        geo: blk.geo,
        len: blk.len,
        src: blk.src,
      });
    return list;
  }

  private arcDay(blk: DayBlock, s: number, day: string): ArcDay {
    // Packed arrays of the exact size, written in place (no holey-to-packed transitions).
    const flow = nulls24() as (number | null)[];
    const occupancy = nulls24() as (number | null)[];
    const etat = nulls24() as (string | null)[];
    let rows = 0;
    const hasSecond = blk.second.size !== 0;
    const cap = blk.cap;
    const cells = blk.cell;
    const flows = blk.flow;
    for (let h = 0; h < HOURS; h++) {
      const c = cells[h * cap + s]!;
      if (c >>> OFF_SHIFT === 0) continue;
      rows++;
      const fr = flows[h * cap + s]!;
      let f = fr === FLOW_NULL ? NaN : fr === FLOW_SIDE ? blk.flowSide.get(s * HOURS + h)! : fr;
      let code = (c >>> ETAT_SHIFT) & 7;
      // Occupancy as the accumulator computes it: 0 + each value, divided by the count when 2.
      let occSum = 0;
      let occN = 0;
      const qr = c & OCC_MASK;
      if (qr !== OCC_NULL) {
        occSum += qr === OCC_SIDE ? blk.occSide.get(s * HOURS + h)! : qr / OCC_SCALE;
        occN++;
      }
      const sec = hasSecond ? blk.second.get(s * HOURS + h) : undefined;
      if (sec) {
        rows++;
        if (sec.flow === sec.flow) f = f === f ? f + sec.flow : sec.flow;
        if (sec.occ === sec.occ) {
          occSum += sec.occ;
          occN++;
        }
        if (code === 0 || SEVERITY_OF_CODE[sec.etat]! > SEVERITY_OF_CODE[code]!) code = sec.etat;
      }
      flow[h] = f === f ? f : null;
      occupancy[h] = occN === 0 ? null : occN === 1 ? occSum : occSum / occN;
      etat[h] = code === 0 ? null : ETATS_TRAFIC[code - 1]!;
    }
    const g = blk.geo[s]!;
    const l = blk.len[s]!;
    const lib = blk.lib[s]!;
    return {
      arc_id: this.arcIds[blk.arc[s]!]!,
      day,
      libelle: lib === 0 ? '' : this.libs[lib - 1]!,
      flow,
      occupancy,
      etat,
      geo_point: g === 0 ? null : [this.geos[2 * g - 2]!, this.geos[2 * g - 1]!],
      row_length_m: l === 0 ? null : this.lens[l - 1]!,
      rows,
    };
  }
}

export interface MergeDuplicate {
  arcId: string;
  dayNum: number;
  hour: number;
  offsetMinutes: number;
}
