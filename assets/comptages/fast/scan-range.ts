/**
 * Byte-level scan of one range of a road-count CSV, with exactly the row rules of the csv-parse reader
 * (parse.ts): same checks in the same order, same reject reasons, details, raw text and line numbers,
 * same de-duplication, same values. Accepted rows go to day buckets (row-buckets.ts) as compact
 * records, aggregated afterwards (replay.ts); what the rules need to know of earlier rows of the range
 * (instants taken, first-seen values supplied) is kept per arc-day in a `RangePresence`.
 *
 * Why hand-written parsing: on these 2-core machines csv-parse reads the real layout at 21.6 MB/s and
 * a plain Node line splitter at 168 MB/s, against 304 MB/s for DuckDB (figures in docs/performance.md).
 * This scanner only looks at the bytes of the fields the arc-days need, parses the common forms of
 * numbers/timestamps/states straight from bytes, and hands anything unusual to the shared general
 * functions (parseCountTimestamp, parseDecimal, normalizeEtatTrafic), so results cannot diverge.
 *
 * Field bounds of regular rows come from a WebAssembly SIMD splitter (split-rows.as) that reads the
 * buffer the file is read into; the rows it flags (anything unusual) are re-split here in JS with
 * native searches (`Buffer.indexOf` per separator, per quote pair; the next quote and CR reused while
 * ahead of the row), which decide the exact reason. Never a JS loop over the row's bytes: here a JS
 * byte loop costs ≈ 1.6 ns per byte.
 *
 * What it does not handle, reported as `irregular` so the caller switches to csv-parse: quoted fields
 * containing a line break, quotes inside unquoted fields, text after a closing quote, mixed line
 * endings, a CR anywhere in a row other than its CRLF (inside quotes too). The road-count layout has
 * none of these in practice.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { QuarantineRecord } from '../../../engine/quarantine.ts';
import { lineLengthMeters, parseGeoPoint, parseGeoShape } from '../../geo/geometry.ts';
import { ETATS_TRAFIC, normalizeEtatTrafic, parseDecimal } from '../normalize.ts';
import { dayNumber, parseCountTimestamp } from '../paris-clock.ts';
import { Interner, type InternTables } from './intern.ts';
import { BytesMemo } from './bytes-memo.ts';
import type { Layout } from './layout.ts';
import { GEO_SEEN, LEN_SEEN, LIB_SEEN, RangePresence } from './presence.ts';
import { BucketWriter, type BucketFile } from './row-buckets.ts';
import { offsetCode } from './value-codes.ts';
import { FIELD_INTS, ROW_HEADER, RowSplitter } from './split-rows.ts';

export interface RangeTask {
  path: string;
  key: string;
  layout: Layout;
  start: number;
  end: number;
  /** Day numbers to keep (others are skipped), or null for all. */
  days: number[] | null;
  /** Rejects kept with full detail (the earliest ones); counts stay exact. */
  maxRejects: number;
  /** Probe mode: report line and raw text of the first accepted row at these `arc|day|hour|offset` keys. */
  probe?: string[];
  /** Scratch file and bucket count for the accepted rows (none in probe mode: rows are not kept). */
  buckets?: { path: string; count: number };
  /** Read buffer size (default 4 MB); tests use tiny ones so rows straddle buffer refills. */
  chunkBytes?: number;
}

export interface RangeReject extends QuarantineRecord {
  /** Line relative to the range: number of line breaks between the range start and the row. */
  line: number;
}

export interface RangeResult {
  /** The arc ids and first-seen values the records refer to. */
  names: InternTables;
  /** The accepted rows, by day bucket (null in probe mode or when the scan stopped early). */
  buckets: BucketFile | null;
  rows: number;
  skipped: number;
  rejected: number;
  unknownEtat: number;
  rejectCounts: Record<string, number>;
  rejects: RangeReject[];
  /** Line breaks in the range (to turn the next range's relative lines into file lines). */
  newlines: number;
  irregular: { why: string; line: number } | null;
  probed: { key: string; line: number; raw: string; instant: number }[];
  /**
   * Line of the file's last line when it ends inside an open quote (a truncated file): that record is
   * lost, as csv-parse loses it ("Quote Not Closed"), and the rest of the file stays on the fast path.
   */
  unclosedAtEnd: number | null;
}

