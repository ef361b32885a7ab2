/**
 * Streaming reader of a `comptages-routiers-permanents` CSV (the 6.2 GB file): a file stream piped
 * into csv-parse (pipe backpressure), every record validated synchronously as it is parsed, so the
 * file is read only as fast as rows are handled and is never held in memory. Column positions come from the header, so the export
 * labels (';') and the API/historique field names (often ',') both work; the separator is sniffed from
 * the header line. Each good row is handed to `onRow` as a `ComptagesRow`; each bad row goes to
 * `reject` with the file key, its 1-based starting line and a reason.
 *
 * Rule on `Etat arc`: rows are kept whatever their arc state. The original dropped `Invalide` rows,
 * but about 99 % of real rows carry it (992/1000 and 1000/1000 in the two export fixtures) while
 * holding plausible flows, so dropping them empties the dataset. The state is kept on the row
 * (`etat_arc`) for information only.
 */
import { createReadStream } from 'node:fs';
import { parse, type CsvError, type Info } from 'csv-parse';
import type { Reject } from '../../engine/quarantine.ts';
import { parseGeoPoint } from '../geo/geometry.ts';
import { mapColumns, readFirstLine, sniffDelimiter, type ColumnMap } from './columns.ts';
import { normalizeEtatArc, normalizeEtatTrafic, parseDecimal } from './normalize.ts';
import { parseCountTimestamp } from './paris-clock.ts';
import type { ComptagesRow } from './row.ts';
import { SeenInstants } from './seen-instants.ts';

export interface ComptagesFile {
  /** Local path to read. */
  path: string;
  /** Key reported in quarantine records (relative path or name). */
  key: string;
}

export interface ParseOptions {
  /** Only rows of these Paris days are validated and emitted; others are skipped (not rejected). */
  days?: ReadonlySet<string>;
  /**
   * Instants already read, shared by the files of one batch: a row repeating an (arc, instant) of an
   * earlier file is a `duplicate_row` too, instead of being summed into the same hour twice.
   */
  seen?: SeenInstants;
}

export interface ParseResult {
  /** Rows handed to `onRow`. */
  rows: number;
  /** Rows skipped because their day is not in `opts.days`. */
  skipped: number;
  /** Rows sent to `reject`. */
  rejected: number;
  /** Rows kept whose `Etat trafic` was neither a known label nor a code (read as 'Inconnu'). */
  unknownEtat: number;
}

type RejectReason =
  | 'wrong_column_count'
  | 'malformed_csv'
  | 'missing_arc_id'
  | 'unparsable_date'
  | 'nonexistent_local_time'
  | 'timestamp_not_on_hour'
  | 'non_numeric_flow'
  | 'negative_flow'
  | 'non_numeric_occupancy'
  | 'occupancy_out_of_range'
  | 'duplicate_row';

const countNewlines = (fields: readonly string[]): number => {
  let n = 0;
  for (const f of fields) for (let i = f.indexOf('\n'); i !== -1; i = f.indexOf('\n', i + 1)) n++;
  return n;
};

/** Cell by position, trimmed (cheaper than csv-parse's `trim` option, which scans every field). */
const cell = (record: readonly string[], index: number): string =>
  index < 0 ? '' : (record[index] ?? '').trim();

/**
 * Validates one CSV record (header excluded) and hands it on. Kept separate from the stream plumbing so
 * that it runs synchronously inside csv-parse's `on_record` hook: no per-row promise, no per-row
 * object from csv-parse's `info`, which together cost more than the parsing itself (measured).
 */
class RowValidator {
  private readonly seen: SeenInstants;
  private readonly where: string;
  private lastPointText = '';
  private lastPoint: [number, number] | null = null;

  constructor(
    private readonly file: ComptagesFile,
    private readonly reject: Reject,
    private readonly onRow: (row: ComptagesRow) => void,
    private readonly opts: ParseOptions,
    private readonly delimiter: string,
    private readonly columns: ColumnMap,
    private readonly width: number,
    private readonly result: ParseResult,
  ) {
    this.seen = opts.seen ?? new SeenInstants();
    this.where = opts.seen ? 'in this file or an earlier file of the batch' : 'in this file';
  }

  private fail(record: readonly string[], endLine: number, reason: RejectReason, detail?: string): void {
    this.result.rejected++;
    this.reject({
      reason,
      file: this.file.key,
      line: endLine - countNewlines(record),
      detail,
      raw: record.join(this.delimiter),
    });
  }

