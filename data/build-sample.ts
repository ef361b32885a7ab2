/**
 * Regenerates the bundled sample under data/ from the real fixtures in test/fixtures/real/
 * (run: `npx tsx data/build-sample.ts`). Deterministic: same fixtures ⇒ same bytes.
 *
 * The fixtures come from different years; this places real days of each source on one common range,
 * 2025-10-28 → 2025-11-04 (8 Paris days, so the 2025-11-04 report has a week-earlier comparison).
 * Only date/time text is rewritten; every other byte of each record (separators, quoting, line ends,
 * BOM of the first file) is kept. What was shifted and how is listed in data/README.md.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DATA = dirname(fileURLToPath(import.meta.url));
const REAL = join(DATA, '..', 'test', 'fixtures', 'real');
export const DAYS = [
  '2025-10-28',
  '2025-10-29',
  '2025-10-30',
  '2025-10-31',
  '2025-11-01',
  '2025-11-02',
  '2025-11-03',
  '2025-11-04',
] as const;
type Day = (typeof DAYS)[number];

// ---------- small helpers ----------

const read = (rel: string): string => readFileSync(join(REAL, rel), 'utf8');

function write(rel: string, text: string): void {
  const path = join(DATA, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** Calendar day + n days. */
function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** Paris UTC offset ("+01:00"/"+02:00") in force at wall-clock `day`T`hh`:00 (fine outside the DST hours). */
function parisOffset(day: string, hh: number): string {
  const utcGuess = Date.parse(`${day}T${String(hh).padStart(2, '0')}:00:00Z`);
  const name = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', timeZoneName: 'longOffset' })
    .formatToParts(new Date(utcGuess - 3_600_000))
    .find((p) => p.type === 'timeZoneName')!.value; // e.g. "GMT+01:00"
  return name.replace('GMT', '') || '+00:00';
}

/**
 * Splits CSV text into raw records (terminator included), aware of quoted fields that hold line
 * breaks, so every record's bytes can be copied unchanged.
 */
export function splitRecords(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"')
      quoted = !quoted; // a doubled quote toggles twice: no net change
    else if (ch === '\n' && !quoted) {
      out.push(text.slice(start, i + 1));
      start = i + 1;
    }
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

/** Splits one raw record (terminator excluded) into raw fields, quotes kept: join(sep) gives it back. */
export function splitFields(record: string, sep: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < record.length; i++) {
    const ch = record[i];
    if (ch === '"') quoted = !quoted;
    else if (ch === sep && !quoted) {
      out.push(record.slice(start, i));
      start = i + 1;
    }
  }
  out.push(record.slice(start));
  return out;
}

/** Applies `edit` to the fields of a record, keeping its own line terminator. */
function editRecord(record: string, sep: string, edit: (fields: string[]) => void): string {
  const eol = record.endsWith('\r\n') ? '\r\n' : record.endsWith('\n') ? '\n' : '';
  const fields = splitFields(record.slice(0, record.length - eol.length), sep);
  edit(fields);
  return fields.join(sep) + eol;
}

const fieldOf = (record: string, sep: string, i: number): string =>
  splitFields(record.replace(/\r?\n$/, ''), sep)[i] ?? '';

/** Replaces the date of an ISO timestamp with offset by `day`, keeping the wall-clock time; fixes the offset. */
function retimeWithOffset(ts: string, day: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}:\d{2})([+-]\d{2}:\d{2})$/.exec(ts);
  if (!m) throw new Error(`unexpected timestamp ${ts}`);
  return `${day}T${m[2]}:${m[3]}${parisOffset(day, Number(m[2]))}`;
}

/** Compact Navitia timestamps (YYYYMMDDTHHMMSS, Paris local, no zone) shifted by `days`. */
function shiftCompact(text: string, days: number): string {
  return text.replace(/(?<![0-9A-Za-z])(20\d{2})(\d{2})(\d{2})T(\d{6})(?![0-9])/g, (_all, y, mo, d, t) => {
    const shifted = addDays(`${y}-${mo}-${d}`, days).replace(/-/g, '');
    return `${shifted}T${t}`;
  });
}