const CR = 0x0d;
const QUOTE = 0x22;
const SPACE = 0x20;
const TAB = 0x09;
/** Read size of a range scan (grown for a longer line). 1 MB read as fast as 4 MB did, ≈ 7 MB less peak RSS on 6 GB. */
const CHUNK = 1 << 20;
const MAX_FIELDS = 4096;

/** Stop signal for irregular input (caught in scanRange). */
class Irregular extends Error {}

const ETAT_BYTES = ETATS_TRAFIC.map((e) => Buffer.from(e, 'utf8'));

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const DIM = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const daysInMonth = (y: number, m: number): number =>
  m === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : DIM[m]!;

/** Start or end of EU summer time in ms for a year (last Sunday of March/October, 01:00 UTC). */
function lastSunday1Utc(y: number, m: number): number {
  const last = daysFromCivil(y, m, daysInMonth(y, m));
  const weekday = (last + 4) % 7; // 1970-01-01 was a Thursday (4)
  return (last - weekday) * 86_400_000 + 3_600_000;
}

function digitsAt(b: Buffer, s: number, n: number): boolean {
  for (let i = s; i < s + n; i++) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

export function scanRange(task: RangeTask, onProgress?: (bytesDone: number) => void): RangeResult {
  const { layout } = task;
  const delim = layout.delimiter.charCodeAt(0);
  const width = layout.width;
  const col = layout.columns;
  const daySet = task.days ? new Set(task.days) : null;
  const names = new Interner();
  const presence = new RangePresence();
  const writer = task.buckets ? new BucketWriter(task.buckets.path, task.buckets.count) : null;
  const res: RangeResult = {
    names: names.tables(),
    buckets: null,
    rows: 0,
    skipped: 0,
    rejected: 0,
    unknownEtat: 0,
    rejectCounts: {},
    rejects: [],
    newlines: 0,
    irregular: null,
    probed: [],
    unclosedAtEnd: null,
  };
  const probe = task.probe ? new Set(task.probe) : null;

  // The current row's fields: start, end, quoting (0 plain, 1 quoted, 2 with doubled quotes) of field k
  // at F[fb + 3k ...]: the WebAssembly row table itself for regular rows (no copy), `slowFields` for
  // rows split in JS.
  const slowFields = new Int32Array(FIELD_INTS * MAX_FIELDS);
  let F: Int32Array = slowFields;
  let fb = 0;
  // Regular rows are split by WebAssembly (split-rows.as) straight from the read buffer it owns.
  const splitter = new RowSplitter(
    task.chunkBytes ?? CHUNK,
    delim,
    layout.crlf,
    width <= MAX_FIELDS ? width : 0,
  );
  const stride = splitter.stride;
  let b: Buffer = splitter.buffer;
  let nf = 0;
  let line = 0; // relative line of the current row

  /** A field as csv-parse gives it (quotes removed, doubled quotes undone), untrimmed: what `raw` joins. */
  const field = (k: number): string => {
    const t = b.toString('utf8', F[fb + k * 3]!, F[fb + k * 3 + 1]!);
    return F[fb + k * 3 + 2] === 2 ? t.replaceAll('""', '"') : t;
  };
  /** A cell's value as parse.ts reads it (`cell`): the field, trimmed — quoted or not. */
  const str = (k: number): string => (k < 0 ? '' : field(k).trim());

  /**
   * [ts0, ts1): the field's bytes without surrounding spaces and tabs, for the fast paths; false for
   * absent fields and fields with doubled quotes. Other whitespace is left in: the fast paths then
   * fail on it and the general path (`str`, JS trim) decides, as parse.ts does.
   */
  let ts0 = 0;
  let ts1 = 0;
  const plain = (k: number): boolean => {
    if (k < 0 || F[fb + k * 3 + 2] === 2) return false;
    let s = F[fb + k * 3]!;
    let e = F[fb + k * 3 + 1]!;
    while (s < e && (b[s] === SPACE || b[s] === TAB)) s++;
    while (e > s && (b[e - 1] === SPACE || b[e - 1] === TAB)) e--;
    ts0 = s;
    ts1 = e;
    return true;
  };

  /** The record as parse.ts reports it: its fields as csv-parse gives them, joined by the separator. */
  const rawText = (): string => {
    const fields: string[] = [];
    for (let k = 0; k < nf; k++) fields.push(field(k));
    return fields.join(layout.delimiter);
  };

  const reject = (reason: string, detail?: string): void => {
    res.rejected++;
    res.rejectCounts[reason] = (res.rejectCounts[reason] ?? 0) + 1;
    if (res.rejects.length >= task.maxRejects) return;
    const raw = rawText();
    res.rejects.push(
      detail === undefined
        ? { reason, file: task.key, line, raw }
        : { reason, file: task.key, line, detail, raw },
    );
  };

  /** Decimal cell: NaN = empty (null), Infinity = not a number (parseDecimal's undefined). */
  const num = (k: number): number => {
    if (k < 0) return NaN;
    if (plain(k)) {
      let i = ts0;
      const e = ts1;
      if (i === e) return NaN;
      {
        const neg = b[i] === 0x2d;
        if (neg) i++;
        let m = 0;
        let digits = 0;
        let frac = -1;
        // The French decimal comma too (parseDecimal: digits on both sides): a file of `583,1` flows
        // cost 1.49× the CPU of `583.0` through parseDecimal (docs/performance.md).
        let comma = false;
        for (; i < e; i++) {
          const c = b[i]!;
          if (c >= 0x30 && c <= 0x39) {
            m = m * 10 + (c - 0x30);
            digits++;
            if (frac >= 0) frac++;
          } else if (frac < 0 && (c === 0x2e || (c === 0x2c && digits > 0))) {
            frac = 0;
            comma = c === 0x2c;
          } else break;
        }
        // Exact: m < 2^53 and 10^frac exact, so one correctly rounded division equals Number(text).
        if (i === e && digits > 0 && digits <= 15 && (!comma || frac > 0)) {
          const v = frac > 0 ? m / POW10[frac]! : m;
          return neg ? -v : v;
        }
      }
    }
    const v = parseDecimal(str(k));
    return v === null ? NaN : v === undefined ? Infinity : v;
  };

  const etatCode = (k: number): number => {
    if (plain(k) && ts1 > ts0) {
      const n = ts1 - ts0;
      for (let c = 0; c < ETAT_BYTES.length; c++) {
        const lab = ETAT_BYTES[c]!;
        if (lab.length !== n || lab[0] !== b[ts0]) continue;
        let j = 1;
        while (j < n && lab[j] === b[ts0 + j]) j++;
        if (j === n) return c + 1;
      }
    }
    const etat = normalizeEtatTrafic(str(k));
    if (etat === null) {
      res.unknownEtat++;
      return ETATS_TRAFIC.indexOf('Inconnu') + 1;
    }
    return ETATS_TRAFIC.indexOf(etat) + 1;
  };

  const shapeLength = (text: string): number | null => {
    const shape = parseGeoShape(text);
    return shape && shape.type === 'LineString' ? lineLengthMeters(shape.coordinates) : null;
  };

  /**
   * An arc's libelle, point and shape are the same on almost every day: per arc and field (key
   * arc × 3 + LIB / POINT / SHAPE, so an arc's three entries sit side by side), the bytes of the field
   * last decoded and the interned value it gave (0 = none). Byte-identical fields decode to the same
   * value, so a compare replaces decoding, parsing and interning.
   */
  const memo = new BytesMemo();
  const memoised = (arc: number, which: number, k: number, compute: () => number): number => {
    const s = F[fb + k * 3]!;
    const e = F[fb + k * 3 + 1]!;
    const q = F[fb + k * 3 + 2]!;
    const key = arc * 3 + which;
    const known = memo.get(key, b, s, e, q);
    if (known >= 0) return known;
    const value = compute();
    memo.set(key, b, s, e, q, value);
    return value;
  };
  // What a memo miss computes: the interned index of the field's value (0 = none). Defined once, so
  // a memo check allocates nothing.
  const decodeLibelle = (): number => {
    const text = str(col.libelle);
    return text === '' ? 0 : names.internLib(text);
  };
  const decodePoint = (): number => {
    const text = str(col.geo_point);
    const point = text === '' ? null : parseGeoPoint(text);
    return point ? names.internGeo(point[0], point[1]) : 0;
  };
  const decodeLength = (): number => {
    const text = str(col.geo_shape);
    const length = text === '' ? null : shapeLength(text);
    return length === null ? 0 : names.internLen(length);
  };

  // Timestamp outputs.
  let tDay = 0;
  let tHour = 0;
  let tOff = 0;
  let tInstant = 0;
  let tAmbiguous = false;
  let tSummer = 0;
  let tWinter = 0;

  // Last date seen by the fast path: 'YYYY-MM-DD' as a number, its day number, its year's summer time.
  let dYmd = -1;
  let dDay = 0;
  let dYear = -1;
  let dSummerStart = 0;
  let dSummerEnd = 0;

  /** Fast path for 'YYYY-MM-DDTHH:00:00+0H:00' whose offset is Paris's; false → general path. */
  const fastTimestamp = (k: number): boolean => {
    if (!plain(k) || ts1 - ts0 !== 25) return false;
    const s = ts0;
    if (!digitsAt(b, s, 4) || !digitsAt(b, s + 5, 2) || !digitsAt(b, s + 8, 2) || !digitsAt(b, s + 11, 2))
      return false;
    if (b[s + 4] !== 0x2d || b[s + 7] !== 0x2d || (b[s + 10] !== 0x54 && b[s + 10] !== SPACE)) return false;
    // ':00:00+0' then '1' or '2' then ':00'
    if (b[s + 13] !== 0x3a || b[s + 14] !== 0x30 || b[s + 15] !== 0x30 || b[s + 16] !== 0x3a) return false;
    if (b[s + 17] !== 0x30 || b[s + 18] !== 0x30 || b[s + 19] !== 0x2b || b[s + 20] !== 0x30) return false;
    if (b[s + 22] !== 0x3a || b[s + 23] !== 0x30 || b[s + 24] !== 0x30) return false;
    const o = b[s + 21];
    const off = o === 0x31 ? 60 : o === 0x32 ? 120 : 0;
    if (off === 0) return false;
    const y = (b[s]! - 48) * 1000 + (b[s + 1]! - 48) * 100 + (b[s + 2]! - 48) * 10 + (b[s + 3]! - 48);
    const mo = (b[s + 5]! - 48) * 10 + (b[s + 6]! - 48);
    const dd = (b[s + 8]! - 48) * 10 + (b[s + 9]! - 48);
    const h = (b[s + 11]! - 48) * 10 + (b[s + 12]! - 48);
    if (h > 23) return false;
    // Rows come roughly in time order: the date's checks and day number are reused while it repeats.
    const ymd = y * 10_000 + mo * 100 + dd;
    if (ymd !== dYmd) {
      if (y < 1997 || y > 2098 || mo < 1 || mo > 12 || dd < 1 || dd > daysInMonth(y, mo)) return false;
      if (y !== dYear) {
        dSummerStart = lastSunday1Utc(y, 3);
        dSummerEnd = lastSunday1Utc(y, 10);
        dYear = y;
      }
      dDay = daysFromCivil(y, mo, dd);
      dYmd = ymd;
    }
    const dayNum = dDay;
    const instant = (dayNum * 24 + h) * 3_600_000 - off * 60_000;
    const paris = instant >= dSummerStart && instant < dSummerEnd ? 120 : 60;
    if (paris !== off) return false;
    tDay = dayNum;
    tHour = h;
    tOff = off;
    tInstant = instant;
    tAmbiguous = false;
    return true;
  };

  // Next quote / CR at or after the current row, found natively and reused while ahead of it (-1 =
  // not searched since the last read; positions at or past `have` mean none in this buffer).
  let nextQuote = -1;
  let nextCr = -1;

  /** True while splitting the file's last line when it has no line break (see `unclosedAtEnd`). */
  let atFileEnd = false;
  /**
   * The JS splitter, for the rows the WebAssembly one leaves (slow rows): same rules, exact reasons.
   * False when the row is the file's last line and ends inside an open quote.
   */
  const splitRow = (p: number, eol: number): boolean => {
    // A CR inside the row (the CRLF one is at eol, outside) is a bare CR: irregular.
    if (nextCr < p) {
      nextCr = b.indexOf(CR, p);
      if (nextCr === -1) nextCr = b.length;
    }
    if (nextCr < eol) throw new Irregular('bare CR');
    if (nextQuote < p) {
      nextQuote = b.indexOf(QUOTE, p);
      if (nextQuote === -1) nextQuote = b.length;
    }
    // Split into fields (bounds only): separators found natively, one call per field. `nextQuote` is
    // the first quote at or after i, so an unquoted field contains a quote iff it lies before its end.
    nf = 0;
    let i = p;
    for (;;) {
      if (nf === MAX_FIELDS) throw new Irregular('more than 4096 fields');
      if (i === nextQuote) {
        let q = i + 1;
        let doubled = false;
        for (;;) {
          q = b.indexOf(QUOTE, q);
          if (q === -1 || q >= eol) {
            if (atFileEnd) return false;
            throw new Irregular('quoted field with a line break or unclosed quote');
          }
          if (q + 1 < eol && b[q + 1] === QUOTE) {
            doubled = true;
            q += 2;
            continue;
          }
          break;
        }
        slowFields[nf * 3] = i + 1;
        slowFields[nf * 3 + 1] = q;
        slowFields[nf * 3 + 2] = doubled ? 2 : 1;
        nf++;
        i = q + 1;
        if (i === eol) break;
        if (b[i] !== delim) throw new Irregular('text after a closing quote');
        i++;
        nextQuote = b.indexOf(QUOTE, i);
        if (nextQuote === -1) nextQuote = b.length;
      } else {
        let d = b.indexOf(delim, i);
        if (d === -1 || d > eol) d = eol;
        if (nextQuote < d) throw new Irregular('quote inside an unquoted field');
        slowFields[nf * 3] = i;
        slowFields[nf * 3 + 1] = d;
        slowFields[nf * 3 + 2] = 0;
        nf++;
        if (d === eol) break;
        i = d + 1; // a separator just before the line end is followed by one more, empty field
      }
    }
    return true;
  };

  /**
   * Everything after splitting: the row's checks, decoding and accumulation. (Empty lines never get
   * here; csv-parse skips those only: a line of blanks is a one-field record, as in parse.ts.)
   */
  const processFields = (): void => {
    if (nf !== width) return reject('wrong_column_count', `${nf} fields, header has ${width}`);

    if (!fastTimestamp(col.timestamp)) {
      const text = str(col.timestamp);
      const ts = parseCountTimestamp(text);
      if (ts.ok === false) return reject(ts.reason, text);
      tDay = dayNumber(ts.day);
      tHour = ts.hour;
      if (ts.ok === 'ambiguous') {
        tAmbiguous = true;
        tSummer = ts.summer;
        tWinter = ts.winter;
      } else {
        tAmbiguous = false;
        tOff = ts.offsetMinutes;
        tInstant = ts.instant;
      }
    }
    if (daySet && !daySet.has(tDay)) {
      res.skipped++;
      return;
    }

    // Arc id: canonical integers never become strings here.
    let arc = -1;
    let arcText: string | null = null;
    if (plain(col.arc_id) && ts1 > ts0 && ts1 - ts0 <= 15 && (b[ts0] !== 0x30 || ts1 - ts0 === 1)) {
      let n = 0;
      let j = ts0;
      for (; j < ts1; j++) {
        const c = b[j]! - 0x30;
        if (c < 0 || c > 9) break;
        n = n * 10 + c;
      }
      if (j === ts1) arc = n;
    }
    if (arc < 0) {
      arcText = str(col.arc_id);
      if (arcText === '') return reject('missing_arc_id');
    }
    const flow = num(col.flow);
    if (flow === Infinity) return reject('non_numeric_flow', str(col.flow));
    // Details are the cell's text, as parse.ts gives them ('-4.0', '-3,5'), not the number.
    if (flow < 0) return reject('negative_flow', str(col.flow));
    const occ = num(col.occupancy);
    if (occ === Infinity) return reject('non_numeric_occupancy', str(col.occupancy));
    if (occ < 0 || occ > 100) return reject('occupancy_out_of_range', str(col.occupancy));

    const a = arcText === null ? names.arcOfNumber(arc) : names.arcOfString(arcText);
    presence.select(tDay, a);
    if (tAmbiguous) {
      const summerTaken = presence.has(a, tHour, 2);
      tInstant = summerTaken ? tWinter : tSummer;
      tOff = summerTaken ? 60 : 120;
    }
    const off = offsetCode(tOff);
    if (presence.has(a, tHour, off)) {
      return reject(
        'duplicate_row',
        `arc ${names.arcIds[a]!} at ${new Date(tInstant).toISOString()} already seen in this file`,
      );
    }
    const etat = etatCode(col.etat);
    presence.add(a, tHour, off);
    res.rows++;

    // First-seen values, until the arc-day has them; memoised per arc by the field's bytes (see `memoised`).
    const seen = presence.seen(a);
    let lib = 0;
    let geo = 0;
    let len = 0;
    if (!(seen & LIB_SEEN) && col.libelle >= 0) lib = memoised(a, 0, col.libelle, decodeLibelle);
    if (!(seen & GEO_SEEN) && col.geo_point >= 0) geo = memoised(a, 1, col.geo_point, decodePoint);
    if (!(seen & LEN_SEEN) && col.geo_shape >= 0) len = memoised(a, 2, col.geo_shape, decodeLength);
    if ((lib | geo | len) !== 0)
      presence.markSeen(a, (lib ? LIB_SEEN : 0) | (geo ? GEO_SEEN : 0) | (len ? LEN_SEEN : 0));
    writer?.row(a, tDay, tHour, off, tAmbiguous, etat, flow, occ, lib, geo, len);
    if (probe) {
      const key = `${names.arcIds[a]!}|${tDay}|${tHour}|${tOff}`;
      if (probe.has(key)) {
        probe.delete(key);
        res.probed.push({ key, line, raw: rawText(), instant: tInstant });
      }
    }
  };

  const fd = openSync(task.path, 'r');
  try {
    let bufPos = task.start; // file offset of b[0]
    let carry = 0;
    for (;;) {
      const want = Math.min(b.length - carry, task.end - (bufPos + carry));
      const got = want > 0 ? readSync(fd, b, carry, want, bufPos + carry) : 0;
      const have = carry + got;
      nextQuote = -1;
      nextCr = -1;
      const atEnd = bufPos + have >= task.end || got === 0;
      let p = 0;
      for (;;) {
        const n = splitter.split(p, have, atEnd);
        const rows = splitter.rows;
        const base = line;
        for (let r = 0, o = 0; r < n; r++, o += stride) {
          line = base + rows[o + 2]!;
          if (rows[o + 3] === 0) {
            F = rows;
            fb = o + ROW_HEADER;
            nf = width;
            processFields();
            continue;
          }
          // Slow row: the JS rules, line ending checks included.
          const start = rows[o]!;
          const nl = rows[o + 1]!;
          let eol = nl;
          if (nl < have) {
            const hasCr = eol > start && b[eol - 1] === CR;
            if (hasCr !== layout.crlf) throw new Irregular('line endings differ from the header line');
            if (hasCr) eol--;
          }
          if (eol > start) {
            atFileEnd = nl === have && task.end >= layout.fileSize;
            F = slowFields;
            fb = 0;
            if (splitRow(start, eol)) processFields();
            else res.unclosedAtEnd = line;
          }
        }
        line = base + splitter.newlines;
        res.newlines += splitter.newlines;
        p = splitter.consumed;
        if (!splitter.full(n)) break;
      }
      onProgress?.(Math.min(bufPos + Math.min(p, have), task.end) - task.start);
      if (atEnd) break;
      carry = have - p;
      if (carry > 0) b.copy(b, 0, p, have);
      bufPos += p;
      if (carry === b.length) {
        splitter.grow(b.length * 2);
        b = splitter.buffer;
      }
    }
  } catch (e) {
    if (!(e instanceof Irregular)) throw e;
    res.irregular = { why: e.message, line };
  } finally {
    closeSync(fd);
    if (writer && res.irregular === null) res.buckets = writer.finish();
    else writer?.abandon();
  }
  return res;
}
