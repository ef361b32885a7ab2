/**
 * Stands in front of csv-parse and hands it only records whose quoting is well formed, because
 * csv-parse cannot recover from a broken quote: after an invalid closing quote it stays "inside a
 * quoted field", so every later row is swallowed into one growing record and each later quote error
 * reports that whole record again (a 450 KB référentiel with stray CRs: 42 s, 3,000 rejects with wrong
 * lines; 900 KB: 52 s).
 *
 * A record whose quoted field is closed by something other than the separator or the line end, or
 * runs past `maxQuotedLines` lines or `maxQuotedBytes` characters, or is still open at the end of the
 * file, is one reject naming the line where the record started. That line is replaced by an empty
 * line (csv-parse skips it and keeps counting lines) and reading resumes on the next line, so a broken
 * quote never takes its neighbours with it. Each such resync rereads at most the bounded field, so the
 * whole scan stays linear.
 *
 * Runs of CRs before a line feed (`\r\r\r\n`, left by tools that convert line endings twice) are
 * one line end: they are written out as `\r\n`.
 */
import { StringDecoder } from 'node:string_decoder';
import { Transform, type TransformCallback } from 'node:stream';

export interface QuoteBounds {
  /** Lines a quoted field may span (default 100). */
  maxQuotedLines: number;
  /** Characters a quoted field may hold (default 1 MiB). */
  maxQuotedBytes: number;
}

export const DEFAULT_QUOTE_BOUNDS: QuoteBounds = { maxQuotedLines: 100, maxQuotedBytes: 1024 * 1024 };

export interface GuardReject {
  /** 1-based line where the rejected record starts. */
  line: number;
  detail: string;
  /** The record's first line. */
  raw: string;
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const BOM = 0xfeff;

export class CsvRecordGuard extends Transform {
  private readonly decoder = new StringDecoder('utf8');
  private readonly delimiter: number;
  /** The line terminator: LF, or CR for a file whose lines end with a lone CR. */
  private readonly eol: number;
  private readonly bounds: QuoteBounds;
  /** Text of the current record read from earlier chunks. */
  private carry: string[] = [];
  /** Text kept for the next chunk: a quote whose next character has not arrived yet. */
  private tail = '';
  /** Line where the current record starts, and line terminators inside it so far. */
  private line = 1;
  private linesIn = 0;
  private quoted = false;
  private fieldStart = true;
  /** The open quoted field: the line it opened on and the characters read since. */
  private quoteLine = 0;
  private quoteChars = 0;
  /** Dropping the rest of a rejected record's first line. */
  private skippingLine = false;
  private atFileStart = true;
  /** Lines of the CRs csv-parse counts as a line of their own (see `trueLine`). */
  private readonly extraLineAt: number[] = [];

  constructor(
    opts: { delimiter: string; crOnly: boolean; bounds?: QuoteBounds },
    private readonly onReject: (r: GuardReject) => void,
  ) {
    super();
    if (opts.delimiter.length !== 1) throw new RangeError('CsvRecordGuard: one-character delimiters only');
    this.delimiter = opts.delimiter.charCodeAt(0);
    this.eol = opts.crOnly ? CR : LF;
    this.bounds = opts.bounds ?? DEFAULT_QUOTE_BOUNDS;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.scan(this.tail + this.decoder.write(chunk), false);
    done();
  }

  override _flush(done: TransformCallback): void {
    this.scan(this.tail + this.decoder.end(), true);
    const last = this.carry.join('');
    if (last !== '') this.push(this.passOn(last));
    done();
  }

