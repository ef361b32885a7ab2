/**
 * Per key (the scanner uses arc × 3 + field): the bytes of a field as last decoded and the value they
 * gave. The four numbers of a key sit side by side in one array and the bytes in one arena, so a check
 * touches one or two cache lines: with rows in the exports' order this check runs for ≈ 1 row in 5,
 * on keys all over the table, and separate arrays per number cost a cache miss each.
 */
const STRIDE = 4; // offset in the arena, length + 1 (0 = none), quoted flag, value

export class BytesMemo {
  private arena = Buffer.allocUnsafe(1 << 16);
  private used = 0;
  private meta = new Int32Array(1024 * STRIDE);

  /** The value memoised for `key` if its bytes equal b[s, e) with the same quoting, else -1. */
  get(key: number, b: Buffer, s: number, e: number, quoted: number): number {
    const m = key * STRIDE;
    const meta = this.meta;
    if (m >= meta.length || meta[m + 1] !== e - s + 1 || meta[m + 2] !== quoted) return -1;
    const o = meta[m]!;
    const n = e - s;
    const a = this.arena;
    // Short fields: a JS loop beats the native call's overhead.
    if (n > 64) return a.compare(b, s, e, o, o + n) === 0 ? meta[m + 3]! : -1;
    for (let j = 0; j < n; j++) if (a[o + j] !== b[s + j]) return -1;
    return meta[m + 3]!;
  }

  set(key: number, b: Buffer, s: number, e: number, quoted: number, value: number): void {
    const m = key * STRIDE;
    if (m >= this.meta.length) {
      const wider = new Int32Array(Math.max(m + STRIDE, this.meta.length * 2));
      wider.set(this.meta);
      this.meta = wider;
    }
    const meta = this.meta;
    const n = e - s;
    if (this.used + n > this.arena.length) {
      // Old copies of changed fields are dropped when the arena grows: only live entries are kept.
      const live = this.liveBytes() + n;
      const bigger = Buffer.allocUnsafe(Math.max(1 << 16, live * 2));
      let used = 0;
      for (let k = 0; k < meta.length; k += STRIDE) {
        const l = meta[k + 1]! - 1;
        if (l <= 0) continue;
        this.arena.copy(bigger, used, meta[k]!, meta[k]! + l);
        meta[k] = used;
        used += l;
      }
      this.arena = bigger;
      this.used = used;
    }
    b.copy(this.arena, this.used, s, e);
    meta[m] = this.used;
    meta[m + 1] = n + 1;
    meta[m + 2] = quoted;
    meta[m + 3] = value;
    this.used += n;
  }

  private liveBytes(): number {
    let n = 0;
    for (let k = 1; k < this.meta.length; k += STRIDE) if (this.meta[k]! > 1) n += this.meta[k]! - 1;
    return n;
  }
}
