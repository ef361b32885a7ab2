/**
 * Compact arc-day accumulator of the fast reader: the same numbers as `ArcDayAccumulator`
 * (aggregate.ts) in flat typed arrays, one block per Paris day, ≈ 150 B per arc-day and no per-row or
 * per-arc-day objects. It is fed one day bucket at a time (replay.ts), in file order, so the rules of
 * the csv-parse path (first row per hour, first-seen values) hold as they are. Blocks of finished
 * buckets are spilled to a scratch file; `takeArcDays` builds one day's `ArcDay[]` and frees that day.
 *
 * Per hour, 6 bytes: the flow code as a Uint16 and one Uint32 holding the occupancy code (24 bits),
 * the etat code (3 bits) and the offset code (2 bits, 0 = no row); values-codes.ts keeps them exact.
 * A value the code cannot hold exactly (a decimal flow, 7 decimals of occupancy…) is kept as a plain
 * number in a side column of the block, one Float64Array per field laid out like the others and
 * allocated on the block's first such value: spilled, transferred and recycled with the block, so a
 * file where every value needs one costs 8 B more per hour, never a per-value object (it used to be a
 * Map entry per value, kept in memory through spills: 983 MB and 20 s for a 1 GB file of decimal flows).
 *
 * Each hour slot keeps its *first* row (the row with the natural Paris offset of that hour). The one
 * hour that can hold two distinct instants — the repeated autumn hour, 02:00+02:00 then 02:00+01:00 —
 * keeps its second row in a small side table. Outputs combine the halves exactly as the accumulator
 * does: flows added, occupancies averaged, the more severe state.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import type { ArcDay } from '../arc-day.ts';
// Types only: this module runs in the reader's workers, which need not load Arrow.
import type { ArcDayRowSink } from '../arc-day-table.ts';
import { compareArcIds } from '../aggregate.ts';
import { ETATS_TRAFIC, ETAT_SEVERITY } from '../normalize.ts';
import { Interner, type InternTables } from './intern.ts';
import { FLOW_SIDE, OCC_MASK, OCC_NULL, OCC_SIDE, flowValue, occValue } from './value-codes.ts';

/** Severity of an etat code (1 + index in ETATS_TRAFIC); 0 = no row. */
const SEVERITY_OF_CODE = [-1, ...ETATS_TRAFIC.map((e) => ETAT_SEVERITY[e])];

const HOURS = 24;

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
  /**
   * Per hour × slot (hour-major), the plain numbers behind FLOW_SIDE / OCC_SIDE codes; empty until the
   * block has one (see the file comment).
   */
  flowX: Float64Array;
  occX: Float64Array;
  /** Keyed by slot × 24 + hour. */
  second: [number, SecondHalf][];
  /** Set when the arrays were spilled to a scratch file (they are then empty here). */
  disk?: DiskRef;
}

/**
 * Where a spilled block's arrays are: whole (`cap` slots) in field order at `pos` of `path`, the side
 * columns last, only those the block had (`sides`: FLOW_X | OCC_X).
 */
export interface DiskRef {
  path: string;
  pos: number;
  sides: number;
}

const FLOW_X = 1;
const OCC_X = 2;

/** A block's per-slot and per-hour arrays (the part that is spilled, transferred and recycled). */
type Columns = Pick<DayState, 'arc' | 'flow' | 'cell' | 'lib' | 'geo' | 'len' | 'flowX' | 'occX'>;
type Column = Columns[keyof Columns];

/** Zeroed columns for `cap` slots; side columns only those in `sides`. */
const allocColumns = (cap: number, sides = 0): Columns => ({
  arc: new Int32Array(cap),
  flow: new Uint16Array(cap * HOURS),
  cell: new Uint32Array(cap * HOURS),
  lib: new Int32Array(cap),
  geo: new Int32Array(cap),
  len: new Int32Array(cap),
  flowX: new Float64Array(sides & FLOW_X ? cap * HOURS : 0),
  occX: new Float64Array(sides & OCC_X ? cap * HOURS : 0),
});

/** The columns in their fixed order (the layout of a spilled block on disk; empty side columns add nothing). */
const columnList = (c: Columns): Column[] => [c.arc, c.flow, c.cell, c.lib, c.geo, c.len, c.flowX, c.occX];

/** Which side columns hold values. */
const sidesOf = (c: Columns): number => (c.flowX.length > 0 ? FLOW_X : 0) | (c.occX.length > 0 ? OCC_X : 0);

