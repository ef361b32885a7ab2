/**
 * Streaming reader of a `comptages-routiers-permanents` CSV (the 6.2 GB file): csv-parse over a file
 * stream, consumed with `for await` so the file is read only as fast as rows are handled
 * (backpressure) and never held in memory. Column positions come from the header, so the export
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

const cell = (record: readonly string[], index: number): string => (index < 0 ? '' : (record[index] ?? ''));

export async function parseComptagesFile(
  file: ComptagesFile,
  reject: Reject,
  onRow: (row: ComptagesRow) => void,
  opts: ParseOptions = {},
): Promise<ParseResult> {
  const result: ParseResult = { rows: 0, skipped: 0, rejected: 0, unknownEtat: 0 };
  const delimiter = sniffDelimiter(await readFirstLine(file.path));
  let lastSkippedLine = -1;

  const parser = parse({
    delimiter,
    bom: true,
    trim: true,
    info: true,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    on_skip: (err: CsvError | undefined) => {
      const line = typeof err?.lines === 'number' ? err.lines : 0;
      // csv-parse may report several errors for one broken record: quarantine it once.
      if (line !== 0 && line === lastSkippedLine) return;
      lastSkippedLine = line;
      result.rejected++;
      reject({ reason: 'malformed_csv', file: file.key, line, detail: err?.message });
    },
  });
  const input = createReadStream(file.path, { highWaterMark: 1 << 20 });
  input.on('error', (err) => parser.destroy(err));
  input.pipe(parser);

  let columns: ColumnMap | null = null;
  let width = 0;
  const seen = new SeenInstants();
  let lastPointText = '';
  let lastPoint: [number, number] | null = null;

  for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: Info }>) {
    if (!columns) {
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
        input.destroy();
        parser.destroy();
        return result;
      }
      columns = mapped.columns;
      width = record.length;
      continue;
    }

    const fail = (reason: RejectReason, detail?: string): void => {
      result.rejected++;
      reject({
        reason,
        file: file.key,
        line: info.lines - countNewlines(record),
        detail,
        raw: record.join(delimiter),
      });
    };

    if (record.length !== width) {
      fail('wrong_column_count', `${record.length} fields, header has ${width}`);
      continue;
    }
    const ts = parseCountTimestamp(cell(record, columns.timestamp));
    if (ts.ok === false) {
      fail(ts.reason, cell(record, columns.timestamp));
      continue;
    }
    // Cheap partition filter first: rows of other days are not validated further, nor rejected.
    if (opts.days && !opts.days.has(ts.day)) {
      result.skipped++;
      continue;
    }
    const arcId = cell(record, columns.arc_id);
    if (arcId === '') {
      fail('missing_arc_id');
      continue;
    }
    const flow = parseDecimal(cell(record, columns.flow));
    if (flow === undefined) {
      fail('non_numeric_flow', cell(record, columns.flow));
      continue;
    }
    if (flow !== null && flow < 0) {
      fail('negative_flow', String(flow));
      continue;
    }
    const occupancy = parseDecimal(cell(record, columns.occupancy));
    if (occupancy === undefined) {
      fail('non_numeric_occupancy', cell(record, columns.occupancy));
      continue;
    }
    if (occupancy !== null && (occupancy < 0 || occupancy > 100)) {
      fail('occupancy_out_of_range', String(occupancy));
      continue;
    }

    // A wall-clock time of the repeated autumn hour (no offset in the text): the first row of the arc
    // at that time is read as the summer occurrence, the next one as the winter occurrence.
    let instant: number;
    let offset: number;
    if (ts.ok === 'ambiguous') {
      const summerTaken = seen.has(arcId, ts.day, ts.hour, 120);
      instant = summerTaken ? ts.winter : ts.summer;
      offset = summerTaken ? 60 : 120;
    } else {
      instant = ts.instant;
      offset = ts.offsetMinutes;
    }
    if (!seen.add(arcId, ts.day, ts.hour, offset)) {
      fail('duplicate_row', `arc ${arcId} at ${new Date(instant).toISOString()} already seen in this file`);
      continue;
    }

    let etat = normalizeEtatTrafic(cell(record, columns.etat));
    if (etat === null) {
      result.unknownEtat++;
      etat = 'Inconnu';
    }
    const pointText = cell(record, columns.geo_point);
    if (pointText !== lastPointText) {
      lastPointText = pointText;
      lastPoint = pointText === '' ? null : parseGeoPoint(pointText);
    }
    const shape = cell(record, columns.geo_shape);

    result.rows++;
    onRow({
      arc_id: arcId,
      libelle: cell(record, columns.libelle),
      instant,
      day: ts.day,
      hour: ts.hour,
      offset_minutes: offset,
      flow,
      occupancy,
      etat,
      etat_arc: normalizeEtatArc(cell(record, columns.etat_arc)),
      geo_point: lastPoint,
      geo_shape_text: shape === '' ? null : shape,
    });
  }
  if (!columns) {
    result.rejected++;
    reject({ reason: 'empty_file', file: file.key, line: 0, detail: 'no header line' });
  }
  return result;
}
