/**
 * Compact, mergeable arc-day accumulator for the fast reader: the same numbers as `ArcDayAccumulator`
 * (aggregate.ts) kept in flat typed arrays (≈ 430 B per arc-day, no per-row or per-arc-day objects),
 * so a worker's partial result can be transferred to the main thread without copying and merged.
 *
 * Each hour slot keeps its *first* row (the row with the natural Paris offset of that hour). The one
 * hour that can hold two distinct instants — the repeated autumn hour, 02:00+02:00 then 02:00+01:00 —
 * keeps its second row in a small side table, so a merge can still tell a duplicate (same instant)
 * from the other half of that hour. Outputs combine the halves exactly as the accumulator does:
 * flows added, occupancies averaged, the more severe state.
 *
 * First-seen rules (libelle, geo_point, row length) follow file order: partial results are merged in
 * range order, and each slot remembers which of its hours supplied those values, so a merge can detect
 * the (pathological) case where that row turns out to be a duplicate of an earlier range.
 */
import type { ArcDay } from '../arc-day.ts';
import { compareArcIds } from '../aggregate.ts';
import { ETATS_TRAFIC, ETAT_SEVERITY } from '../normalize.ts';

/** Severity of an etat code (1 + index in ETATS_TRAFIC); 0 = no row. */
const SEVERITY_OF_CODE = [-1, ...ETATS_TRAFIC.map((e) => ETAT_SEVERITY[e])];

export const HOURS = 24;
/** `src*` value: no row supplied the field yet. */
export const NO_SOURCE = 255;
/** `src*` offset added to the hour when the value came from the second half of the autumn hour. */
export const SECOND_HALF = 24;

/** Offset codes stored per hour: 0 = empty, 1 = UTC+01:00 (60 min), 2 = UTC+02:00 (120 min). */
export const offsetCode = (offsetMinutes: number): number => (offsetMinutes === 120 ? 2 : 1);
export const offsetMinutesOf = (code: number): number => (code === 2 ? 120 : 60);

/** The second row of a repeated hour (see file comment). */
export interface SecondHalf {
  off: number;
  flow: number; // NaN = null
  occ: number; // NaN = null
  etat: number; // 1 + index in ETATS_TRAFIC
}

/** Plain-data form of a `CompactArcDays`, structured-clone friendly (typed arrays are transferred). */
export interface CompactState {
  size: number;
  arcIds: string[];
  slotArc: Int32Array;
  slotDay: Int32Array;
  flow: Float64Array;
  occ: Float64Array;
  etat: Uint8Array;
  offs: Uint8Array;
  rows: Int32Array;
  geo: Float64Array;
  len: Float64Array;
  src: Uint8Array;
  libelle: string[];
  second: [number, SecondHalf][];
  /** slot*24+hour of rows whose instant was chosen by the summer-first rule of offset-less times. */
  ambiguous: number[];
}

const DAY_MS = 86_400_000;

/** 'YYYY-MM-DD' of a day number (days since 1970-01-01). */
export const dayString = (dayNum: number): string => new Date(dayNum * DAY_MS).toISOString().slice(0, 10);

export class CompactArcDays {
  size = 0;
  private cap: number;
  readonly arcIds: string[] = [];
  private readonly numArc = new Map<number, number>();
  private readonly strArc = new Map<string, number>();
  private readonly daySlots: Map<number, number>[] = [];
  private lastDay: number[] = [];
  private lastSlot: number[] = [];
  slotArc: Int32Array;
  slotDay: Int32Array;
  flow: Float64Array;
  occ: Float64Array;
  etat: Uint8Array;
  offs: Uint8Array;
  rows: Int32Array;
  geo: Float64Array;
  len: Float64Array;
  /** Per slot: source hour of [libelle, geo_point, row length]. */
  src: Uint8Array;
  libelle: string[] = [];
  readonly second = new Map<number, SecondHalf>();
  readonly ambiguous = new Set<number>();

