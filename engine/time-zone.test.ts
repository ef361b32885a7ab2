import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker, isMainThread } from 'node:worker_threads';
import { transformSync } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { offsetAt, wallToInstant } from './time-zone.ts';

/** The oracle: the offset in minutes at instant `t`, read from an Intl formatter's wall clock. */
const ORACLE = `(() => {
  const formats = new Map();
  return (timezone, t) => {
    let f = formats.get(timezone);
    if (!f) {
      f = new Intl.DateTimeFormat('en-US', { timeZone: timezone, hourCycle: 'h23', year: 'numeric',
        month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
      formats.set(timezone, f);
    }
    const p = {};
    for (const part of f.formatToParts(new Date(t))) if (part.type !== 'literal') p[part.type] = Number(part.value);
    return Math.round((Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - t) / 60000);
  };
})()`;
const oracle = new Function(`return ${ORACLE}`)() as (timezone: string, t: number) => number;

// Zones with unusual rules: half-hour and 45-minute offsets, 30-minute summer time (Lord Howe), negative
// summer time (Dublin), Ramadan breaks (Casablanca), southern summers, local mean times with seconds.
const ZONES = [
  'Europe/Paris',
  'Europe/London',
  'Europe/Dublin',
  'Europe/Moscow',
  'America/New_York',
  'America/Santiago',
  'America/St_Johns',
  'America/Caracas',
  'Africa/Casablanca',
  'Africa/Monrovia',
  'Asia/Kathmandu',
  'Asia/Tehran',
  'Asia/Kolkata',
  'Australia/Lord_Howe',
  'Pacific/Chatham',
  'Pacific/Apia',
  'Antarctica/Troll',
  'US/Eastern',
  'Etc/GMT+5',
];
const YEARS = [1890, 1911, 1942, 1996, 2011, 2026, 2038];

/** Every place offsetAt differs from the oracle: each day's 00:00, 03:00, 12:00 and 23:45 UTC. */
function mismatches(zones: readonly string[], years: readonly number[]): string[] {
  const out: string[] = [];
  for (const zone of zones)
    for (const year of years)
      for (let day = 0; day < 366; day++)
        for (const minutes of [0, 180, 720, 1425]) {
          const t = Date.UTC(year, 0, 1 + day, 0, minutes);
          const got = offsetAt(zone, t);
          const want = oracle(zone, t);
          if (got !== want) out.push(`${zone} ${new Date(t).toISOString()}: ${got}, Intl says ${want}`);
        }
  return out;
}

describe('offsets of IANA zones', () => {
  const saved = process.env.TZ;
  afterEach(() => {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  });

  it('are the offsets Intl gives, and build no Intl formatter for a zone name without digits', () => {
    expect(isMainThread).toBe(true); // the path that switches TZ runs on the main thread only
    const Real = Intl.DateTimeFormat;
    const made: string[] = [];
    Intl.DateTimeFormat = function (...args: ConstructorParameters<typeof Real>) {
      made.push(String(args[1]?.timeZone));
      return new Real(...args);
    } as unknown as typeof Real;
    let paris: number;
    try {
      paris = offsetAt('Europe/Paris', Date.UTC(2026, 6, 1));
      offsetAt('Etc/GMT+5', Date.UTC(2026, 6, 1));
    } finally {
      Intl.DateTimeFormat = Real;
    }
    expect(paris).toBe(120);
    expect(made).toEqual(['Etc/GMT+5']); // ICU takes no digits in TZ: that name goes through Intl
    expect(mismatches(ZONES, YEARS)).toEqual([]);
  });

  it('leave TZ and the local time of the process as they were', () => {
    const t = Date.UTC(2026, 0, 15);
    for (const tz of ['America/New_York', undefined]) {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
      const local = new Date(t).getTimezoneOffset();
      expect(offsetAt('Asia/Kathmandu', t + 86_400_000 * 400)).toBe(345);
      expect(process.env.TZ).toBe(tz);
      expect('TZ' in process.env).toBe(tz !== undefined);
      expect(new Date(t).getTimezoneOffset()).toBe(local);
    }
  });

  it('find the instant a wall-clock time begins around summer time', () => {
    // Paris, 2026-03-29: 02:00–03:00 does not exist; 2026-10-25: 02:00–03:00 happens twice.
    expect(new Date(wallToInstant('Europe/Paris', Date.UTC(2026, 2, 29, 2, 30))).toISOString()).toBe(
      '2026-03-29T01:00:00.000Z',
    );
    expect(new Date(wallToInstant('Europe/Paris', Date.UTC(2026, 9, 25, 2, 30))).toISOString()).toBe(
      '2026-10-25T00:30:00.000Z',
    );
  });

  it('are the offsets Intl gives on a worker thread too (whose process.env is a copy)', async () => {
    // The module as plain JavaScript (it imports only node:process), run in a worker next to the oracle.
    const dir = mkdtempSync(join(tmpdir(), 'cityflow-tz-'));
    try {
      const source = readFileSync(new URL('./time-zone.ts', import.meta.url), 'utf8');
      writeFileSync(join(dir, 'time-zone.mjs'), transformSync(source, { loader: 'ts', format: 'esm' }).code);
      const code = `
        import { parentPort } from 'node:worker_threads';
        const { offsetAt } = await import(${JSON.stringify(join(dir, 'time-zone.mjs'))});
        const oracle = ${ORACLE};
        const bad = [];
        for (let day = 0; day < 366; day++) {
          const t = Date.UTC(2026, 0, 1 + day, 12);
          if (offsetAt('Europe/Paris', t) !== oracle('Europe/Paris', t)) bad.push(new Date(t).toISOString());
        }
        parentPort.postMessage(bad);`;
      const worker = new Worker(code, { eval: true });
      const bad = await new Promise<unknown>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      await worker.terminate();
      expect(bad).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