/** Original bytes of each element of the top-level array `"key": [...]` (or of the root array). */
export function arrayElements(json: string, key: string | null): string[] {
  let i = 0;
  if (key !== null) {
    i = json.indexOf(`"${key}"`);
    if (i < 0) throw new Error(`no "${key}" in JSON`);
  }
  i = json.indexOf('[', i) + 1;
  const out: string[] = [];
  let depth = 0;
  let inString = false;
  let start = -1;
  for (; i < json.length; i++) {
    const ch = json[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    if (ch === '{' || ch === '[') {
      if (depth === 0) start = i;
      depth++;
    } else if (ch === '}' || ch === ']') {
      if (depth === 0) break; // end of the array
      depth--;
      if (depth === 0) out.push(json.slice(start, i + 1));
    }
  }
  return out;
}

// ---------- road counts ----------

/** Target day ← real source day (Paris date), per arc. Same weekday where the data allows. */
const CHAMPS: Record<Day, string> = {
  '2025-10-28': '2024-03-05', // Tue ← Tue, 24 h
  '2025-10-29': '2023-12-06', // Wed ← Wed, 24 h
  '2025-10-30': '2024-01-04', // Thu ← Thu, 23 h
  '2025-10-31': '2024-02-09', // Fri ← Fri, 24 h (5 h without flow)
  '2025-11-01': '2024-11-02', // Sat ← Sat, 24 rows, all without flow (sensor down: failing)
  '2025-11-02': '2024-05-12', // Sun ← Sun, 23 h
  '2025-11-03': '2024-03-04', // Mon ← Mon, 24 h
  '2025-11-04': '2023-11-02', // Tue ← Thu: the only congested day (occupancy ≥ 80 % at 07–08 h and 13–14 h), 10 h
};
const CONVENTION: Record<Day, string> = {
  '2025-10-28': '2022-03-01', // Tue ← Tue, 20 h
  '2025-10-29': '2022-03-02', // Wed ← Wed, 24 h
  '2025-10-30': '2022-03-03', // Thu ← Thu, 24 h
  '2025-10-31': '2022-10-07', // Fri ← Fri, 24 h
  '2025-11-01': '2022-01-15', // Sat ← Sat, 23 h
  '2025-11-02': '2022-01-16', // Sun ← Sun, 24 h
  '2025-11-03': '2022-04-04', // Mon ← Mon, 20 h
  '2025-11-04': '2021-12-14', // Tue ← Tue, 23 h
};
const ST_ANTOINE: Record<Day, string> = {
  '2025-10-28': '2023-02-07', // Tue ← Tue
  '2025-10-29': '2023-02-08',
  '2025-10-30': '2023-02-09',
  '2025-10-31': '2023-02-10',
  '2025-11-01': '2023-02-11', // Sat ← Sat
  '2025-11-02': '2023-02-05', // Sun ← Sun (23 h: 00 h missing in the export)
  '2025-11-03': '2023-02-06', // Mon ← Mon
  '2025-11-04': '2023-01-10', // Tue ← Tue
};

const invert = (m: Record<Day, string>) => new Map(Object.entries(m).map(([t, s]) => [s, t as Day]));

/** Export-format rows (';', ISO with offset in column 3) of the source days, re-dated. */
function exportRows(file: string, mapping: Record<Day, string>): { header: string; rows: string[] } {
  const [header, ...records] = splitRecords(read(file));
  const bySource = invert(mapping);
  const rows: string[] = [];
  for (const rec of records) {
    const ts = fieldOf(rec, ';', 2);
    const target = bySource.get(ts.slice(0, 10));
    if (target) rows.push(editRecord(rec, ';', (f) => (f[2] = retimeWithOffset(ts, target))));
  }
  return { header: header!, rows };
}

function buildComptages(): void {
  const champs = exportRows(
    'comptages-routiers-permanents/champs-elysees_arc4264_2023-2024_export.csv',
    CHAMPS,
  );
  const convention = exportRows(
    'comptages-routiers-permanents/convention_arc5671_2021-2022_export.csv',
    CONVENTION,
  );
  // Both exports have the same 15 columns; the Champs-Élysées header (with its BOM) heads the file.
  write(
    'batch/comptages-routiers-permanents.csv',
    [champs.header, ...champs.rows, ...convention.rows].join(''),
  );

  // The St-Antoine file uses API field names, ',' and offset-less 'YYYY-MM-DD HH:MM:SS': kept in its
  // own format as a second comptages*.csv (the batch source reads every matching file).
  const [header, ...records] = splitRecords(
    read('comptages-routiers-permanents/DERIVED_historique-api-fieldnames_st-antoine_arc376_2023.csv'),
  );
  const bySource = invert(ST_ANTOINE);
  const rows: string[] = [];
  for (const rec of records) {
    const ts = fieldOf(rec, ',', 6);
    const target = bySource.get(ts.slice(0, 10));
    if (target) rows.push(editRecord(rec, ',', (f) => (f[6] = target + ts.slice(10))));
  }
  write('batch/comptages-routiers-permanents_historique-st-antoine.csv', [header!, ...rows].join(''));
}

// ---------- road works and référentiel ----------

/** 2023-03-21 (Tue) → 2025-10-28 (Tue): 136 weeks, the whole-week shift with the most active works. */
export const CHANTIERS_SHIFT_DAYS = 952;

function buildChantiers(): void {
  const [header, ...records] = splitRecords(
    read('chantiers-perturbants-la-circulation/chantiers-perturbants_export_2023.csv'),
  );
  const names = splitFields(header!.replace(/^\uFEFF/, '').replace(/\r?\n$/, ''), ';');
  const cols = [names.indexOf('Date de début'), names.indexOf('Date de fin')];
  const out = records.map((rec) =>
    editRecord(rec, ';', (f) => {
      for (const c of cols)
        if (/^\d{4}-\d{2}-\d{2}$/.test(f[c] ?? '')) f[c] = addDays(f[c]!, CHANTIERS_SHIFT_DAYS);
    }),
  );
  write('batch/chantiers-perturbants-la-circulation.csv', [header!, ...out].join(''));
}

function buildReferentiel(): void {
  // No dates to move (the dispo dates describe the sensor, not the day): copied unchanged.
  write(
    'batch/referentiel-geographique-pour-les-donnees-trafic-issues-des-capteurs-permanents.csv',
    read(
      'referentiel-geographique-pour-les-donnees-trafic-issues-des-capteurs-permanents/referentiel-comptages-routiers_export_2020.csv',
    ),
  );
}

// ---------- API snapshots ----------

/**
 * Bikes: the only real counter rows (14 hours of 2021-09-01, one counter) replayed on every day,
 * split in two snapshots: hour=14 holds the hours before 14:00, hour=23 the later ones.
 */
function buildBikes(): void {
  const [header, ...records] = splitRecords(
    read('comptage-velo-donnees-compteurs/comptage-velo-donnees-compteurs_export_2021-09.csv'),
  );
  for (const day of DAYS) {
    const early: string[] = [];
    const late: string[] = [];
    for (const rec of records) {
      const ts = fieldOf(rec, ';', 5);
      const row = editRecord(rec, ';', (f) => {
        f[5] = retimeWithOffset(ts, day);
        f[15] = day.slice(0, 7); // mois_annee_comptage follows the date
      });
      (Number(ts.slice(11, 13)) < 14 ? early : late).push(row);
    }
    write(`api/bikes/dt=${day}/hour=14/bikes_data.csv`, [header!, ...early].join(''));
    write(`api/bikes/dt=${day}/hour=23/bikes_data.csv`, [header!, ...late].join(''));
  }
}

/** Navitia capture of 2024-04-30 (Tue) → 2025-10-28 (Tue): 78 weeks. */
export const NAVITIA_SHIFT_DAYS = 546;
/** PRIM bulk list of ~2025-02-04 (Tue) → 2025-10-28 (Tue): 38 weeks. */
export const BULK_SHIFT_DAYS = 266;

/**
 * Traffic: each day gets the same two real captures, shifted once for the whole range (so periods
 * start and end on real relative dates and the set of active disruptions changes from day to day):
 * hour=02 the Navitia `disruptions` (envelope reduced to that key), hour=14 the PRIM bulk list.
 */
function buildTraffic(): void {
  const navitia = arrayElements(
    read('prim-idfm-disruptions/prim-navitia-line_reports_2024-04-30.json'),
    'disruptions',
  );
  const navitiaDoc = `{"disruptions": [\n${navitia.map((e) => shiftCompact(e, NAVITIA_SHIFT_DAYS)).join(',\n')}\n]}\n`;
  const bulkDoc = shiftCompact(
    read('prim-idfm-disruptions/VARIANT_prim-disruptions_bulk-style-list_2025-02.json'),
    BULK_SHIFT_DAYS,
  );
  for (const day of DAYS) {
    write(`api/traffic/dt=${day}/hour=02/traffic_data.json`, navitiaDoc);
    write(`api/traffic/dt=${day}/hour=14/traffic_data.json`, bulkDoc);
  }
}

/** Open-Meteo hourly CSV: 2024-07-23 (Tue) … 2024-07-30 → 2025-10-28 … 2025-11-04 (66 weeks). */
export const WEATHER_SHIFT_DAYS = 462;

function buildWeather(): void {
  const [header, ...records] = splitRecords(
    read('weather-paris/open-meteo_hourly_48.82N2.29E_2024-07-18_to_2024-07-31.csv'),
  );
  for (const day of DAYS) {
    const source = addDays(day, -WEATHER_SHIFT_DAYS);
    // Local wall-clock times without offset: only the date text changes.
    const rows = records.filter((r) => r.startsWith(source)).map((r) => day + r.slice(10));
    write(`api/weather/dt=${day}/hour=02/weather_data.csv`, [header!, ...rows].join(''));
  }
}

function main(): void {
  for (const dir of ['api', 'batch']) rmSync(join(DATA, dir), { recursive: true, force: true });
  buildComptages();
  buildChantiers();
  buildReferentiel();
  buildBikes();
  buildTraffic();
  buildWeather();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
