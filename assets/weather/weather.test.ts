import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QuarantineCollector } from '../../engine/quarantine.ts';
import { computeWeatherMetrics, mobilityImpact, WeatherMetricsSchema } from './metrics.ts';
import { DAILY_CSV_REASON, parseWeatherFile } from './parse.ts';

const real = (name: string) => ({
  path: new URL(`../../test/fixtures/real/weather-paris/${name}`, import.meta.url).pathname,
  key: `weather-paris/${name}`,
});
const omJson = real('VARIANT_open-meteo_forecast-json_48.86N2.36E_2026-05-22.json');
const omCsv = real('open-meteo_hourly_48.82N2.29E_2024-07-18_to_2024-07-31.csv');
// Open-Meteo hourly download with its metadata preamble: GMT, utc_offset_seconds 0, 2025-09-01 → 2025-11-15
const omPreamble = real(
  'VARIANT_open-meteo_hourly-csv-with-preamble_48.87N2.33E_2025-09-01_to_2025-11-15.csv',
);
const omDaily = real('open-meteo_daily_48.82N2.29E_2024-07-18_to_2024-07-31.csv');
const dir = mkdtempSync(join(tmpdir(), 'cityflow-weather-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tmpFile = (name: string, content: string) => {
  writeFileSync(join(dir, name), content);
  return { path: join(dir, name), key: `api/weather/${name}` };
};

describe('Open-Meteo JSON (real, legacy names rain/windspeed_10m, GMT)', () => {
  it('aggregates the 22 UTC hours that fall in Paris day 2026-05-22', async () => {
    const q = new QuarantineCollector();
    const recs = await parseWeatherFile(omJson, q.add);
    expect(q.total).toBe(0);
    expect(recs).toHaveLength(24);
    const m = computeWeatherMetrics('2026-05-22', recs);
    WeatherMetricsSchema.parse(m);
    // utc_offset_seconds 0: 00:00–21:00 UTC = 02:00–23:00 Paris (CEST); 22:00/23:00 UTC belong to 05-23
    expect(m.heures_utilisees).toBe(22);
    expect(m.note).toBe('partial day: 22 of 24 hours');
    // mean of the first 22 temperature_2m values = 480.7 / 22 = 21.85; min 14.2 (05:00Z), max 28.1 (15:00Z)
    expect(m.metrics!.temp_moyenne).toBeCloseTo(21.85, 10);
    expect(m.metrics!.temp_min).toBe(14.2);
    expect(m.metrics!.temp_max).toBe(28.1);
    expect(m.metrics!.precip_totale).toBe(0); // all rain values 0.0
    expect(m.metrics!.vent_moyen).toBeCloseTo(98.2 / 22, 10); // Σ first 22 windspeed_10m = 98.2
    expect(m.metrics!.conditions).toBe('Sec');
    expect(m.categories).toEqual([]);
    expect(m.impact_mobilite).toBe(50);
    // 2026-05-23 gets the last two hours only: (22.3 + 21.2) / 2
    expect(computeWeatherMetrics('2026-05-23', recs).metrics!.temp_moyenne).toBeCloseTo(21.75, 10);
  });
});

describe('Open-Meteo CSV (real, units in headers, NaN strings)', () => {
  it('parses 336 hourly rows without reject (NaN snow depth is not read)', async () => {
    const q = new QuarantineCollector();
    const recs = await parseWeatherFile(omCsv, q.add);
    expect(q.total).toBe(0);
    expect(recs).toHaveLength(336);
    expect(recs[0]).toMatchObject({ temp: 17.3, precip: 0, wind: 7.3, line: 2 });
  });

  it('computes rainy, hot and mixed days by hand', async () => {
    const recs = await parseWeatherFile(omCsv, () => {});
    // 2024-07-20 (Python over the 24 rows): mean 24.229 °C, Σ precipitation 13.6 mm, mean wind 8.258 km/h
    const rainy = computeWeatherMetrics('2024-07-20', recs);
    expect(rainy.heures_utilisees).toBe(24);
    expect(rainy.metrics!.temp_moyenne).toBeCloseTo(24.229167, 5);
    expect(rainy.metrics!.temp_min).toBe(18.7);
    expect(rainy.metrics!.temp_max).toBe(30.2);
    expect(rainy.metrics!.precip_totale).toBeCloseTo(13.6, 9);
    expect(rainy.metrics!.vent_moyen).toBeCloseTo(8.258333, 5);
    expect(rainy.metrics!.conditions).toBe('Pluie');
    expect(rainy.categories).toEqual(['Pluvieux']);
    expect(rainy.impact_mobilite).toBe(30); // 50 − 20
    // 2024-07-30: mean 26.34 °C > 25, dry → Chaud, 50 + 5
    const hot = computeWeatherMetrics('2024-07-30', recs);
    expect(hot.categories).toEqual(['Chaud']);
    expect(hot.impact_mobilite).toBe(55);
    // 2024-07-31: 7.1 mm and 25.09 °C → Pluvieux + Chaud = 50 − 20 + 5
    expect(computeWeatherMetrics('2024-07-31', recs).impact_mobilite).toBe(35);
    // outside the file: no data, clear note, no invented impact
    const none = computeWeatherMetrics('2024-08-01', recs);
    expect(none).toMatchObject({ metrics: null, impact_mobilite: null, categories: [] });
    expect(none.note).toMatch(/no weather data for 2024-08-01/);
  });
});

describe('Open-Meteo hourly CSV with its metadata preamble (real, UTC times)', () => {
  it('skips the preamble, keeps file line numbers and reads the times as UTC', async () => {
    const q = new QuarantineCollector();
    const recs = await parseWeatherFile(omPreamble, q.add);
    expect(q.total).toBe(0);
    expect(recs).toHaveLength(1824); // 76 days × 24 h
    // line 1 preamble header, 2 values (utc_offset_seconds 0, GMT), 3 blank, 4 `time,…`: first record line 5
    expect(recs[0]).toMatchObject({ timestampMs: Date.UTC(2025, 8, 1, 0), temp: 16, wind: 6.7, line: 5 });
    expect(recs.at(-1)).toMatchObject({ timestampMs: Date.UTC(2025, 10, 15, 23), temp: null, line: 1828 });
  });

  it('aggregates Paris days from UTC hours (Python/zoneinfo cross-check)', async () => {
    const recs = await parseWeatherFile(omPreamble, () => {});
    // 2025-11-03 (the original's reference weather day) = 2025-11-02T23:00Z … 2025-11-03T22:00Z
    const d = computeWeatherMetrics('2025-11-03', recs);
    WeatherMetricsSchema.parse(d);
    expect(d).toMatchObject({ source: 'hourly', heures_utilisees: 24, note: null, categories: [] });
    expect(d.metrics!.temp_moyenne).toBeCloseTo(11.170833, 5); // read as Paris wall clock: 11.316667
    expect(d.metrics!.temp_min).toBe(7.6);
    expect(d.metrics!.temp_max).toBe(15.2);
    expect(d.metrics!.precip_totale).toBe(0);
    expect(d.metrics!.vent_moyen).toBeCloseTo(13.0, 9);
    // 2025-11-02 shows the shift: its coldest UTC hour (9.0 °C at 2025-11-02T23:00Z) is 00:00 on 11-03 in
    // Paris, and 2025-11-01T23:00Z (12.5 °C) opens the Paris day instead; Python: mean 11.645833, min 9.4
    const nov2 = computeWeatherMetrics('2025-11-02', recs);
    expect(nov2.metrics!.temp_moyenne).toBeCloseTo(11.645833, 5);
    expect(nov2.metrics!.temp_min).toBe(9.4);
    expect(nov2.metrics!.precip_totale).toBeCloseTo(1.1, 9);
    // 2025-10-26, back to winter time: a 25-hour Paris day (2025-10-25T22:00Z … 2025-10-26T22:00Z)
    const dst = computeWeatherMetrics('2025-10-26', recs);
    expect(dst.heures_utilisees).toBe(25);
    expect(dst.note).toBeNull();
    expect(dst.metrics!.temp_moyenne).toBeCloseTo(9.924, 9);
    expect(dst.metrics!.precip_totale).toBeCloseTo(2.7, 9);
    expect(dst.metrics!.vent_moyen).toBeCloseTo(14.824, 9);
    expect(dst.categories).toEqual(['Froid']); // 9.924 < 10
  });

  it('refuses a preamble whose zone is neither GMT/UTC nor Europe/Paris, once for the file', async () => {
    const text = readFileSync(omPreamble.path, 'utf8').replace(
      '48.87,2.33,50.0,0,GMT,GMT',
      '40.71,-74.01,10.0,-18000,America/New_York,EST',
    );
    const q = new QuarantineCollector();
    expect(await parseWeatherFile(tmpFile('ny.csv', text), q.add)).toEqual([]);
    expect(q.records.map((r) => [r.reason, r.line])).toEqual([['unsupported_timezone', 0]]);
  });
});

describe('Open-Meteo daily CSV (real): refused with one file-level reason', () => {
  it('one line-0 reject, not one per row (the 14 valid dates used to be 14 unparsable_date)', async () => {
    const q = new QuarantineCollector();
    expect(await parseWeatherFile(omDaily, q.add)).toEqual([]);
    expect(q.records).toHaveLength(1);
    expect(q.records[0]).toMatchObject({ reason: DAILY_CSV_REASON, line: 0, file: omDaily.key });
    expect(q.records[0]!.detail).toMatch(
      /daily CSV \(temperature_2m_max, temperature_2m_min, precipitation_sum/,
    );
  });
});

describe('Visual Crossing timeline JSON', () => {
  // days[0] is the SPEC §1.3 reconstructed 2025-11-03; days[1] is our own 2025-11-04
  const doc = {
    resolvedAddress: 'Paris',
    days: [
      {
        datetime: '2025-11-03',
        tempmax: 15.6,
        tempmin: 7.3,
        temp: 11.6,
        precip: 0.0,
        windspeed: 15.5,
        conditions: 'Partially cloudy',
      },
      {
        datetime: '2025-11-04',
        tempmax: 9.5,
        tempmin: 4.1,
        temp: 20,
        precip: 6.2,
        windspeed: 31,
        conditions: 'Rain',
      },
      { datetime: '2025-11-05', tempmax: 3, tempmin: 8 },
      { datetime: '05/11/2025', tempmax: 3, tempmin: 1 },
    ],
  };

  it('picks the day whose datetime is D, not days[0]', async () => {
    const q = new QuarantineCollector();
    const recs = await parseWeatherFile(tmpFile('weather_data.json', JSON.stringify(doc, null, 1)), q.add);
    expect(q.records.map((r) => r.reason)).toEqual(['inconsistent_temperatures', 'unparsable_date']);
    const m = computeWeatherMetrics('2025-11-04', recs);
    expect(m.source).toBe('daily');
    // temp 20 is outside [4.1, 9.5] → midpoint 6.8 (SPEC §2.4); 6.2 mm ≥ 5, 31 km/h ≥ 30, 6.8 < 10
    expect(m.metrics).toMatchObject({
      date: '2025-11-04',
      temp_moyenne: 6.8,
      precip_totale: 6.2,
      conditions: 'Rain',
    });
    expect(m.categories).toEqual(['Pluvieux', 'Venteux', 'Froid']);
    expect(m.impact_mobilite).toBe(10); // 50 − 20 − 10 − 10
    const first = computeWeatherMetrics('2025-11-03', recs);
    expect(first.metrics).toMatchObject({
      temp_moyenne: 11.6,
      temp_min: 7.3,
      temp_max: 15.6,
      vent_moyen: 15.5,
    });
    expect(first.impact_mobilite).toBe(50); // the real 2025-11-03 output: no category, 50.0
  });

  it('clamps the impact to [0, 100] and rejects unreadable files', async () => {
    expect(mobilityImpact(['Pluvieux', 'Venteux', 'Froid'])).toBe(10);
    const q = new QuarantineCollector();
    expect(await parseWeatherFile(tmpFile('x.json', '[1,2]'), q.add)).toEqual([]);
    expect(await parseWeatherFile(tmpFile('y.json', '{"days": '), q.add)).toEqual([]);
    expect(q.records.map((r) => [r.reason, r.line])).toEqual([
      ['unexpected_shape', 0],
      ['invalid_json', 0],
    ]);
  });
});
