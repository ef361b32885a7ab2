/**
 * Weather inputs (SPEC §1.3): Visual Crossing timeline JSON (`days[]`), Open-Meteo forecast JSON
 * (`hourly{time[], temperature_2m, rain|precipitation, windspeed_10m|wind_speed_10m}`) and the
 * Open-Meteo hourly CSV download (unit-suffixed headers, 'NaN' strings), with or without its metadata
 * preamble (`latitude,…,utc_offset_seconds,timezone,…`, values, blank line): with it, times are in the
 * preamble's zone (GMT/UTC: a fixed offset; Europe/Paris: Paris wall clock); without it, Paris wall
 * clock. The Open-Meteo *daily* CSV is refused as a whole (one line-0 reject, see `DAILY_CSV_REASON`).
 */
import type { Reject } from '../../engine/quarantine.ts';
import { isCrOnly, readCsvRows, readStart, type RawFile } from '../shared/csv-source.ts';
import { arrayElementLines, readJsonFile, rejectShape, shownJsonValue } from '../shared/json-source.ts';
import { isCalendarDay, parisLocalToUtcMs, validFields } from '../shared/paris-time.ts';

/** One day as summarised by the provider (Visual Crossing). °C, mm, km/h. */
export interface WeatherDay {
  kind: 'day';
  date: string;
  temp: number;
  tempmin: number;
  tempmax: number;
  precip: number;
  windspeed: number;
  conditions: string;
  file: string;
  line: number;
}

/** One hourly observation/forecast (Open-Meteo). null = value missing. */
export interface WeatherHour {
  kind: 'hour';
  timestampMs: number;
  temp: number | null;
  precip: number | null;
  wind: number | null;
  file: string;
  line: number;
}

export type WeatherRecord = WeatherDay | WeatherHour;

const num = (v: unknown): number | null => {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '' && v.trim() !== 'NaN') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
};

/** Physical ranges (Paris, widely): a value outside is an error of the file, not weather. */
const RANGES = {
  temperature: { min: -60, max: 60, unit: '°C' },
  hourly_precipitation: { min: 0, max: 300, unit: 'mm' },
  daily_precipitation: { min: 0, max: 1000, unit: 'mm' },
  wind: { min: 0, max: 400, unit: 'km/h' },
} as const;
type Quantity = keyof typeof RANGES;

/**
 * A measured value: a number within its physical range, or null when absent ('' / NaN / null). A value
 * that is present but is no finite number (a 50 MB digit run is Infinity) or lies outside the range is
 * quarantined (`invalid_value` / `out_of_range`, with file and line) and read as absent, never summed.
 */
function measure(
  v: unknown,
  q: Quantity,
  name: string,
  at: { file: string; line: number; raw?: string },
  reject: Reject,
): number | null {
  if (v === null || v === undefined || (typeof v === 'string' && (v.trim() === '' || v.trim() === 'NaN')))
    return null;
  const n = num(v);
  const shown = shownJsonValue(v);
  const r = RANGES[q];
  if (n === null || n < r.min || n > r.max) {
    reject({
      reason: n === null ? 'invalid_value' : 'out_of_range',
      file: at.file,
      line: at.line,
      detail: `${name} ${shown} ${n === null ? 'is not a finite number' : `outside [${r.min}, ${r.max}] ${r.unit}`}; read as no value`,
      raw: at.raw,
    });
    return null;
  }
  return n;
}

const LOCAL_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/**
 * How the provider's wall-clock times map to instants: a fixed UTC offset in seconds (GMT/UTC data),
 * or null for Europe/Paris wall clock (with its DST changes).
 */
type Zone = number | null;

/** Zones whose wall clock is a fixed offset from UTC (Open-Meteo writes `GMT` by default). */
const FIXED_ZONES = new Set(['GMT', 'UTC', 'ETC/UTC', 'ETC/GMT', 'Z']);

/**
 * The zone of an Open-Meteo response from its `timezone` and `utc_offset_seconds`: GMT/UTC (or no
 * timezone) → the fixed offset; Europe/Paris → Paris wall clock; any other zone → undefined (its DST
 * rules are not modelled, so the file is refused rather than read an hour off).
 */
function openMeteoZone(timezone: unknown, utcOffsetSeconds: unknown): Zone | undefined {
  const tz = typeof timezone === 'string' ? timezone.trim() : '';
  if (/^europe\/paris$/i.test(tz)) return null;
  if (tz === '' || FIXED_ZONES.has(tz.toUpperCase())) return num(utcOffsetSeconds) ?? 0;
  return undefined;
}

