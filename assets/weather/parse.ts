/**
 * Weather inputs (SPEC §1.3): Visual Crossing timeline JSON (`days[]`), Open-Meteo forecast JSON
 * (`hourly{time[], temperature_2m, rain|precipitation, windspeed_10m|wind_speed_10m}`) and the
 * Open-Meteo CSV download (unit-suffixed headers, Paris local time without offset, 'NaN' strings).
 */
import type { Reject } from '../../engine/quarantine.ts';
import { readCsvRows, type RawFile } from '../shared/csv-source.ts';
import { arrayElementLines, readJsonFile, rejectShape } from '../shared/json-source.ts';
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

const LOCAL_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/** 'YYYY-MM-DDTHH:MM' wall-clock → instant, with a fixed offset (seconds) or, if null, Europe/Paris. */
function localTime(text: unknown, utcOffsetSeconds: number | null): number | null {
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
    const [tempmin, tempmax] = [num(d.tempmin), num(d.tempmax)];
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
    const t = num(d.temp);
    out.push({
      kind: 'day',
      date,
      // SPEC §2.4: a mean outside [min, max] is replaced by the midpoint.
      temp: t !== null && t >= tempmin && t <= tempmax ? t : (tempmin + tempmax) / 2,
      tempmin,
      tempmax,
      precip: num(d.precip) ?? 0,
      windspeed: num(d.windspeed) ?? 0,
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
  const offset = num(doc.utc_offset_seconds) ?? 0;
  const lines = arrayElementLines(text, ['hourly', 'time']);
  const out: WeatherHour[] = [];
  times.forEach((t, i) => {
    const line = lines[i] ?? 1;
    const ts = localTime(t, offset);
    if (ts === null)
      return reject({ reason: 'unparsable_date', file: file.key, line, detail: `time ${JSON.stringify(t)}` });
    out.push({
      kind: 'hour',
      timestampMs: ts,
      temp: num(temp[i]),
      precip: num(precip[i]),
      wind: num(wind[i]),
      file: file.key,
      line,
    });
  });
  return out;
}

async function openMeteoCsv(file: RawFile, reject: Reject): Promise<WeatherHour[]> {
  const out: WeatherHour[] = [];
  // Headers carry units: 'temperature_2m (°C)'; match on the variable name before the unit.
  const pick = (values: Record<string, string>, ...names: string[]): string | undefined => {
    for (const n of names) {
      const key = Object.keys(values).find((k) => k === n || k.startsWith(`${n} (`));
      if (key !== undefined) return values[key];
    }
    return undefined;
  };
  for await (const row of readCsvRows(file, reject, { delimiter: ',', required: ['time'] })) {
    const ts = localTime(row.values.time, null);
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
      temp: num(pick(row.values, 'temperature_2m')),
      precip: num(pick(row.values, 'precipitation', 'rain')),
      wind: num(pick(row.values, 'wind_speed_10m', 'windspeed_10m')),
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
