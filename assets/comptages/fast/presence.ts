/**
 * What one byte range has already accepted, per arc-day: which hours hold a row (and with which
 * offset) and whether the libelle, point and length were supplied. That is all the scanner needs to
 * apply the single-pass rules in file order — duplicate instants, the summer-first rule of offset-less
 * autumn times, first-seen values — while the rows themselves go to day buckets (row-buckets.ts) and
 * are aggregated later. 8 bytes per arc-day (the aggregated day blocks take ≈ 150).
 *
 * Same semantics as `DayBlock.has` / `put`: an hour slot holds its first row; a second row at the same
 * hour with the other offset (the repeated autumn hour) is remembered on the side.
 */

export const LIB_SEEN = 1;
export const GEO_SEEN = 2;
export const LEN_SEEN = 4;

/** Bit of the first word holding a *_SEEN flag: hours use bits 0–23. */
const SEEN_SHIFT = 24;

class DayPresence {
  /**
   * Per arc, two words side by side (one cache line): bit h of word 0 (1) set when hour h's first row
   * has offset code 1 (2), and the *_SEEN flags above the hours in word 0.
   */
  w: Uint32Array;
  /** arc × 24 + hour → offset code of a second row at that hour. */
  readonly second = new Map<number, number>();

  constructor(arcs: number) {
    this.w = new Uint32Array(arcs * 2);
  }

  widen(arcs: number): void {
    const w = new Uint32Array(arcs * 2);
    w.set(this.w);
    this.w = w;
  }
}

export class RangePresence {
  private readonly days = new Map<number, DayPresence>();
  private cur: DayPresence | null = null;
  private curDay = NaN;
  private arcCap = 1024;

  /** Makes `day` current for the next calls (`arc`: the arc they are about; offset codes 1 / 2). */
  select(day: number, arc: number): void {
    if (arc >= this.arcCap) {
      this.arcCap = Math.max(arc + 1, this.arcCap * 2);
      for (const d of this.days.values()) d.widen(this.arcCap);
    }
    if (day === this.curDay) return;
    let d = this.days.get(day);
    if (!d) this.days.set(day, (d = new DayPresence(this.arcCap)));
    this.cur = d;
    this.curDay = day;
  }

  /** True when the current day already holds a row of `arc` at this hour and offset code. */
  has(arc: number, hour: number, off: number): boolean {
    const d = this.cur!;
    const bit = 1 << hour;
    const mine = d.w[arc * 2 + off - 1]!;
    if (mine & bit) return true;
    if ((d.w[arc * 2 + 2 - off]! & bit) === 0) return false;
    return d.second.get(arc * 24 + hour) === off;
  }

  add(arc: number, hour: number, off: number): void {
    const d = this.cur!;
    const bit = 1 << hour;
    if (((d.w[arc * 2]! | d.w[arc * 2 + 1]!) & bit) === 0) d.w[arc * 2 + off - 1]! |= bit;
    else d.second.set(arc * 24 + hour, off);
  }

  /** The *_SEEN bits already supplied for `arc` on the current day. */
  seen(arc: number): number {
    return this.cur!.w[arc * 2]! >>> SEEN_SHIFT;
  }

  markSeen(arc: number, bits: number): void {
    this.cur!.w[arc * 2]! |= bits << SEEN_SHIFT;
  }
}