  private scan(input: string, final: boolean): void {
    let s = input;
    let i = 0;
    let recStart = 0;
    let out = '';
    this.tail = '';
    if (this.atFileStart && s.length > 0) {
      this.atFileStart = false;
      if (s.charCodeAt(0) === BOM) i = 1;
    }
    // Rejects the current record (carry + s[recStart..i]) and goes on after its first line.
    const reject = (detail: string): void => {
      const text = this.takeCarry() + s.slice(recStart, i + 1);
      const firstEol = text.indexOf(String.fromCharCode(this.eol));
      this.onReject({
        line: this.line,
        detail,
        raw: (firstEol === -1 ? text : text.slice(0, firstEol)).replace(/\r+$/, ''),
      });
      this.quoted = false;
      if (firstEol === -1) {
        this.skippingLine = true;
        return;
      }
      out += '\n';
      this.startRecord(this.line + 1);
      s = text.slice(firstEol + 1) + s.slice(i + 1);
      i = -1;
      recStart = 0;
    };
    for (;;) {
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (this.skippingLine) {
          if (c !== this.eol) continue;
          this.skippingLine = false;
          out += '\n';
          this.startRecord(this.line + 1);
          recStart = i + 1;
        } else if (!this.quoted) {
          if (c === this.eol) {
            out += this.passOn(this.takeCarry() + s.slice(recStart, i + 1));
            this.startRecord(this.line + this.linesIn + 1);
            recStart = i + 1;
          } else if (c === QUOTE && this.fieldStart) {
            this.quoted = true;
            this.quoteLine = this.line + this.linesIn;
            this.quoteChars = 0;
            this.fieldStart = false;
          } else {
            this.fieldStart = c === this.delimiter;
          }
        } else if (c === QUOTE) {
          const next = this.afterQuote(s, i + 1, final);
          if (next === 'more') {
            this.tail = s.slice(i);
            this.carry.push(s.slice(recStart, i));
            this.push(out);
            return;
          }
          if (next === 'escaped') {
            i++;
            this.quoteChars += 2;
          } else if (next === 'closed') {
            this.quoted = false;
          } else {
            const shown = s.charCodeAt(i + 1) === CR ? '\\r' : s[i + 1];
            reject(
              `the quoted field opened on line ${this.quoteLine} is closed by a quote followed by "${shown}", not by the separator or the line end`,
            );
          }
        } else {
          if (c === this.eol) this.linesIn++;
          this.quoteChars++;
          const spanned = this.line + this.linesIn - this.quoteLine + 1;
          if (spanned > this.bounds.maxQuotedLines || this.quoteChars > this.bounds.maxQuotedBytes)
            reject(
              `the quoted field opened on line ${this.quoteLine} runs past ${this.bounds.maxQuotedLines} lines or ${this.bounds.maxQuotedBytes} characters without a closing quote`,
            );
        }
      }
      if (final && this.quoted) {
        reject(
          `the quoted field opened on line ${this.quoteLine} has no closing quote before the end of the file`,
        );
        if (this.skippingLine) {
          // A one-line record at the end of the file: nothing follows it.
          this.skippingLine = false;
          recStart = s.length;
          break;
        }
        i = 0;
        continue;
      }
      break;
    }
    if (!this.skippingLine && recStart < s.length) this.carry.push(s.slice(recStart));
    this.push(out);
  }

  /**
   * csv-parse counts every CR it reads as a line, except the CR of a CRLF that ends a record: a CRLF
   * inside a quoted field, or a lone CR, shifts the line numbers it reports for the rest of the file.
   * Maps a line number csv-parse reported to the true one.
   */
  trueLine(reported: number): number {
    // The k-th extra line (0-based) shows from reported line extraLineAt[k] + k + 1 on: count them.
    let lo = 0;
    let hi = this.extraLineAt.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.extraLineAt[mid]! + mid + 1 <= reported) lo = mid + 1;
      else hi = mid;
    }
    return reported - lo;
  }

  /** A whole record as csv-parse will read it (stray CRs before a line feed are one line end). */
  private passOn(record: string): string {
    const text = normalizeEol(record);
    if (this.eol !== LF || !text.includes('\r')) return text;
    // The record is well formed: a quote opens a field only at its start, and `""` inside is one quote.
    let inQuotes = false;
    let fieldStart = true;
    let line = this.line;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        if (inQuotes && text.charCodeAt(i + 1) === QUOTE) i++;
        else if (inQuotes || fieldStart) inQuotes = !inQuotes;
      } else if (c === LF) line++;
      else if (c === CR && (inQuotes || text.charCodeAt(i + 1) !== LF)) this.extraLineAt.push(line);
      fieldStart = !inQuotes && c === this.delimiter;
    }
    return text;
  }

  private takeCarry(): string {
    const text = this.carry.join('');
    this.carry = [];
    return text;
  }

  private startRecord(line: number): void {
    this.line = line;
    this.linesIn = 0;
    this.quoted = false;
    this.fieldStart = true;
  }

  /** A quote inside a quoted field: an escaped quote, the closing quote, or a broken one. */
  private afterQuote(s: string, j: number, final: boolean): 'escaped' | 'closed' | 'broken' | 'more' {
    if (j >= s.length) return final ? 'closed' : 'more';
    const n = s.charCodeAt(j);
    if (n === QUOTE) return 'escaped';
    if (n === this.delimiter || n === this.eol) return 'closed';
    if (n !== CR) return 'broken';
    // CRs end the line only when a line feed follows them.
    let k = j;
    while (k < s.length && s.charCodeAt(k) === CR) k++;
    if (k >= s.length) return final ? 'closed' : 'more';
    return s.charCodeAt(k) === LF ? 'closed' : 'broken';
  }
}

/** `\r\r\r\n` → `\r\n` (a lone CR elsewhere is data). */
const normalizeEol = (text: string): string =>
  text.includes('\r\r') ? text.replace(/\r+\n/g, '\r\n') : text;
