/**
 * Folds road-count rows into `ArcDay` records (one per arc per Paris day, 24 local-hour slots).
 * Memory is proportional to arcs × days (measured ≈ 0.55 KB of RSS per arc-day, i.e. ≈ 0.6 GB for
 * 3,400 arcs × 300 days), never to rows, so one pass over the whole file can feed every daily
 * partition; `parseComptagesFile(…, { days })` bounds it further when only some days are wanted.
 *
 * DST: slots are Paris local hours. On the autumn day the repeated hour (two real hours, 02:00+02:00
 * and 02:00+01:00) lands in slot 2: its flows are added (both hours' vehicles did pass) and its
 * occupancies averaged (a percentage of time), and its state is the more severe one. On the spring day
 * slot 2 has no real hour and simply stays empty.
 *
 * The accumulator trusts its input to be de-duplicated (the reader rejects duplicate rows).
 */
import type { ArcDay } from './arc-day.ts';
import { lineLengthMeters, parseGeoShape } from '../geo/geometry.ts';
import { ETATS_TRAFIC, ETAT_SEVERITY, type EtatTrafic } from './normalize.ts';
import type { ComptagesRow } from './row.ts';

export type { ComptagesRow } from './row.ts';

/** Etat codes stored in a byte: 0 = no row, 1 + index in ETATS_TRAFIC otherwise. */
const ETAT_CODE = new Map<EtatTrafic, number>(ETATS_TRAFIC.map((e, i) => [e, i + 1]));

interface ArcDayState {
  libelle: string;
  geoPoint: [number, number] | null;
  rowLength: number | null;
  rows: number;
  /** Index of this arc-day's 48 numbers / 48 bytes in the slab. */
  slot: number;
}

const SLOTS_PER_CHUNK = 4096;
const WIDTH = 48;

/**
 * Arc-day numbers in large shared typed arrays (one ArrayBuffer per 4,096 arc-days instead of three
 * small ones per arc-day: measured 1.5 KB → ≈ 0.5 KB of RSS per arc-day).
 * Per slot, floats: [0..23] flow (NaN = no value), [24..47] occupancy sum;
 * bytes: [0..23] etat code (0 = no row, 1 + index in ETATS_TRAFIC), [24..47] occupancy value count.
 */
class Slab {
  private readonly floats: Float64Array[] = [];
  private readonly bytes: Uint8Array[] = [];
  private size = 0;

  alloc(): number {
    const slot = this.size++;
    if (slot % SLOTS_PER_CHUNK === 0) {
      this.floats.push(new Float64Array(SLOTS_PER_CHUNK * WIDTH));
      this.bytes.push(new Uint8Array(SLOTS_PER_CHUNK * WIDTH));
    }
    const [f, base] = this.floatsOf(slot);
    f.fill(NaN, base, base + 24);
    return slot;
  }

  floatsOf(slot: number): [Float64Array, number] {
    return [this.floats[Math.floor(slot / SLOTS_PER_CHUNK)]!, (slot % SLOTS_PER_CHUNK) * WIDTH];
  }

  bytesOf(slot: number): [Uint8Array, number] {
    return [this.bytes[Math.floor(slot / SLOTS_PER_CHUNK)]!, (slot % SLOTS_PER_CHUNK) * WIDTH];
  }
}

/** Numeric order for integer ids ('376' < '4264' < '10001'), plain string order otherwise. */
export function compareArcIds(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) {
    const byNumber = a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
    if (byNumber !== 0) return byNumber;
  }
  if (an !== bn) return an ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export class ArcDayAccumulator {
  private readonly byDay = new Map<string, Map<string, ArcDayState>>();
  private readonly slab = new Slab();
  /** Last geo_shape text per arc and its length, so each distinct shape is parsed once. */
  private readonly shapeCache = new Map<string, { text: string; length: number | null }>();

  add(row: ComptagesRow): void {
    let arcs = this.byDay.get(row.day);
    if (!arcs) {
      arcs = new Map();
      this.byDay.set(row.day, arcs);
    }
    let s = arcs.get(row.arc_id);
    if (!s) {
      s = { libelle: row.libelle, geoPoint: null, rowLength: null, rows: 0, slot: this.slab.alloc() };
      arcs.set(row.arc_id, s);
    }
    const h = row.hour;
    s.rows++;
    if (s.libelle === '' && row.libelle !== '') s.libelle = row.libelle;
    if (s.geoPoint === null && row.geo_point !== null) s.geoPoint = row.geo_point;
    if (s.rowLength === null && row.geo_shape_text !== null)
      s.rowLength = this.lengthOf(row.arc_id, row.geo_shape_text);

    const [f, fb] = this.slab.floatsOf(s.slot);
    const [b, bb] = this.slab.bytesOf(s.slot);
    if (row.flow !== null) f[fb + h] = Number.isNaN(f[fb + h]) ? row.flow : f[fb + h]! + row.flow;
    if (row.occupancy !== null) {
      f[fb + 24 + h] = f[fb + 24 + h]! + row.occupancy;
      b[bb + 24 + h] = b[bb + 24 + h]! + 1;
    }
    const prev = b[bb + h]!;
    if (prev === 0 || ETAT_SEVERITY[row.etat] > ETAT_SEVERITY[ETATS_TRAFIC[prev - 1]!])
      b[bb + h] = ETAT_CODE.get(row.etat)!;
  }

  /** Days seen, ascending. */
  days(): string[] {
    return [...this.byDay.keys()].sort();
  }

  /** The arc-days of one Paris day, sorted by arc id (numeric order for numeric ids). */
  arcDays(day: string): ArcDay[] {
    const arcs = this.byDay.get(day);
    if (!arcs) return [];
    return [...arcs.keys()].sort(compareArcIds).map((arcId) => this.toArcDay(arcId, day, arcs.get(arcId)!));
  }

  private lengthOf(arcId: string, text: string): number | null {
    const cached = this.shapeCache.get(arcId);
    if (cached && cached.text === text) return cached.length;
    const shape = parseGeoShape(text);
    const length = shape && shape.type === 'LineString' ? lineLengthMeters(shape.coordinates) : null;
    this.shapeCache.set(arcId, { text, length });
    return length;
  }

  private toArcDay(arcId: string, day: string, s: ArcDayState): ArcDay {
    const [f, fb] = this.slab.floatsOf(s.slot);
    const [b, bb] = this.slab.bytesOf(s.slot);
    const flow: (number | null)[] = [];
    const occupancy: (number | null)[] = [];
    const etat: (string | null)[] = [];
    for (let h = 0; h < 24; h++) {
      const fl = f[fb + h]!;
      flow.push(Number.isNaN(fl) ? null : fl);
      const n = b[bb + 24 + h]!;
      const sum = f[fb + 24 + h]!;
      occupancy.push(n === 0 ? null : n === 1 ? sum : sum / n);
      const code = b[bb + h]!;
      etat.push(code === 0 ? null : ETATS_TRAFIC[code - 1]!);
    }
    return {
      arc_id: arcId,
      day,
      libelle: s.libelle,
      flow,
      occupancy,
      etat,
      geo_point: s.geoPoint,
      row_length_m: s.rowLength,
      rows: s.rows,
    };
  }
}
