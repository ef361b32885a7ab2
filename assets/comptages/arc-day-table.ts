/**
 * The columnar form of one day of `ArcDay` records: the value of `comptages_arc_days`, an Arrow table
 * stored as an Arrow IPC stream (engine/table.ts). One row per arc, in arc order; every field of
 * `ArcDay` is kept:
 *
 *   arc_id, day, libelle   Utf8, never null
 *   flow, occupancy        FixedSizeList[24]<Float64>: hour h of row i is child value i·24+h (null = no value)
 *   etat                   FixedSizeList[24]<Dictionary<Int8, Utf8>> (null = no row for the hour)
 *   geo_point              FixedSizeList[2]<Float64> [lat, lon], null if absent
 *   row_length_m           Float64, null if absent
 *   rows                   Int32
 *
 * `arcDayColumns` reads a table back as flat typed arrays (NaN / -1 for nulls), without per-row objects.
 * The schema is in arc-day-schema.ts (no apache-arrow import: the definitions load without it).
 */
import * as Arrow from 'apache-arrow';
import {
  Dictionary,
  Field,
  FixedSizeList,
  Float64,
  Int32,
  Int8,
  Table,
  Utf8,
  makeData,
  makeVector,
  vectorFromArray,
  type Data,
  type Vector,
} from 'apache-arrow';
import { etatType as etatTypeOf, hourlyType, type ArcDayTable } from './arc-day-schema.ts';
import type { ArcDay } from './arc-day.ts';
import { ETATS_TRAFIC } from './normalize.ts';

export { ArcDayTableSchema, type ArcDayTable } from './arc-day-schema.ts';

const HOURS = 24;

const hourly = <T extends Float64 | Dictionary<Utf8, Int8>>(type: T) => hourlyType(Arrow, type);
const etatType = () => etatTypeOf(Arrow);

const utf8 = new TextEncoder();
/**
 * UTF-8 bytes of the strings met in earlier tables: the arc ids and labels of the ~3,400 arcs come back
 * every day, so each is encoded once (a day's table spent a third of its time in TextEncoder). Bounded:
 * cleared when it reaches CACHE_MAX strings.
 */
const encoded = new Map<string, Uint8Array>();
const CACHE_MAX = 100_000;

/** The UTF-8 bytes of each string (cached, see `encoded`) and their total length. */
function utf8Parts(values: readonly string[]): { parts: Uint8Array[]; total: number } {
  const n = values.length;
  const parts = new Array<Uint8Array>(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const s = values[i]!;
    let b = encoded.get(s);
    if (b === undefined) {
      if (encoded.size >= CACHE_MAX) encoded.clear();
      encoded.set(s, (b = utf8.encode(s)));
    }
    parts[i] = b;
    total += b.length;
  }
  return { parts, total };
}

/** Bytes of a non-null Utf8 column of `n` strings of `total` UTF-8 bytes, as Carver cuts it. */
const utf8ColumnBytes = (n: number, total: number): number => Carver.bytes([(n + 1) * 4, total]);

/**
 * A non-null Utf8 column from its strings' bytes, written straight into offsets and data cut from `c`:
 * the same buffers (so the same IPC bytes) as `vectorFromArray(values, new Utf8())`.
 */
function utf8Vector({ parts, total }: { parts: Uint8Array[]; total: number }, c: Carver): Vector<Utf8> {
  const n = parts.length;
  const offsets = c.i32(n + 1);
  const data = c.u8(total);
  for (let i = 0, at = 0; i < n; i++) {
    data.set(parts[i]!, at);
    offsets[i + 1] = at += parts[i]!.length;
  }
  return makeVector(makeData({ type: new Utf8(), length: n, nullCount: 0, valueOffsets: offsets, data }));
}

/**
 * One zeroed buffer cut into a table's fixed-size columns (values and validity bitmaps), each view
 * aligned on 8 bytes as Arrow IPC pads its buffers.
 */
