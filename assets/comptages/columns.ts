/**
 * Header handling for the road-count CSV: which separator the file uses and where each field is.
 * Two header families exist: the opendata.paris.fr export labels ('Identifiant arc;Libelle;Date et
 * heure de comptage;…') and the API/historique field names ('iu_ac,libelle,t_1h,q,k,…'), in any order.
 */
import { open } from 'node:fs/promises';

export type ComptagesField =
  'arc_id' | 'libelle' | 'timestamp' | 'flow' | 'occupancy' | 'etat' | 'etat_arc' | 'geo_point' | 'geo_shape';

/** Header names are compared folded: lower case, no accents, '_' as space, curly apostrophe as straight. */
export const foldHeader = (name: string): string =>
  name
    .replace(/^\uFEFF/, '')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/\u2019/g, "'")
    .replace(/_/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();

const ALIASES: Record<ComptagesField, readonly string[]> = {
  arc_id: ['identifiant arc', 'iu ac'],
  libelle: ['libelle'],
  timestamp: ['date et heure de comptage', 't 1h'],
  flow: ['debit horaire', 'q'],
  occupancy: ["taux d'occupation", 'k'],
  etat: ['etat trafic'],
  etat_arc: ['etat arc', 'etat barre'],
  geo_point: ['geo point 2d'],
  geo_shape: ['geo shape'],
};

/** Columns without which a row cannot be used at all. */
export const REQUIRED_FIELDS: readonly ComptagesField[] = ['arc_id', 'timestamp', 'flow', 'occupancy'];

export type ColumnMap = Record<ComptagesField, number>;

/** Position of each field (-1 when absent) and the required ones that are missing. */
export function mapColumns(header: readonly string[]): { columns: ColumnMap; missing: ComptagesField[] } {
  const folded = header.map(foldHeader);
  const columns = {} as ColumnMap;
  for (const field of Object.keys(ALIASES) as ComptagesField[]) {
    columns[field] = folded.findIndex((h) => ALIASES[field].includes(h));
  }
  return { columns, missing: REQUIRED_FIELDS.filter((f) => columns[f] < 0) };
}

/** Separator of a header line: the most frequent of ';', ',' and tab outside quotes (';' on ties). */
export function sniffDelimiter(headerLine: string): ';' | ',' | '\t' {
  const counts = { ';': 0, ',': 0, '\t': 0 };
  let quoted = false;
  for (const ch of headerLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === ';' || ch === ',' || ch === '\t')) counts[ch]++;
  }
  if (counts[','] > counts[';'] && counts[','] >= counts['\t']) return ',';
  if (counts['\t'] > counts[';'] && counts['\t'] > counts[',']) return '\t';
  return ';';
}

/** Reads only the first line of a file (up to 1 MB) without loading the rest. */
export async function readFirstLine(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    const buf = Buffer.alloc(64 * 1024);
    while (total < 1024 * 1024) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, total);
      if (bytesRead === 0) break;
      const piece = buf.subarray(0, bytesRead);
      const nl = piece.indexOf(0x0a);
      chunks.push(Buffer.from(nl >= 0 ? piece.subarray(0, nl) : piece));
      total += bytesRead;
      if (nl >= 0) break;
    }
    return Buffer.concat(chunks).toString('utf8').replace(/\r$/, '');
  } finally {
    await handle.close();
  }
}