  handle(record: string[], endLine: number): void {
    const c = this.columns;
    if (record.length !== this.width) {
      this.fail(record, endLine, 'wrong_column_count', `${record.length} fields, header has ${this.width}`);
      return;
    }
    const tsText = cell(record, c.timestamp);
    const ts = parseCountTimestamp(tsText);
    if (ts.ok === false) return this.fail(record, endLine, ts.reason, tsText);
    // Cheap partition filter first: rows of other days are not validated further, nor rejected.
    if (this.opts.days && !this.opts.days.has(ts.day)) {
      this.result.skipped++;
      return;
    }
    const arcId = cell(record, c.arc_id);
    if (arcId === '') return this.fail(record, endLine, 'missing_arc_id');
    const flowText = cell(record, c.flow);
    const flow = parseDecimal(flowText);
    if (flow === undefined) return this.fail(record, endLine, 'non_numeric_flow', flowText);
    if (flow !== null && flow < 0) return this.fail(record, endLine, 'negative_flow', flowText);
    const occText = cell(record, c.occupancy);
    const occupancy = parseDecimal(occText);
    if (occupancy === undefined) return this.fail(record, endLine, 'non_numeric_occupancy', occText);
    if (occupancy !== null && (occupancy < 0 || occupancy > 100))
      return this.fail(record, endLine, 'occupancy_out_of_range', occText);

    // A wall-clock time of the repeated autumn hour (no offset in the text): the first row of the arc
    // at that time is read as the summer occurrence, the next one as the winter occurrence.
    let instant: number;
    let offset: number;
    if (ts.ok === 'ambiguous') {
      const summerTaken = this.seen.has(arcId, ts.day, ts.hour, 120);
      instant = summerTaken ? ts.winter : ts.summer;
      offset = summerTaken ? 60 : 120;
    } else {
      instant = ts.instant;
      offset = ts.offsetMinutes;
    }
    if (!this.seen.add(arcId, ts.day, ts.hour, offset)) {
      const at = new Date(instant).toISOString();
      return this.fail(record, endLine, 'duplicate_row', `arc ${arcId} at ${at} already seen ${this.where}`);
    }

    let etat = normalizeEtatTrafic(cell(record, c.etat));
    if (etat === null) {
      this.result.unknownEtat++;
      etat = 'Inconnu';
    }
    const pointText = cell(record, c.geo_point);
    if (pointText !== this.lastPointText) {
      this.lastPointText = pointText;
      this.lastPoint = pointText === '' ? null : parseGeoPoint(pointText);
    }
    const shape = cell(record, c.geo_shape);

    this.result.rows++;
    this.onRow({
      arc_id: arcId,
      libelle: cell(record, c.libelle),
      instant,
      day: ts.day,
      hour: ts.hour,
      offset_minutes: offset,
      flow,
      occupancy,
      etat,
      etat_arc: normalizeEtatArc(cell(record, c.etat_arc)),
      geo_point: this.lastPoint,
      geo_shape_text: shape === '' ? null : shape,
    });
  }
}

export async function parseComptagesFile(
  file: ComptagesFile,
  reject: Reject,
  onRow: (row: ComptagesRow) => void,
  opts: ParseOptions = {},
): Promise<ParseResult> {
  const result: ParseResult = { rows: 0, skipped: 0, rejected: 0, unknownEtat: 0 };
  const delimiter = sniffDelimiter(await readFirstLine(file.path));
  let lastSkippedLine = -1;
  let validator: RowValidator | null = null;
  let headerSeen = false;

  const input = createReadStream(file.path, { highWaterMark: 1 << 20 });
  const parser = parse({
    delimiter,
    bom: true,
    // Both terminators (see shared/csv-source.ts): a CRLF/LF mix must not lose the other kind's rows.
    record_delimiter: ['\r\n', '\n'],
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    on_skip: (err: CsvError | undefined) => {
      // After a rejected header the whole file is one line-0 reject; rows parsed during teardown are not.
      if (headerSeen && !validator) return;
      const line = typeof err?.lines === 'number' ? err.lines : 0;
      // csv-parse may report several errors for one broken record: quarantine it once.
      if (line !== 0 && line === lastSkippedLine) return;
      lastSkippedLine = line;
      result.rejected++;
      reject({ reason: 'malformed_csv', file: file.key, line, detail: err?.message });
    },
    // Every record is consumed here, synchronously; returning null emits nothing downstream.
    on_record: (record: string[], context: Info) => {
      if (validator) {
        validator.handle(record, context.lines);
        return null;
      }
      if (headerSeen) return null; // header was rejected: the stream is being torn down
      headerSeen = true;
      const mapped = mapColumns(record);
      if (mapped.missing.length > 0) {
        result.rejected++;
        reject({
          reason: 'missing_columns',
          file: file.key,
          line: 0,
          detail: `header lacks ${mapped.missing.join(', ')} (separator '${delimiter}')`,
          raw: record.join(delimiter),
        });
        input.unpipe(parser);
        input.destroy();
        setImmediate(() => parser.destroy());
        return null;
      }
      validator = new RowValidator(
        file,
        reject,
        onRow,
        opts,
        delimiter,
        mapped.columns,
        record.length,
        result,
      );
      return null;
    },
  });

  // Backpressure: pipe() pauses the file stream whenever the parser's input buffer is full, and the
  // parser is drained as fast as on_record handles rows, so memory stays bounded whatever the size.
  const done = new Promise<void>((resolve, rejectPromise) => {
    parser.on('error', rejectPromise);
    parser.on('end', resolve);
    parser.on('close', resolve);
  });
  input.on('error', (err) => parser.destroy(err));
  input.pipe(parser);
  parser.resume();
  await done;

  if (!headerSeen) {
    result.rejected++;
    reject({ reason: 'empty_file', file: file.key, line: 0, detail: 'no header line' });
  }
  return result;
}