class Carver {
  private at = 0;
  constructor(readonly buffer: ArrayBuffer) {}
  static bytes(sizes: readonly number[]): number {
    return sizes.reduce((a, b) => a + align8(b), 0);
  }
  private take(bytes: number): number {
    const at = this.at;
    this.at += align8(bytes);
    return at;
  }
  f64 = (n: number): Float64Array => new Float64Array(this.buffer, this.take(n * 8), n);
  i32 = (n: number): Int32Array => new Int32Array(this.buffer, this.take(n * 4), n);
  i8 = (n: number): Int8Array => new Int8Array(this.buffer, this.take(n), n);
  u8 = (n: number): Uint8Array => new Uint8Array(this.buffer, this.take(n), n);
  /** A validity bitmap of `n` bits, all unset. */
  bits = (n: number): Uint8Array =>
    new Uint8Array(this.buffer, this.take(Math.ceil(n / 8)), Math.ceil(n / 8));
}
const align8 = (b: number): number => (b + 7) & ~7;

/** Bytes of the fixed-size columns of an n-row table, in the order ArcDayTableBuilder cuts them. */
const columnBytes = (n: number): number =>
  Carver.bytes([
    ...[n * HOURS * 8, Math.ceil((n * HOURS) / 8)], // flow
    ...[n * HOURS * 8, Math.ceil((n * HOURS) / 8)], // occupancy
    ...[n * HOURS, Math.ceil((n * HOURS) / 8)], // etat codes
    ...[n * 2 * 8, Math.ceil(n / 8)], // geo point
    ...[n * 8, Math.ceil(n / 8)], // row length
    n * 4, // rows
  ]);

/** The buffers a built table's columns live in (see `ColumnBuffers`). */
const buffersOfTable = new WeakMap<object, ArrayBuffer[]>();

/** Free buffers a `ColumnBuffers` keeps (the smallest is let go beyond it). */
const MAX_FREE_BUFFERS = 16;

/**
 * Buffers for the columns of day tables, handed back once a table is stored and reused for a later day:
 * the fixed-size columns (≈ 1.5 MB a day for 3,400 arcs) and the strings (arc ids, days, labels:
 * ≈ 150 KB). Without them a 6 GB read made that much dead memory a day, which V8 lets pile up to 64 MB
 * between full collections: the emission's peak RSS (the strings alone added ≈ 30 MB by the last day).
 * Give a table back only when nothing reads it any more (its columns are overwritten by a later day's).
 */
export class ColumnBuffers {
  private readonly free: ArrayBuffer[] = [];

  /** A zeroed buffer of at least `bytes`: the smallest free one that fits, else a new one with room to spare. */
  take(bytes: number): ArrayBuffer {
    let best = -1;
    this.free.forEach((b, i) => {
      if (b.byteLength >= bytes && (best < 0 || b.byteLength < this.free[best]!.byteLength)) best = i;
    });
    // Days differ by a few arcs: an eighth more lets the next, slightly larger day reuse the buffer.
    if (best < 0) return new ArrayBuffer(bytes + (bytes >> 3));
    const b = this.free.splice(best, 1)[0]!;
    new Uint8Array(b, 0, bytes).fill(0);
    return b;
  }

  giveBack(table: ArcDayTable): void {
    for (const b of buffersOfTable.get(table) ?? []) this.free.push(b);
    buffersOfTable.delete(table);
    if (this.free.length > MAX_FREE_BUFFERS) {
      this.free.sort((a, b) => b.byteLength - a.byteLength);
      this.free.length = MAX_FREE_BUFFERS;
    }
  }
}
const setBit = (b: Uint8Array, i: number): void => {
  b[i >> 3]! |= 1 << (i & 7);
};

/**
 * Column builder of nullable doubles over zeroed buffers: every slot null until set (each at most once),
 * zeros under nulls, so equal values give equal bytes.
 */
function doubles(values: Float64Array, valid: Uint8Array) {
  const n = values.length;
  let nulls = n;
  return {
    set(i: number, v: number | null | undefined) {
      if (v !== null && v !== undefined) {
        values[i] = v;
        setBit(valid, i);
        nulls--;
      }
    },
    data: (): Data<Float64> =>
      makeData({
        type: new Float64(),
        length: n,
        nullCount: nulls,
        nullBitmap: nulls ? valid : null,
        data: values,
      }),
  };
}

