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

/** Numeric arc ids below this are looked up in a dense array (≤ 4 MB; Paris ids are below 10,000). */
const DENSE_ARC_IDS = 1 << 20;
const CANONICAL_INT = /^(0|[1-9]\d{0,14})$/;

export class Interner implements InternTables {
  /** Arc index → id. Arc indices start at 0. */
  readonly arcIds: string[] = [];
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
  private readonly geoIndex = new Map<number, Map<number, number>>();
  private readonly lenIndex = new Map<number, number>();

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
    let k = this.libIndex.get(s);
    if (k === undefined) this.libIndex.set(s, (k = this.libs.push(s)));
    return k;
  }

  internGeo(lat: number, lon: number): number {
    let byLon = this.geoIndex.get(lat);
    if (!byLon) this.geoIndex.set(lat, (byLon = new Map()));
    const k = byLon.get(lon);
    // Map keys collapse -0 and 0: only reuse an entry that is the very same pair.
    if (k !== undefined && Object.is(this.geos[2 * k - 2], lat) && Object.is(this.geos[2 * k - 1], lon))
      return k;
    this.geos.push(lat, lon);
    const fresh = this.geos.length / 2;
    if (k === undefined) byLon.set(lon, fresh);
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

export interface IndexMaps {
  arc: Int32Array;
  lib: Int32Array;
  geo: Int32Array;
  len: Int32Array;
}
