/**
 * Streams a delimited text file with csv-parse and hands out one record per data row with its
 * 1-based starting line. Everything that is not a well-formed row is sent to `reject` (wrong column
 * count, broken quoting), and a file that cannot be read at all produces one line-0 reject.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { parse, type CsvError } from 'csv-parse';
import { CsvRecordGuard, type GuardReject, type QuoteBounds } from './csv-record-guard.ts';
import type { SourceFile } from '../../engine/io.ts';
import type { Reject } from '../../engine/quarantine.ts';

export type RawFile = Pick<SourceFile, 'path' | 'key'>;

export interface CsvRow {
  /** 1-based line where the record starts (the header is line 1). */
  line: number;
  /** Trimmed cell values by trimmed header name. */
  values: Record<string, string>;
  /** The record's raw text, for quarantine. */
  raw: string;
}

export interface CsvOptions {
  delimiter: string;
  /** Header names that must all be present, else the whole file is rejected (line 0, `missing_columns`). */
  required?: readonly string[];
  /** 1-based line of the header row when lines before it are a preamble to skip (default 1). */
  fromLine?: number;
  /** How far a quoted field may run (lines, characters) before its record is rejected. */
  quoteBounds?: QuoteBounds;
}

const newlines = (s: string): number => {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
};

/** csv-parse reports the line where a record ends; the raw text tells how many lines it spans. */
const startLine = (endLine: number, raw: string): number =>
  Math.max(1, endLine - newlines(raw.replace(/\r?\n$/, '')));

/** csv-parse's raw text of a record also holds the empty lines it skipped before it. */
const withoutBlankLines = (raw: string | undefined): string => (raw ?? '').replace(/^(?:\r*\n)+/, '');

const reasonOf = (code: string | undefined): string =>
  code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH' || code === 'CSV_RECORD_INCONSISTENT_COLUMNS'
    ? 'wrong_column_count'
    : 'malformed_csv';

/**
 * True when `sample` (the start of a file) ends its lines with a lone CR (classic Mac): it has a CR and
 * no LF at all. Such a file read with CRLF/LF terminators is one endless line: every row lost, no reject.
 */
export const isCrOnly = (sample: string): boolean => !sample.includes('\n') && sample.includes('\r');