/** 'YYYY-MM-DDTHH:MM' wall-clock → instant, with a fixed offset (seconds) or, if null, Europe/Paris. */
function localTime(text: unknown, utcOffsetSeconds: Zone): number | null {
  if (typeof text !== 'string') return null;
  const m = LOCAL_RE.exec(text.trim());
  if (!m) return null;
  const f = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (!validFields(...f)) return null;
  return utcOffsetSeconds === null
    ? parisLocalToUtcMs(...f)
    : Date.UTC(f[0], f[1] - 1, f[2], f[3], f[4], f[5]) - utcOffsetSeconds * 1000;
}

function visualCrossingDays(
  doc: { days: unknown[] },
  text: string,
  file: RawFile,
  reject: Reject,
): WeatherDay[] {
  const lines = arrayElementLines(text, ['days']);
  const out: WeatherDay[] = [];
  doc.days.forEach((item, i) => {
    const line = lines[i] ?? 1;
    const raw = JSON.stringify(item).slice(0, 500);
    const d = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    const date = typeof d.datetime === 'string' ? d.datetime : '';
    const at = { file: file.key, line, raw };
    const m = (k: string, q: Quantity) => measure(d[k], q, k, at, reject);
    const [tempmin, tempmax] = [m('tempmin', 'temperature'), m('tempmax', 'temperature')];
    if (!isCalendarDay(date))
      return reject({
        reason: 'unparsable_date',
        file: file.key,
        line,
        detail: `datetime ${JSON.stringify(d.datetime)}`,
        raw,
      });
    if (tempmin === null || tempmax === null)
      return reject({
        reason: 'missing_temperature',
        file: file.key,
        line,
        detail: 'tempmin/tempmax missing',
        raw,
      });
    if (tempmin > tempmax)
      return reject({
        reason: 'inconsistent_temperatures',
        file: file.key,
        line,
        detail: `tempmin ${tempmin} > tempmax ${tempmax}`,
        raw,
      });
    const t = m('temp', 'temperature');
    out.push({
      kind: 'day',
      date,
      // SPEC §2.4: a mean outside [min, max] is replaced by the midpoint.
      temp: t !== null && t >= tempmin && t <= tempmax ? t : (tempmin + tempmax) / 2,
      tempmin,
      tempmax,
      precip: m('precip', 'daily_precipitation') ?? 0,
      windspeed: m('windspeed', 'wind') ?? 0,
      conditions: typeof d.conditions === 'string' && d.conditions !== '' ? d.conditions : 'Inconnu',
      file: file.key,
      line,
    });
  });
  return out;
}

function openMeteoJson(
  doc: Record<string, unknown>,
  text: string,
  file: RawFile,
  reject: Reject,
): WeatherHour[] {
  const h = doc.hourly as Record<string, unknown>;
  const times = h.time as unknown[];
  const series = (...names: string[]): unknown[] => {
    for (const n of names) if (Array.isArray(h[n])) return h[n] as unknown[];
    return [];
  };
  const temp = series('temperature_2m');
  const precip = series('precipitation', 'rain');
  const wind = series('wind_speed_10m', 'windspeed_10m');
  const offset = openMeteoZone(doc.timezone, doc.utc_offset_seconds);
  if (offset === undefined) {
    reject({
      reason: 'unsupported_timezone',
      file: file.key,
      line: 0,
      detail: unsupportedZone(doc.timezone),
    });
    return [];
  }
  const lines = arrayElementLines(text, ['hourly', 'time']);
  const out: WeatherHour[] = [];
  times.forEach((t, i) => {
    const line = lines[i] ?? 1;
    const ts = localTime(t, offset);
    if (ts === null)
      return reject({ reason: 'unparsable_date', file: file.key, line, detail: `time ${JSON.stringify(t)}` });
    const at = { file: file.key, line };
    out.push({
      kind: 'hour',
      timestampMs: ts,
      temp: measure(temp[i], 'temperature', 'temperature_2m', at, reject),
      precip: measure(precip[i], 'hourly_precipitation', 'precipitation', at, reject),
      wind: measure(wind[i], 'wind', 'wind_speed_10m', at, reject),
      file: file.key,
      line,
    });
  });
  return out;
}

const unsupportedZone = (tz: unknown): string =>
  `timezone ${JSON.stringify(tz)} not supported: download with timezone=GMT (or Europe/Paris)`;

/** Reason of the one line-0 reject of an Open-Meteo daily CSV. */
export const DAILY_CSV_REASON = 'unsupported_daily_csv';

/** What the first lines of an Open-Meteo CSV say: where the header is and the zone of its times. */
interface CsvLayout {
  /** 1-based line of the `time,…` header. */
  headerLine: number;
  header: string[];
  zone: Zone | undefined;
  timezone: string | null;
}

/**
 * Reads the first 64 KB: an Open-Meteo download starts with a metadata preamble
 * (`latitude,longitude,elevation,utc_offset_seconds,timezone,timezone_abbreviation`, one line of
 * values, a blank line) unless it was cut off; the `time,…` header follows.
 */