/** The arrays of a spilled block, kept for the next block. */
type BlockArrays = Columns & { cap: number; slotOfArc: Int32Array };

/**
 * Spilling: at most `residentSlots` arc-days stay in memory; the least recently used day blocks go to
 * `path`. Buckets are aggregated one after the other, so a spilled day is rarely touched again; when
 * one is (a bucket holding more days than the budget), it is read back and the budget doubles.
 */
export interface SpillOptions {
  path: string;
  residentSlots: number;
}

export interface CompactState extends InternTables {
  days: DayState[];
}

const DAY_MS = 86_400_000;

/** 'YYYY-MM-DD' of a day number (days since 1970-01-01). */
export const dayString = (dayNum: number): string => new Date(dayNum * DAY_MS).toISOString().slice(0, 10);

/** One Paris day's arc-days. */
export class DayBlock {
  size = 0;
  cap: number;
  /** Arc index → 1 + slot (0 = absent); built on first use for a block read back or transferred. */
  slotOfArc: Int32Array;
  private slotsIndexed = true;
  // The columns (set by setColumns; plain fields, read on every row).
  arc!: Int32Array;
  flow!: Uint16Array;
  cell!: Uint32Array;
  lib!: Int32Array;
  geo!: Int32Array;
  len!: Int32Array;
  flowX!: Float64Array;
  occX!: Float64Array;
  readonly second = new Map<number, SecondHalf>();
  /** Non-null while the arrays are on disk. */
  disk: DiskRef | null = null;
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
    this.flowX = c.flowX;
    this.occX = c.occX;
  }

  private columns(): Columns {
    return {
      arc: this.arc,
      flow: this.flow,
      cell: this.cell,
      lib: this.lib,
      geo: this.geo,
      len: this.len,
      flowX: this.flowX,
      occX: this.occX,
    };
  }

  static fromState(st: DayState): DayBlock {
    const b = new DayBlock(st.day, 0, 0);
    b.size = st.size;
    b.cap = st.cap;
    b.setColumns(st);
    b.slotsIndexed = false;
    if (st.disk) b.disk = st.disk;
    for (const [k, v] of st.second) b.second.set(k, v);
    return b;
  }

  toState(): DayState {
    return {
      day: this.day,
      size: this.size,
      cap: this.cap,
      ...this.columns(),
      second: [...this.second],
      ...(this.disk ? { disk: this.disk } : {}),
    };
  }

  private arrays(): Column[] {
    return columnList(this);
  }

  /**
   * Writes the arrays at the end of the scratch file `fd` and drops them from this block; returns
   * the new end of file and the arrays themselves, for reuse by the next day's block.
   */
  spill(fd: number, path: string, pos: number): [number, BlockArrays] {
    this.disk = { path, pos, sides: sidesOf(this) };
    for (const a of this.arrays()) {
      const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      pos += writeSync(fd, bytes, 0, bytes.length, pos);
    }
    const freed = this.arraysForReuse();
    // `cap` stays: it is the layout of the arrays on disk.
    this.setColumns(allocColumns(0));
    this.slotOfArc = new Int32Array(0);
    return [pos, freed];
  }

  /** This block's arrays, for a later block to reuse (`recycled`, `load`). */
  arraysForReuse(): BlockArrays {
    return { cap: this.cap, slotOfArc: this.slotOfArc, ...this.columns() };
  }

  /**
   * A fresh block on recycled arrays (zeroed): a worker spills a day and starts another at the same
   * pace, and reusing the buffers keeps dead ArrayBuffers from piling up between garbage collections.
   * Side columns are not carried over: a block gets them with its own first value that needs one (else
   * one odd value early in a file would make every later block spill and transfer them).
   */
  static recycled(day: number, a: BlockArrays, arcs: number): DayBlock {
    const b = new DayBlock(day, 0, 0);
    b.cap = a.cap;
    const c = { ...a, flowX: new Float64Array(0), occX: new Float64Array(0) };
    for (const x of [...columnList(c), a.slotOfArc]) x.fill(0);
    b.slotOfArc = a.slotOfArc.length >= arcs ? a.slotOfArc : new Int32Array(arcs);
    b.setColumns(c);
    return b;
  }

  /**
   * Reads spilled arrays back. `reuse`: arrays of a block already taken, large enough, recycled
   * instead of allocating.
   */
  load(reuse?: BlockArrays): void {
    const disk = this.disk;
    if (!disk) return;
    const cap = this.cap;
    // Recycled arrays must have the same layout (hour-major arrays depend on cap); they are overwritten.
    const c = reuse && reuse.cap === cap ? { ...reuse } : allocColumns(cap);
    // The side columns the block had when spilled, no other (the file holds those only).
    const sideLength = (side: number): number => (disk.sides & side ? cap * HOURS : 0);
    if (c.flowX.length !== sideLength(FLOW_X)) c.flowX = new Float64Array(sideLength(FLOW_X));
    if (c.occX.length !== sideLength(OCC_X)) c.occX = new Float64Array(sideLength(OCC_X));
    this.setColumns(c);
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
    this.slotsIndexed = false;
  }

  buffers(): ArrayBuffer[] {
    return this.arrays().map((a) => a.buffer as ArrayBuffer);
  }

  slotOf(arc: number): number {
    if (this.disk) throw new Error('day block used while spilled');
    if (!this.slotsIndexed) this.indexSlots();
    return arc < this.slotOfArc.length ? this.slotOfArc[arc]! - 1 : -1;
  }

  private indexSlots(): void {
    this.slotsIndexed = true;
    this.slotOfArc = new Int32Array(16);
    for (let s = 0; s < this.size; s++) this.indexArc(this.arc[s]!, s);
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
    if (!this.slotsIndexed) this.indexSlots();
    if (this.size === this.cap) this.grow();
    const s = this.size++;
    this.arc[s] = arc;
    this.indexArc(arc, s);
    return s;
  }

  private grow(): void {
    const cap = Math.max(64, Math.ceil(this.cap * 1.5));
    const widen = (a: Int32Array): Int32Array => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    // Hour-major arrays: each hour's row of slots moves to its new place.
    const relayout = <T extends Uint16Array | Uint32Array | Float64Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(a.length === 0 ? 0 : cap * HOURS);
      for (let h = 0; h < HOURS; h++) b.set(a.subarray(h * this.cap, h * this.cap + this.size), h * cap);
      return b;
    };
    this.arc = widen(this.arc);
    this.flow = relayout(this.flow);
    this.cell = relayout(this.cell);
    this.flowX = relayout(this.flowX);
    this.occX = relayout(this.occX);
    this.lib = widen(this.lib);
    this.geo = widen(this.geo);
    this.len = widen(this.len);
    this.cap = cap;
  }

  has(slot: number, hour: number, off: number): boolean {
    const o = this.cell[hour * this.cap + slot]! >>> OFF_SHIFT;
    if (o === off) return true;
    if (o === 0) return false;
    return this.second.get(slot * HOURS + hour)?.off === off;
  }

  /**
   * Stores a row (codes from value-codes.ts; `flowSide` / `occSide`: the numbers behind SIDE codes).
   * The caller has checked `has`: a second row at an occupied hour is the other half of the autumn hour.
   */
  put(
    slot: number,
    hour: number,
    off: number,
    flowCode: number,
    occCode: number,
    etat: number,
    flowSide: number,
    occSide: number,
  ): void {
    // Arrays are hour-major (rows of one hour for all arcs sit together); side tables use slot × 24 + hour.
    const i = hour * this.cap + slot;
    const key = slot * HOURS + hour;
    if (this.cell[i]! >>> OFF_SHIFT !== 0) {
      const flow = flowValue(flowCode, flowSide);
      this.second.set(key, { off, flow, occ: occValue(occCode, occSide), etat });
      return;
    }
    if (flowCode === FLOW_SIDE) {
      if (this.flowX.length === 0) this.flowX = new Float64Array(this.cap * HOURS);
      this.flowX[i] = flowSide;
    }
    if (occCode === OCC_SIDE) {
      if (this.occX.length === 0) this.occX = new Float64Array(this.cap * HOURS);
      this.occX[i] = occSide;
    }
    this.flow[i] = flowCode;
    this.cell[i] = occCode | (etat << ETAT_SHIFT) | (off << OFF_SHIFT);
  }
}

