/**
 * Interning tables of one road-count read: arc ids, libelles, geo points and row lengths, each stored
 * once and referred to by a small integer. An arc has the same libelle, point and length on almost
 * every day, so the per-row records and the day blocks hold indices, not values.
 */

/** Plain-data form of the tables (structured-clone friendly). */
export interface InternTables {
  arcIds: string[];
  libs: string[];
  /** [lat, lon] pairs, flattened. */
  geos: number[];
  lens: number[];
}

/** A number as a Map key that tells -0 from 0 (Map keys do not: the values must stay exact). */
type NumberKey = number | '-0';
const numberKey = (v: number): NumberKey => (v === 0 && 1 / v < 0 ? '-0' : v);

/** Numeric arc ids below this are looked up in a dense array (≤ 4 MB; Paris ids are below 10,000). */
const DENSE_ARC_IDS = 1 << 20;
const CANONICAL_INT = /^(0|[1-9]\d{0,14})$/;

export class Interner implements InternTables {
  /** Arc index → id. Arc indices start at 0. */
  readonly arcIds: string[] = [];
  /** False while the lookups below do not cover the tables yet (`of`: built on first lookup). */
  private indexed = true;
  /** Arc index + 1 of small numeric ids (0 = unknown); larger ones in `numArc`. */
  private denseArc = new Int32Array(1024);
  private readonly numArc = new Map<number, number>();
  private readonly strArc = new Map<string, number>();
  // Libelle, point and length tables: the index handed out is 1 + table index (0 = none).
  readonly libs: string[] = [];
  readonly geos: number[] = [];
  readonly lens: number[] = [];
  private readonly libIndex = new Map<string, number>();
  /** lat → lon → index (numbers as keys: no string per lookup). */
  private readonly geoIndex = new Map<NumberKey, Map<NumberKey, number>>();
  private readonly lenIndex = new Map<NumberKey, number>();

  /**
   * An interner holding these tables as they are (same indices). Its lookups are built on the first
   * call that needs them: adopting a worker's tables and only reading from them costs nothing.
   */
  static of(t: InternTables): Interner {
    const i = new Interner();
    // Copied one by one: spreading a large table into push() would exceed the call stack.
    for (const id of t.arcIds) i.arcIds.push(id);
    for (const v of t.libs) i.libs.push(v);
    for (const v of t.geos) i.geos.push(v);
    for (const v of t.lens) i.lens.push(v);
    i.indexed = false;
    return i;
  }

  private index(): void {
    this.indexed = true;
    const arcIds = this.arcIds.splice(0);
    const libs = this.libs.splice(0);
    const geos = this.geos.splice(0);
    const lens = this.lens.splice(0);
    for (const id of arcIds) this.arcOfString(id);
    for (const v of libs) this.internLib(v);
    for (let k = 0; k < geos.length; k += 2) this.internGeo(geos[k]!, geos[k + 1]!);
    for (const v of lens) this.internLen(v);
    // Tables with repeated entries would have shifted indices: they come from another interner.
    if (
      this.arcIds.length !== arcIds.length ||
      this.libs.length !== libs.length ||
      this.geos.length !== geos.length ||
      this.lens.length !== lens.length
    )
      throw new Error('interned tables are not distinct');
  }

  /** Arc index of a canonical integer id (digits, no leading zero): no string is built per row. */
  arcOfNumber(n: number): number {
    if (!this.indexed) this.index();
    if (n < DENSE_ARC_IDS) {
      const a = n < this.denseArc.length ? this.denseArc[n]! - 1 : -1;
      return a >= 0 ? a : this.newArc(String(n));
    }
    const a = this.numArc.get(n);
    return a === undefined ? this.newArc(String(n)) : a;
  }

  arcOfString(id: string): number {
    if (!this.indexed) this.index();
    if (CANONICAL_INT.test(id)) return this.arcOfNumber(Number(id));
    const a = this.strArc.get(id);
    return a === undefined ? this.newArc(id) : a;
  }

  private newArc(id: string): number {
    const a = this.arcIds.length;
    this.arcIds.push(id);
    if (CANONICAL_INT.test(id)) {
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

  internLib(s: string): number {
    if (!this.indexed) this.index();
    let k = this.libIndex.get(s);
    if (k === undefined) this.libIndex.set(s, (k = this.libs.push(s)));
    return k;
  }

  internGeo(lat: number, lon: number): number {
    if (!this.indexed) this.index();
    const latKey = numberKey(lat);
    let byLon = this.geoIndex.get(latKey);
    if (!byLon) this.geoIndex.set(latKey, (byLon = new Map()));
    const lonKey = numberKey(lon);
    let k = byLon.get(lonKey);
    if (k === undefined) {
      this.geos.push(lat, lon);
      byLon.set(lonKey, (k = this.geos.length / 2));
    }
    return k;
  }

  internLen(v: number): number {
    if (!this.indexed) this.index();
    const key = numberKey(v);
    let k = this.lenIndex.get(key);
    if (k === undefined) this.lenIndex.set(key, (k = this.lens.push(v)));
    return k;
  }

  tables(): InternTables {
    return { arcIds: this.arcIds, libs: this.libs, geos: this.geos, lens: this.lens };
  }

  /**
   * Index maps from another interner's tables into this one (interning what is missing): `arc[i]` is
   * this interner's arc index for the other's arc i; `lib`, `geo`, `len` map 1-based indices (0 → 0).
   */
  mapFrom(other: InternTables): IndexMaps {
    const geo = new Int32Array(other.geos.length / 2 + 1);
    for (let k = 0; k < other.geos.length; k += 2)
      geo[k / 2 + 1] = this.internGeo(other.geos[k]!, other.geos[k + 1]!);
    return {
      arc: Int32Array.from(other.arcIds, (id) => this.arcOfString(id)),
      lib: Int32Array.from([0, ...other.libs.map((s) => this.internLib(s))]),
      geo,
      len: Int32Array.from([0, ...other.lens.map((v) => this.internLen(v))]),
    };
  }
}

/** The maps of an interner's tables onto themselves. */
export function identityMaps(t: InternTables): IndexMaps {
  const upTo = (n: number): Int32Array => Int32Array.from({ length: n }, (_, k) => k);
  return {
    arc: upTo(t.arcIds.length),
    lib: upTo(t.libs.length + 1),
    geo: upTo(t.geos.length / 2 + 1),
    len: upTo(t.lens.length + 1),
  };
}

export interface IndexMaps {
  arc: Int32Array;
  lib: Int32Array;
  geo: Int32Array;
  len: Int32Array;
}