/** Where the fast reader writes a day's arc-days (fast/compact-arc-days.ts `takeArcDayRows`). */
export interface ArcDayRowSink {
  row(
    i: number,
    arcId: string,
    day: string,
    libelle: string,
    lat: number,
    lon: number,
    lengthM: number | null,
    rows: number,
  ): void;
  hourCode(i: number, h: number, flow: number, occupancy: number, etatCode: number): void;
}

/**
 * Builds an arc-day table row by row straight into its column buffers: what `arcDaysToTable` and the
 * fast reader (`takeArcDayTable`, no `ArcDay` object per arc) both use, so both encode alike.
 */
export class ArcDayTableBuilder implements ArcDayRowSink {
  private readonly arcIds: string[];
  private readonly days: string[];
  private readonly libelles: string[];
  private readonly flow: ReturnType<typeof doubles>;
  private readonly occ: ReturnType<typeof doubles>;
  private readonly etatCodes: Int8Array;
  private readonly etatValid: Uint8Array;
  private etatNulls: number;
  /** The dictionary: the known states in their fixed order, then any other string as first met. */
  private readonly names: string[] = [...ETATS_TRAFIC];
  private readonly codeOf = new Map<string, number>(ETATS_TRAFIC.map((e, i) => [e, i]));
  private readonly geo: Float64Array;
  private readonly geoValid: Uint8Array;
  private geoNulls = 0;
  private readonly length: ReturnType<typeof doubles>;
  private readonly rows: Int32Array;

  private readonly buffer: ArrayBuffer;

  /** `buffers`: where the columns' buffers come from (default: new ones). */
  constructor(
    readonly n: number,
    private readonly buffers?: ColumnBuffers,
  ) {
    this.arcIds = new Array<string>(n).fill('');
    this.days = new Array<string>(n).fill('');
    this.libelles = new Array<string>(n).fill('');
    const bytes = columnBytes(n);
    this.buffer = this.take(bytes);
    const c = new Carver(this.buffer);
    this.flow = doubles(c.f64(n * HOURS), c.bits(n * HOURS));
    this.occ = doubles(c.f64(n * HOURS), c.bits(n * HOURS));
    this.etatCodes = c.i8(n * HOURS);
    this.etatValid = c.bits(n * HOURS);
    this.etatNulls = n * HOURS;
    this.geo = c.f64(n * 2);
    this.geoValid = c.bits(n);
    this.length = doubles(c.f64(n), c.bits(n));
    this.rows = c.i32(n);
  }

  /** Row i's own fields; `lat`/`lon` NaN = no point, `lengthM` null = none. Call once per row. */
  row(
    i: number,
    arcId: string,
    day: string,
    libelle: string,
    lat: number,
    lon: number,
    lengthM: number | null,
    rows: number,
  ): void {
    this.arcIds[i] = arcId;
    this.days[i] = day;
    this.libelles[i] = libelle;
    if (Number.isNaN(lat)) this.geoNulls++;
    else {
      this.geo[2 * i] = lat;
      this.geo[2 * i + 1] = lon;
      setBit(this.geoValid, i);
    }
    this.length.set(i, lengthM);
    this.rows[i] = rows;
  }

  /** Hour h of row i (call at most once per hour; hours not given are null). NaN = null. */
  hour(i: number, h: number, flow: number, occupancy: number, etat: string | null): void {
    this.hourCode(i, h, flow, occupancy, etat === null ? -1 : this.code(etat));
  }

  /** As `hour`, the state given by its index in ETATS_TRAFIC (-1 = null). */
  hourCode(i: number, h: number, flow: number, occupancy: number, etatCode: number): void {
    const k = i * HOURS + h;
    this.flow.set(k, Number.isNaN(flow) ? null : flow);
    this.occ.set(k, Number.isNaN(occupancy) ? null : occupancy);
    if (etatCode >= 0) {
      this.etatCodes[k] = etatCode;
      setBit(this.etatValid, k);
      this.etatNulls--;
    }
  }

  private code(e: string): number {
    let code = this.codeOf.get(e);
    if (code === undefined) {
      code = this.names.push(e) - 1;
      if (code > 127) throw new Error(`More than 128 distinct Etat trafic values in a day (${e})`);
      this.codeOf.set(e, code);
    }
    return code;
  }