  constructor(initialCapacity = 1024) {
    this.cap = initialCapacity;
    this.slotArc = new Int32Array(this.cap);
    this.slotDay = new Int32Array(this.cap);
    this.flow = new Float64Array(this.cap * HOURS).fill(NaN);
    this.occ = new Float64Array(this.cap * HOURS).fill(NaN);
    this.etat = new Uint8Array(this.cap * HOURS);
    this.offs = new Uint8Array(this.cap * HOURS);
    this.rows = new Int32Array(this.cap);
    this.geo = new Float64Array(this.cap * 2).fill(NaN);
    this.len = new Float64Array(this.cap).fill(NaN);
    this.src = new Uint8Array(this.cap * 3).fill(NO_SOURCE);
  }

  /** Arc index of a canonical integer id (digits, no leading zero): no string is built per row. */
  arcOfNumber(n: number): number {
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
    if (/^(0|[1-9]\d{0,14})$/.test(id)) this.numArc.set(Number(id), a);
    else this.strArc.set(id, a);
    this.daySlots.push(new Map());
    this.lastDay.push(-1e9);
    this.lastSlot.push(-1);
    return a;
  }

  /** Slot of (arc, day), or -1 if absent. */
  findSlot(arc: number, dayNum: number): number {
    if (this.lastDay[arc] === dayNum) return this.lastSlot[arc]!;
    const s = this.daySlots[arc]!.get(dayNum);
    if (s === undefined) return -1;
    this.lastDay[arc] = dayNum;
    this.lastSlot[arc] = s;
    return s;
  }

  /** Slot of (arc, day), created empty if absent. */
  slotOf(arc: number, dayNum: number): number {
    const found = this.findSlot(arc, dayNum);
    if (found >= 0) return found;
    if (this.size === this.cap) this.grow();
    const s = this.size++;
    this.slotArc[s] = arc;
    this.slotDay[s] = dayNum;
    this.libelle.push('');
    this.daySlots[arc]!.set(dayNum, s);
    this.lastDay[arc] = dayNum;
    this.lastSlot[arc] = s;
    return s;
  }

  private grow(): void {
    const cap = this.cap * 2;
    const widen = <T extends Float64Array | Int32Array | Uint8Array>(a: T, per: number, fill: number): T => {
      const b = new (a.constructor as new (n: number) => T)(cap * per);
      if (fill !== 0) b.fill(fill);
      b.set(a);
      return b;
    };
    this.slotArc = widen(this.slotArc, 1, 0);
    this.slotDay = widen(this.slotDay, 1, 0);
    this.flow = widen(this.flow, HOURS, NaN);
    this.occ = widen(this.occ, HOURS, NaN);
    this.etat = widen(this.etat, HOURS, 0);
    this.offs = widen(this.offs, HOURS, 0);
    this.rows = widen(this.rows, 1, 0);
    this.geo = widen(this.geo, 2, NaN);
    this.len = widen(this.len, 1, NaN);
    this.src = widen(this.src, 3, NO_SOURCE);
    this.cap = cap;
  }

  /** True if (slot, hour) already holds a row at this offset code. */
  has(slot: number, hour: number, off: number): boolean {
    const i = slot * HOURS + hour;
    const o = this.offs[i]!;
    if (o === off) return true;
    if (o === 0) return false;
    return this.second.get(i)?.off === off;
  }

  /**
   * Stores one accepted, de-duplicated row's values; returns the source code of the row (its hour,
   * +SECOND_HALF if it went to the side table), to be passed to the first-seen setters.
   */
  put(slot: number, hour: number, off: number, flow: number, occ: number, etat: number): number {
    const i = slot * HOURS + hour;
    this.rows[slot]!++;
    if (this.offs[i] === 0) {
      this.offs[i] = off;
      this.flow[i] = flow;
      this.occ[i] = occ;
      this.etat[i] = etat;
      return hour;
    }
    this.second.set(i, { off, flow, occ, etat });
    return hour + SECOND_HALF;
  }