async function csvLayout(file: RawFile): Promise<CsvLayout> {
  const text = await readStart(file);
  const lines = text.replace(/^\uFEFF/, '').split(isCrOnly(text) ? '\r' : /\r?\n/);
  const cells = (l: string | undefined) => (l ?? '').split(',').map((c) => c.trim());
  const first = cells(lines[0]);
  if (first[0] !== 'latitude' || !first.includes('utc_offset_seconds'))
    return { headerLine: 1, header: first, zone: null, timezone: null };
  const meta = Object.fromEntries(first.map((k, i) => [k, cells(lines[1])[i] ?? '']));
  let i = 2;
  while (i < lines.length - 1 && lines[i]!.trim() === '') i++;
  return {
    headerLine: i + 1,
    header: cells(lines[i]),
    zone: openMeteoZone(meta.timezone, meta.utc_offset_seconds),
    timezone: meta.timezone ?? null,
  };
}

/** Open-Meteo variable names before the unit: 'temperature_2m (°C)' → 'temperature_2m'. */
const variable = (header: string): string => header.replace(/\s*\(.*\)\s*$/, '');
const HOURLY_VARIABLES = ['temperature_2m', 'precipitation', 'rain', 'wind_speed_10m', 'windspeed_10m'];

async function openMeteoCsv(file: RawFile, reject: Reject): Promise<WeatherHour[]> {
  const layout = await csvLayout(file);
  const fileReject = (reason: string, detail: string) => reject({ reason, file: file.key, line: 0, detail });
  const vars = layout.header.map(variable);
  if (vars.includes('time') && !vars.some((v) => HOURLY_VARIABLES.includes(v))) {
    const daily = vars.filter((v) => /_(max|min|sum|mean)$/.test(v));
    if (daily.length > 0) {
      fileReject(
        DAILY_CSV_REASON,
        `Open-Meteo daily CSV (${daily.slice(0, 4).join(', ')}${daily.length > 4 ? ', …' : ''}) not read: ` +
          'its days are those of the download time zone, not Paris days, and it has no mean wind; ' +
          'download the hourly variables temperature_2m, precipitation, wind_speed_10m instead',
      );
      return [];
    }
  }
  if (layout.zone === undefined) {
    fileReject('unsupported_timezone', unsupportedZone(layout.timezone));
    return [];
  }
  const zone = layout.zone;
  const out: WeatherHour[] = [];
  // Headers carry units: 'temperature_2m (°C)'; match on the variable name before the unit.
  const pick = (values: Record<string, string>, ...names: string[]): string | undefined => {
    for (const n of names) {
      const key = Object.keys(values).find((k) => k === n || k.startsWith(`${n} (`));
      if (key !== undefined) return values[key];
    }
    return undefined;
  };
  for await (const row of readCsvRows(file, reject, {
    delimiter: ',',
    required: ['time'],
    fromLine: layout.headerLine,
  })) {
    const at = { file: file.key, line: row.line, raw: row.raw };
    const ts = localTime(row.values.time, zone);
    if (ts === null) {
      reject({
        reason: 'unparsable_date',
        file: file.key,
        line: row.line,
        detail: `time ${JSON.stringify(row.values.time)}`,
        raw: row.raw,
      });
      continue;
    }
    out.push({
      kind: 'hour',
      timestampMs: ts,
      temp: measure(pick(row.values, 'temperature_2m'), 'temperature', 'temperature_2m', at, reject),
      precip: measure(
        pick(row.values, 'precipitation', 'rain'),
        'hourly_precipitation',
        'precipitation',
        at,
        reject,
      ),
      wind: measure(
        pick(row.values, 'wind_speed_10m', 'windspeed_10m'),
        'wind',
        'wind_speed_10m',
        at,
        reject,
      ),
      file: file.key,
      line: row.line,
    });
  }
  return out;
}

/** Parses one weather file; the format is recognised from the extension and the JSON shape. */
export async function parseWeatherFile(file: RawFile, reject: Reject): Promise<WeatherRecord[]> {
  if (/\.csv$/i.test(file.key)) return openMeteoCsv(file, reject);
  const read = await readJsonFile(file, reject);
  if (!read.ok) return [];
  const doc = read.value as Record<string, unknown> | null;
  if (doc && typeof doc === 'object' && Array.isArray(doc.days))
    return visualCrossingDays(doc as { days: unknown[] }, read.text, file, reject);
  if (
    doc &&
    typeof doc === 'object' &&
    typeof doc.hourly === 'object' &&
    doc.hourly &&
    Array.isArray((doc.hourly as { time?: unknown }).time)
  )
    return openMeteoJson(doc, read.text, file, reject);
  rejectShape(
    file,
    reject,
    'expected a Visual Crossing timeline ({days: [...]}) or Open-Meteo ({hourly: {time: [...]}})',
  );
  return [];
}