  private take(bytes: number): ArrayBuffer {
    return this.buffers ? this.buffers.take(bytes) : new ArrayBuffer(bytes);
  }

  build(): ArcDayTable {
    const n = this.n;
    const strings = [this.arcIds, this.days, this.libelles].map(utf8Parts);
    const stringBuffer = this.take(Carver.bytes(strings.map((s) => utf8ColumnBytes(n, s.total))));
    const sc = new Carver(stringBuffer);
    const [arcIds, days, libelles] = strings.map((s) => utf8Vector(s, sc)) as [
      Vector<Utf8>,
      Vector<Utf8>,
      Vector<Utf8>,
    ];
    const list24 = <T extends Float64 | Dictionary<Utf8, Int8>>(type: T, child: Data<T>) =>
      makeVector(makeData({ type: hourly(type), length: n, nullCount: 0, child }));
    const etatChild = makeData({
      type: etatType(),
      length: n * HOURS,
      nullCount: this.etatNulls,
      nullBitmap: this.etatNulls ? this.etatValid : null,
      data: this.etatCodes,
      dictionary: vectorFromArray(this.names, new Utf8()),
    });
    const geoType = new FixedSizeList(2, new Field('coordinate', new Float64(), false));
    const geoChild = makeData({ type: new Float64(), length: n * 2, nullCount: 0, data: this.geo });
    const table = new Table({
      arc_id: arcIds,
      day: days,
      libelle: libelles,
      flow: list24(new Float64(), this.flow.data()),
      occupancy: list24(new Float64(), this.occ.data()),
      etat: list24(etatType(), etatChild),
      geo_point: makeVector(
        makeData({
          type: geoType,
          length: n,
          nullCount: this.geoNulls,
          nullBitmap: this.geoNulls ? this.geoValid : null,
          child: geoChild,
        }),
      ),
      row_length_m: makeVector(this.length.data()),
      rows: makeVector(makeData({ type: new Int32(), length: n, nullCount: 0, data: this.rows })),
    }) as unknown as ArcDayTable;
    buffersOfTable.set(table, [this.buffer, stringBuffer]);
    return table;
  }
}

/** The table of a day's arc-days (in the given order). */
export function arcDaysToTable(list: readonly ArcDay[], buffers?: ColumnBuffers): ArcDayTable {
  const b = new ArcDayTableBuilder(list.length, buffers);
  list.forEach((a, i) => {
    const [lat, lon] = a.geo_point ?? [NaN, NaN];
    b.row(i, a.arc_id, a.day, a.libelle, lat, lon, a.row_length_m, a.rows);
    for (let h = 0; h < HOURS; h++) b.hour(i, h, a.flow[h] ?? NaN, a.occupancy[h] ?? NaN, a.etat[h] ?? null);
  });
  return b.build();
}

/** A day's arc-days as flat columns: row i's hour h at i·24+h. */
export interface ArcDayColumns {
  length: number;
  arcId: readonly string[];
  day: readonly string[];
  libelle: readonly string[];
  /** NaN = null. */
  flow: Float64Array;
  /** NaN = null. */
  occupancy: Float64Array;
  /** Index in `etatNames`; -1 = null. */
  etat: Int8Array;
  etatNames: readonly string[];
  /** [lat, lon] of row i at 2i, 2i+1; NaN = no point. */
  geoPoint: Float64Array;
  /** NaN = null. */
  rowLengthM: Float64Array;
  rows: Int32Array;
}

/** Copies a vector of doubles (or the children of its fixed-size lists) into `out`, NaN for nulls. */
function readDoubles(v: Vector, out: Float64Array, child: boolean): void {
  let k = 0;
  for (const chunk of v.data) {
    const d = (child ? chunk.children[0]! : chunk) as Data<Float64>;
    const values = d.values;
    const n = child ? chunk.length * (out.length / v.length) : chunk.length;
    const bm = nullBits(d);
    if (!bm) out.set(values.subarray(0, n), k);
    else for (let j = 0; j < n; j++) out[k + j] = isValid(bm, d.offset + j) ? values[j]! : NaN;
    k += n;
  }
}