  needsLibelle(slot: number): boolean {
    return this.libelle[slot] === '';
  }
  setLibelle(slot: number, libelle: string, source: number): void {
    this.libelle[slot] = libelle;
    this.src[slot * 3] = source;
  }
  needsGeo(slot: number): boolean {
    return this.src[slot * 3 + 1] === NO_SOURCE;
  }
  setGeo(slot: number, lat: number, lon: number, source: number): void {
    this.geo[slot * 2] = lat;
    this.geo[slot * 2 + 1] = lon;
    this.src[slot * 3 + 1] = source;
  }
  needsLength(slot: number): boolean {
    return this.src[slot * 3 + 2] === NO_SOURCE;
  }
  setLength(slot: number, length: number, source: number): void {
    this.len[slot] = length;
    this.src[slot * 3 + 2] = source;
  }

  /** Plain data for postMessage; pass `transferList()` along to move the buffers instead of copying. */
  toState(): CompactState {
    const n = this.size;
    return {
      size: n,
      arcIds: this.arcIds,
      slotArc: this.slotArc.subarray(0, n),
      slotDay: this.slotDay.subarray(0, n),
      flow: this.flow.subarray(0, n * HOURS),
      occ: this.occ.subarray(0, n * HOURS),
      etat: this.etat.subarray(0, n * HOURS),
      offs: this.offs.subarray(0, n * HOURS),
      rows: this.rows.subarray(0, n),
      geo: this.geo.subarray(0, n * 2),
      len: this.len.subarray(0, n),
      src: this.src.subarray(0, n * 3),
      libelle: this.libelle,
      second: [...this.second],
      ambiguous: [...this.ambiguous],
    };
  }

  transferList(): ArrayBuffer[] {
    return [
      this.slotArc,
      this.slotDay,
      this.flow,
      this.occ,
      this.etat,
      this.offs,
      this.rows,
      this.geo,
      this.len,
      this.src,
    ].map((a) => a.buffer as ArrayBuffer);
  }

  /**
   * Folds the partial result of the *next* byte range into this one. Returns the hour keys of `other`
   * rows that duplicate an instant already held here (they must be rejected as `duplicate_row`), or
   * `null` when the merge cannot reproduce single-pass semantics exactly (a duplicate supplied a
   * first-seen value that is still unset here, or an offset-less autumn time straddles the ranges):
   * the caller then re-reads the file in one range.
   */
  mergeNext(other: CompactState): MergeDuplicate[] | null {
    const dups: MergeDuplicate[] = [];
    const otherSecond = new Map(other.second);
    const otherAmbiguous = new Set(other.ambiguous);
    for (let s = 0; s < other.size; s++) {
      const arcId = other.arcIds[other.slotArc[s]!]!;
      const arc = this.arcOfString(arcId);
      const day = other.slotDay[s]!;
      const t = this.slotOf(arc, day);
      let dupSources: Set<number> | null = null;
      const take = (h: number, o: number, f: number, q: number, e: number, source: number): void => {
        if (this.has(t, h, o)) {
          dups.push({ arcId, dayNum: day, hour: h, offsetMinutes: offsetMinutesOf(o) });
          (dupSources ??= new Set()).add(source);
        } else this.put(t, h, o, f, q, e);
      };
      for (let h = 0; h < HOURS; h++) {
        const oi = s * HOURS + h;
        const off = other.offs[oi]!;
        if (off === 0) continue;
        if (otherAmbiguous.has(oi) && this.offs[t * HOURS + h] !== 0) return null;
        take(h, off, other.flow[oi]!, other.occ[oi]!, other.etat[oi]!, h);
        const sec = otherSecond.get(oi);
        if (sec) take(h, sec.off, sec.flow, sec.occ, sec.etat, h + SECOND_HALF);
      }
      const isDup = (source: number): boolean => dupSources !== null && dupSources.has(source);
      const src = (k: number): number => other.src[s * 3 + k]!;
      const lib = other.libelle[s]!;
      if (this.libelle[t] === '' && lib !== '') {
        if (isDup(src(0))) return null;
        this.setLibelle(t, lib, src(0));
      }
      if (this.needsGeo(t) && src(1) !== NO_SOURCE) {
        if (isDup(src(1))) return null;
        this.setGeo(t, other.geo[s * 2]!, other.geo[s * 2 + 1]!, src(1));
      }
      if (this.needsLength(t) && src(2) !== NO_SOURCE) {
        if (isDup(src(2))) return null;
        this.setLength(t, other.len[s]!, src(2));
      }
    }
    return dups;
  }

