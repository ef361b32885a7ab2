/**
 * The byte layout of a road-count CSV as the fast reader needs it: separator byte, line ending, number
 * of columns and the position of each field, all taken from the header line (so the export labels and
 * the API/historique field names both work, in any order). Header rules are the csv-parse reader's:
 * `sniffDelimiter` and `mapColumns` from columns.ts.
 */
import { open } from 'node:fs/promises';
import { mapColumns, sniffDelimiter, type ColumnMap, type ComptagesField } from '../columns.ts';

export interface Layout {
  delimiter: ';' | ',' | '\t';
  /** True when the header line ends with CRLF (then every line must). */
  crlf: boolean;
  /** Number of header fields: rows with another count are rejected. */
  width: number;
  columns: ColumnMap;
  /** Byte offset of the first data line. */
  dataStart: number;
  fileSize: number;
}

export type LayoutResult =
  | { ok: true; layout: Layout; header: string[] }
  | { ok: 'missing_columns'; missing: ComptagesField[]; header: string[]; delimiter: string }
  | { ok: 'empty_file' }
  /** Something the byte parser does not handle (quoted header, blank first line…): use csv-parse. */
  | { ok: 'unsupported'; why: string };

const MAX_HEADER = 1 << 20;

export async function readLayout(path: string): Promise<LayoutResult> {
  const handle = await open(path, 'r');
  try {
    const fileSize = (await handle.stat()).size;
    const buf = Buffer.alloc(Math.min(MAX_HEADER, fileSize));
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    const head = buf.subarray(0, bytesRead);
    if (bytesRead === 0) return { ok: 'empty_file' };
    const bom = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
    let nl = head.indexOf(0x0a, bom);
    if (nl === -1) {
      if (bytesRead === fileSize)
        nl = bytesRead; // header only, no newline
      else return { ok: 'unsupported', why: 'header line longer than 1 MB' };
    }
    const crlf = nl > bom && head[nl - 1] === 0x0d;
    const text = head.toString('utf8', bom, crlf ? nl - 1 : nl);
    if (text.trim() === '') return { ok: 'unsupported', why: 'blank first line' };
    if (text.includes('"') || text.includes('\r')) return { ok: 'unsupported', why: 'quoted header' };
    const delimiter = sniffDelimiter(text);
    const header = text.split(delimiter).map((h) => h.trim());
    const { columns, missing } = mapColumns(header);
    if (missing.length > 0) return { ok: 'missing_columns', missing, header, delimiter };
    return {
      ok: true,
      header,
      layout: {
        delimiter,
        crlf,
        width: header.length,
        columns,
        dataStart: Math.min(nl + 1, fileSize),
        fileSize,
      },
    };
  } finally {
    await handle.close();
  }
}