/**
 * The validity bitmap of `d` when it has nulls, else null. Read directly (`isValid`): Arrow's
 * `Data.getValid` re-derives the type's nullability on every call (≈ 10 % of the metrics' CPU).
 */
const nullBits = (d: Data): Uint8Array | null => (d.nullCount > 0 ? d.nullBitmap! : null);
const isValid = (bm: Uint8Array, pos: number): boolean => (bm[pos >> 3]! & (1 << (pos & 7))) !== 0;

const strings = (v: Vector): string[] => v.toArray() as string[];

/** The columns of an arc-day table (see the file comment): typed arrays, no per-row objects. */
export function arcDayColumns(table: ArcDayTable): ArcDayColumns {
  const n = table.numRows;
  const col = (name: string): Vector => {
    const v = table.getChild(name as never) as Vector | null;
    if (!v) throw new Error(`Arc-day table without column ${name}`);
    return v;
  };
  const flow = new Float64Array(n * HOURS);
  const occupancy = new Float64Array(n * HOURS);
  readDoubles(col('flow'), flow, true);
  readDoubles(col('occupancy'), occupancy, true);
  const geoPoint = new Float64Array(n * 2);
  let k = 0;
  for (const chunk of col('geo_point').data) {
    const values = (chunk.children[0] as Data<Float64>).values;
    const bm = nullBits(chunk);
    for (let j = 0; j < chunk.length; j++, k++) {
      const ok = !bm || isValid(bm, chunk.offset + j);
      geoPoint[2 * k] = ok ? values[2 * j]! : NaN;
      geoPoint[2 * k + 1] = ok ? values[2 * j + 1]! : NaN;
    }
  }
  const rowLengthM = new Float64Array(n);
  readDoubles(col('row_length_m'), rowLengthM, false);
  // Etat codes, mapped into one list of names (a stream may carry a dictionary per batch).
  const etat = new Int8Array(n * HOURS);
  const etatNames: string[] = [];
  const nameCode = new Map<string, number>();
  k = 0;
  for (const chunk of col('etat').data) {
    const d = chunk.children[0] as Data<Dictionary<Utf8, Int8>>;
    const dict = d.dictionary ? strings(d.dictionary) : [];
    const remap = dict.map((name) => {
      let c = nameCode.get(name);
      if (c === undefined) nameCode.set(name, (c = etatNames.push(name) - 1));
      return c;
    });
    const codes = d.values as Int8Array;
    const bm = nullBits(d);
    for (let j = 0; j < chunk.length * HOURS; j++)
      etat[k++] = !bm || isValid(bm, d.offset + j) ? remap[codes[j]!]! : -1;
  }
  const rows = new Int32Array(n);
  let r = 0;
  for (const chunk of col('rows').data) {
    const values = (chunk as Data<Int32>).values;
    for (let j = 0; j < chunk.length; j++) rows[r++] = values[j]!;
  }
  return {
    length: n,
    arcId: strings(col('arc_id')),
    day: strings(col('day')),
    libelle: strings(col('libelle')),
    flow,
    occupancy,
    etat,
    etatNames,
    geoPoint,
    rowLengthM,
    rows,
  };
}

/** Back to records (tests and tools; the pipeline reads the columns). */
export function arcDaysOfColumns(c: ArcDayColumns): ArcDay[] {
  const out: ArcDay[] = [];
  const orNull = (x: number): number | null => (Number.isNaN(x) ? null : x);
  for (let i = 0; i < c.length; i++) {
    const hours = Array.from({ length: HOURS }, (_, h) => i * HOURS + h);
    out.push({
      arc_id: c.arcId[i]!,
      day: c.day[i]!,
      libelle: c.libelle[i]!,
      flow: hours.map((k) => orNull(c.flow[k]!)),
      occupancy: hours.map((k) => orNull(c.occupancy[k]!)),
      etat: hours.map((k) => (c.etat[k]! < 0 ? null : c.etatNames[c.etat[k]!]!)),
      geo_point: Number.isNaN(c.geoPoint[2 * i]!) ? null : [c.geoPoint[2 * i]!, c.geoPoint[2 * i + 1]!],
      row_length_m: orNull(c.rowLengthM[i]!),
      rows: c.rows[i]!,
    });
  }
  return out;
}