  /** Rebuilds an accumulator from a transferred state (so the first range's result is adopted as is). */
  static fromState(st: CompactState): CompactArcDays {
    const c = new CompactArcDays(Math.max(1024, st.size));
    for (const id of st.arcIds) c.arcOfString(id);
    for (let s = 0; s < st.size; s++) {
      const t = c.slotOf(st.slotArc[s]!, st.slotDay[s]!);
      c.rows[t] = st.rows[s]!;
      c.libelle[t] = st.libelle[s]!;
    }
    c.flow.set(st.flow);
    c.occ.set(st.occ);
    c.etat.set(st.etat);
    c.offs.set(st.offs);
    c.geo.set(st.geo);
    c.len.set(st.len);
    c.src.set(st.src);
    for (const [k, v] of st.second) c.second.set(k, v);
    for (const k of st.ambiguous) c.ambiguous.add(k);
    return c;
  }

  /** Day numbers present (optionally restricted), ascending. */
  dayNumbers(): number[] {
    const days = new Set<number>();
    for (let s = 0; s < this.size; s++) days.add(this.slotDay[s]!);
    return [...days].sort((a, b) => a - b);
  }

  /** The `ArcDay` records by Paris day (days ascending, arcs in `compareArcIds` order), as aggregate.ts. */
  toArcDays(): Map<string, ArcDay[]> {
    const byDay = new Map<number, number[]>();
    for (let s = 0; s < this.size; s++) {
      const d = this.slotDay[s]!;
      let list = byDay.get(d);
      if (!list) byDay.set(d, (list = []));
      list.push(s);
    }
    const out = new Map<string, ArcDay[]>();
    for (const d of [...byDay.keys()].sort((a, b) => a - b)) {
      const day = dayString(d);
      const slots = byDay
        .get(d)!
        .sort((a, b) => compareArcIds(this.arcIds[this.slotArc[a]!]!, this.arcIds[this.slotArc[b]!]!));
      out.set(
        day,
        slots.map((s) => this.arcDay(s, day)),
      );
    }
    return out;
  }

  private arcDay(s: number, day: string): ArcDay {
    // Exact-size arrays (push would over-allocate ~1.7×; this output can hold millions of them).
    const flow = new Array<number | null>(HOURS);
    const occupancy = new Array<number | null>(HOURS);
    const etat = new Array<string | null>(HOURS);
    for (let h = 0; h < HOURS; h++) {
      const i = s * HOURS + h;
      let f = this.flow[i]!;
      let code = this.etat[i]!;
      // Occupancy as the accumulator computes it: 0 + each value, divided by the count when 2.
      let occSum = 0;
      let occN = 0;
      const q = this.occ[i]!;
      if (!Number.isNaN(q)) {
        occSum += q;
        occN++;
      }
      const sec = this.second.get(i);
      if (sec) {
        if (!Number.isNaN(sec.flow)) f = Number.isNaN(f) ? sec.flow : f + sec.flow;
        if (!Number.isNaN(sec.occ)) {
          occSum += sec.occ;
          occN++;
        }
        if (code === 0 || SEVERITY_OF_CODE[sec.etat]! > SEVERITY_OF_CODE[code]!) code = sec.etat;
      }
      flow[h] = Number.isNaN(f) ? null : f;
      occupancy[h] = occN === 0 ? null : occN === 1 ? occSum : occSum / occN;
      etat[h] = code === 0 ? null : ETATS_TRAFIC[code - 1]!;
    }
    const lat = this.geo[s * 2]!;
    const length = this.len[s]!;
    return {
      arc_id: this.arcIds[this.slotArc[s]!]!,
      day,
      libelle: this.libelle[s]!,
      flow,
      occupancy,
      etat,
      geo_point: this.needsGeo(s) ? null : [lat, this.geo[s * 2 + 1]!],
      row_length_m: this.needsLength(s) ? null : length,
      rows: this.rows[s]!,
    };
  }
}

export interface MergeDuplicate {
  arcId: string;
  dayNum: number;
  hour: number;
  offsetMinutes: number;
}