/** The first `bytes` of a file as text ('' when empty); a system error names the file. */
export async function readStart(file: RawFile, bytes = 64 * 1024): Promise<string> {
  try {
    const fh = await open(file.path, 'r');
    try {
      const buf = Buffer.alloc(bytes);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      return buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw unreadableFile(file, e);
  }
}

export async function* readCsvRows(file: RawFile, reject: Reject, opts: CsvOptions): AsyncGenerator<CsvRow> {
  let header: string[] | null = null;
  let missing: string[] = [];
  const crOnly = isCrOnly(await readStart(file));
  const parser = parse({
    delimiter: opts.delimiter,
    bom: true,
    // Both terminators, always: csv-parse otherwise locks onto the first line's one, and a file
    // mixing CRLF and LF records then loses every record with the other terminator. A file whose
    // lines end with a lone CR (no LF anywhere in its start) is read with CR.
    record_delimiter: crOnly ? ['\r'] : ['\r\n', '\n'],
    columns: (names: string[]) => {
      header = names.map((h) => h.trim());
      // Checked here, on the header itself: with another separator every row after it would
      // otherwise be rejected one by one before the first record reached the check.
      missing = (opts.required ?? []).filter((c) => !header!.includes(c));
      return header;
    },
    relax_column_count: false,
    skip_empty_lines: true,
    skip_records_with_error: true,
    info: true,
    raw: true,
    // Lines stay numbered from the top of the file (csv-parse counts the skipped ones).
    ...(opts.fromLine && opts.fromLine > 1 ? { from_line: opts.fromLine } : {}),
  });
  // csv-parse may report one record twice (a stray quote, then its column count): it is one reject.
  let lastSkipped = -1;
  parser.on('skip', (err: CsvError, rawText: string | undefined) => {
    if (missing.length > 0) return; // the whole file is rejected once, below
    const raw = withoutBlankLines(rawText);
    const lines = (err as CsvError & { lines?: number }).lines ?? 0;
    const line = startLine(guard.trueLine(lines), raw);
    if (line === lastSkipped) return;
    lastSkipped = line;
    rejectEarlyBefore(line);
    reject({ reason: reasonOf(err.code), file: file.key, line, detail: err.message, raw });
  });
  const input = createReadStream(file.path);
  // Broken quoting never reaches csv-parse, which cannot recover from it (see csv-record-guard.ts).
  // Its rejects are found ahead of csv-parse: they wait until the rows before them are out, so the
  // quarantine stays in line order.
  const early: GuardReject[] = [];
  const guard = new CsvRecordGuard({ delimiter: opts.delimiter, crOnly, bounds: opts.quoteBounds }, (r) =>
    early.push(r),
  );
  const rejectEarlyBefore = (line: number): void => {
    while (early.length > 0 && early[0]!.line < line) {
      const r = early.shift()!;
      if (missing.length === 0)
        reject({ reason: 'malformed_csv', file: file.key, line: r.line, detail: r.detail, raw: r.raw });
    }
  };
  input.on('error', (e) => parser.destroy(e));
  guard.on('error', (e) => parser.destroy(e));
  input.pipe(guard).pipe(parser);
  const rejectHeader = () => {
    reject({
      reason: 'missing_columns',
      file: file.key,
      line: 0,
      detail: `header lacks ${missing.map((c) => JSON.stringify(c)).join(', ')}; found ${header!.join(' | ')}`,
    });
    input.destroy();
  };
  try {
    for await (const item of parser as AsyncIterable<{
      record: Record<string, string>;
      raw: string;
      info: { lines: number };
    }>) {
      if (missing.length > 0) return rejectHeader();
      const values: Record<string, string> = {};
      for (const [k, v] of Object.entries(item.record)) values[k] = v.trim();
      const raw = withoutBlankLines(item.raw);
      const line = startLine(guard.trueLine(item.info.lines), raw);
      rejectEarlyBefore(line);
      yield { line, values, raw: raw.replace(/\r?\n?$/, '') };
    }
  } catch (e) {
    if (isSystemError(e)) throw unreadableFile(file, e);
    if (missing.length > 0) return rejectHeader();
    reject({ reason: 'unreadable_file', file: file.key, line: 0, detail: (e as Error).message });
    return;
  }
  if (missing.length > 0) return rejectHeader();
  rejectEarlyBefore(Infinity);
  if (header === null) reject({ reason: 'empty_file', file: file.key, line: 0, detail: 'no header row' });
}

/** A file the operating system refused to read (EACCES, EISDIR, EIO…), as opposed to bad content. */
const isSystemError = (e: unknown): boolean => typeof (e as NodeJS.ErrnoException)?.syscall === 'string';

/** The error that fails the asset reading `file`: it names the file and the system's reason. */
export function unreadableFile(file: RawFile, e: unknown): Error {
  return new Error(`cannot read ${file.key}: ${(e as Error).message}`, { cause: e });
}

/** Reads the header line only (to pick a format); null if the file is empty or unreadable. */
export async function readCsvHeader(file: RawFile, delimiter: string): Promise<string[] | null> {
  const parser = parse({ delimiter, bom: true, to_line: 1, relax_column_count: true, relax_quotes: true });
  const input = createReadStream(file.path, { end: 64 * 1024 });
  input.on('error', (e) => parser.destroy(e));
  input.pipe(parser);
  try {
    for await (const rec of parser as AsyncIterable<string[]>) return rec.map((h) => h.trim());
  } catch {
    return null;
  } finally {
    input.destroy();
  }
  return null;
}