/** 24 nulls as a packed array literal (cloned from its boilerplate, cheaper than `new Array(24)`). */
// prettier-ignore
const nulls24 = (): null[] => [
  null, null, null, null, null, null, null, null, null, null, null, null,
  null, null, null, null, null, null, null, null, null, null, null, null,
];

export class CompactArcDays {
  /** Arc ids, libelles, points and lengths the blocks refer to. */
  readonly names: Interner;
  private readonly blocks = new Map<number, DayBlock>();
  /** Scratch of `decodeHour`. */
  private readonly hour: HourValues = { flow: NaN, occupancy: NaN, code: 0 };
  private last: DayBlock | null = null;
  /** The block of the day last passed to `select`. */
  cur!: DayBlock;
  private spillFd = -1;
  private spillPos = 0;
  private readonly pool: BlockArrays[] = [];
  private clock = 0;

  /** `names`: the tables the blocks will refer to (default: empty, filled by interning). */
  constructor(
    private readonly spillOpts: SpillOptions | null = null,
    names?: Interner,
  ) {
    this.names = names ?? new Interner();
  }

  get arcIds(): string[] {
    return this.names.arcIds;
  }

  /** Makes `day` the current block (created empty if absent); returns the arc's slot there, or -1. */
  select(arc: number, day: number): number {
    let blk = this.last;
    if (blk === null || blk.day !== day) {
      blk = this.blocks.get(day) ?? null;
      const arcs = this.arcIds.length;
      if (blk === null) {
        const cap = Math.max(64, arcs);
        const reuse = this.pool.pop();
        blk = reuse && reuse.cap >= cap ? DayBlock.recycled(day, reuse, arcs) : new DayBlock(day, cap, arcs);
        this.blocks.set(day, blk);
        if (this.spillOpts) this.spillColdBlocks(blk);
      } else if (blk.disk) {
        // Read back (a bucket with more days than the budget): the budget doubles, no thrashing.
        blk.load();
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

  /** Plain data for postMessage; pass `transferList()` along to move the buffers instead of copying. */
  toState(): CompactState {
    return { ...this.names.tables(), days: [...this.blocks.values()].map((b) => b.toState()) };
  }

  transferList(): ArrayBuffer[] {
    return [...this.blocks.values()].flatMap((b) => b.buffers());
  }

  /** Adopts a transferred state without copying its arrays (its tables as they are: no remapping). */
  static fromState(st: CompactState): CompactArcDays {
    const c = new CompactArcDays(null, Interner.of(st));
    for (const d of st.days) c.blocks.set(d.day, DayBlock.fromState(d));
    return c;
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
    blk.load(this.pool.pop());
    // Slots in arc-rank order: ranks are distinct, so a direct placement replaces a comparison sort.
    const byRank = this.slotsByRank(blk);
    const day = dayString(dayNum);
    const list: ArcDay[] = [];
    for (let r = 0; r < byRank.length; r++)
      if (byRank[r]! !== 0) list.push(this.arcDay(blk, byRank[r]! - 1, day));
    // This day's arrays serve the next day read back from disk.
    if (this.pool.length < 2) this.pool.push(blk.arraysForReuse());
    return list;
  }

  /**
   * One day's arc-days (arcs in `compareArcIds` order) written into a sink made for their count (an
   * `ArcDayTableBuilder`: straight into the table's columns, no object per arc): the same values as
   * `takeArcDays` gives. Frees the day as `takeArcDays` does; null when the day has none.
   */
  takeArcDayRows<S extends ArcDayRowSink>(dayNum: number, make: (n: number) => S): S | null {
    const blk = this.blocks.get(dayNum);
    if (!blk) return null;
    this.blocks.delete(dayNum);
    if (this.last === blk) this.last = null;
    blk.load(this.pool.pop());
    const byRank = this.slotsByRank(blk);
    const day = dayString(dayNum);
    let n = 0;
    for (let r = 0; r < byRank.length; r++) if (byRank[r]! !== 0) n++;
    const b = make(n);
    for (let r = 0, i = 0; r < byRank.length; r++)
      if (byRank[r]! !== 0) this.arcDayRow(blk, byRank[r]! - 1, day, b, i++);
    if (this.pool.length < 2) this.pool.push(blk.arraysForReuse());
    return b;
  }

  /** Slot + 1 of each arc rank present in the block (0: absent). */
  private slotsByRank(blk: DayBlock): Int32Array {
    if (!this.arcRank || this.arcRank.length !== this.arcIds.length) {
      const order = this.arcIds
        .map((_, a) => a)
        .sort((a, b) => compareArcIds(this.arcIds[a]!, this.arcIds[b]!));
      this.arcRank = new Int32Array(order.length);
      order.forEach((a, r) => (this.arcRank![a] = r));
    }
    const rank = this.arcRank;
    const byRank = new Int32Array(rank.length);
    for (let s = 0; s < blk.size; s++) byRank[rank[blk.arc[s]!]!] = s + 1;
    return byRank;
  }

  /** Row i of the table: the values `arcDay` gives for slot s, written into the builder. */
  private arcDayRow(blk: DayBlock, s: number, day: string, b: ArcDayRowSink, i: number): void {
    let rows = 0;
    const v = this.hour;
    for (let h = 0; h < HOURS; h++) {
      const n = decodeHour(blk, s, h, v);
      if (n === 0) continue;
      rows += n;
      b.hourCode(i, h, v.flow, v.occupancy, v.code - 1);
    }
    const g = blk.geo[s]!;
    const l = blk.len[s]!;
    const lib = blk.lib[s]!;
    b.row(
      i,
      this.arcIds[blk.arc[s]!]!,
      day,
      lib === 0 ? '' : this.names.libs[lib - 1]!,
      g === 0 ? NaN : this.names.geos[2 * g - 2]!,
      g === 0 ? NaN : this.names.geos[2 * g - 1]!,
      l === 0 ? null : this.names.lens[l - 1]!,
      rows,
    );
  }

  private arcDay(blk: DayBlock, s: number, day: string): ArcDay {
    // Packed arrays of the exact size, written in place (no holey-to-packed transitions).
    const flow = nulls24() as (number | null)[];
    const occupancy = nulls24() as (number | null)[];
    const etat = nulls24() as (string | null)[];
    let rows = 0;
    const v = this.hour;
    for (let h = 0; h < HOURS; h++) {
      const n = decodeHour(blk, s, h, v);
      if (n === 0) continue;
      rows += n;
      flow[h] = v.flow === v.flow ? v.flow : null;
      occupancy[h] = v.occupancy === v.occupancy ? v.occupancy : null;
      etat[h] = v.code === 0 ? null : ETATS_TRAFIC[v.code - 1]!;
    }
    const g = blk.geo[s]!;
    const l = blk.len[s]!;
    const lib = blk.lib[s]!;
    return {
      arc_id: this.arcIds[blk.arc[s]!]!,
      day,
      libelle: lib === 0 ? '' : this.names.libs[lib - 1]!,
      flow,
      occupancy,
      etat,
      geo_point: g === 0 ? null : [this.names.geos[2 * g - 2]!, this.names.geos[2 * g - 1]!],
      row_length_m: l === 0 ? null : this.names.lens[l - 1]!,
      rows,
    };
  }
}

/** One hour of a slot as the accumulator gives it (NaN: none; code 0: no state). Reused, not allocated. */
interface HourValues {
  flow: number;
  occupancy: number;
  code: number;
}

/**
 * Decodes hour h of slot s into `out`; returns how many rows made it (0: none, then `out` is untouched;
 * 2: a second row at the same instant). Occupancy as the accumulator computes it: 0 + each value,
 * divided by the count when 2.
 */
function decodeHour(blk: DayBlock, s: number, h: number, out: HourValues): number {
  const at = h * blk.cap + s;
  const c = blk.cell[at]!;
  if (c >>> OFF_SHIFT === 0) return 0;
  let rows = 1;
  const fr = blk.flow[at]!;
  let f = flowValue(fr, fr === FLOW_SIDE ? blk.flowX[at]! : 0);
  let code = (c >>> ETAT_SHIFT) & 7;
  let occSum = 0;
  let occN = 0;
  const qr = c & OCC_MASK;
  if (qr !== OCC_NULL) {
    occSum += occValue(qr, qr === OCC_SIDE ? blk.occX[at]! : 0);
    occN++;
  }
  const sec = blk.second.size !== 0 ? blk.second.get(s * HOURS + h) : undefined;
  if (sec) {
    rows++;
    if (sec.flow === sec.flow) f = f === f ? f + sec.flow : sec.flow;
    if (sec.occ === sec.occ) {
      occSum += sec.occ;
      occN++;
    }
    if (code === 0 || SEVERITY_OF_CODE[sec.etat]! > SEVERITY_OF_CODE[code]!) code = sec.etat;
  }
  out.flow = f;
  out.occupancy = occN === 0 ? NaN : occN === 1 ? occSum : occSum / occN;
  out.code = code;
  return rows;
}
