import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QuarantineCollector } from '../../engine/quarantine.ts';
import { computeTrafficMetrics, TrafficMetricsSchema } from './metrics.ts';
import {
  EFFECT_CLASS,
  metroLinesInText,
  parseCompactParis,
  parseTrafficFile,
  severityClass,
} from './parse.ts';

const real = (name: string) => ({
  path: new URL(`../../test/fixtures/real/prim-idfm-disruptions/${name}`, import.meta.url).pathname,
  key: `prim-idfm-disruptions/${name}`,
});
const navitia = real('prim-navitia-line_reports_2024-04-30.json');
const bulk = real('VARIANT_prim-disruptions_bulk-style-list_2025-02.json');
// 66 disruptions of a 2023-08-15 line_reports window: 51 SIGNIFICANT_DELAYS (priority 30), 15 OTHER_EFFECT
// information notices (priority 60); excerpt without the response's line_reports member (PROVENANCE.md)
const window66 = real(
  'prim-navitia-line_reports_fetched-2024-05-11_window-2023-08-15_66-disruptions_without-line_reports.json',
);
const dir = mkdtempSync(join(tmpdir(), 'cityflow-traffic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tmpFile = (name: string, content: string) => {
  writeFileSync(join(dir, name), content);
  return { path: join(dir, name), key: `api/traffic/dt=2025-02-04/${name}` };
};

describe('compact Paris timestamps', () => {
  it('reads YYYYMMDDTHHMMSS as Europe/Paris local time', () => {
    expect(parseCompactParis('20240430T044000')).toBe(Date.UTC(2024, 3, 30, 2, 40)); // CEST = UTC+2
    expect(parseCompactParis('20250204T220000')).toBe(Date.UTC(2025, 1, 4, 21)); // CET = UTC+1
    expect(parseCompactParis('20250230T000000')).toBeNull();
    expect(parseCompactParis('2025-02-04T22:00:00')).toBeNull();
  });
  it('finds metro lines in text, not bus "Ligne 8"', () => {
    expect(metroLinesInText('<p>Métro 14 : Travaux</p>')).toEqual(['14']);
    expect(metroLinesInText('Metro 3bis et M7 fermés')).toEqual(['3', '7']);
    expect(metroLinesInText('Ligne 8 : arrêt déplacé ; Métro 15')).toEqual([]);
  });
});

describe('Navitia disruptions (real line_reports fixture)', () => {
  it('parses the 19 disruptions with their line numbers and no reject', async () => {
    const q = new QuarantineCollector();
    const ds = await parseTrafficFile(navitia, q.add);
    expect(q.total).toBe(0);
    expect(ds).toHaveLength(19);
    const multi = ds.find((d) => d.id.startsWith('6d08a2c0'))!;
    expect(multi.periods).toHaveLength(140);
    expect(multi.status).toBe('future');
    // impacted lines are all Bus (272, 1, 2, 8, 12 …): none is a metro line
    expect(ds.flatMap((d) => d.lignes)).toEqual([]);
    // "bloquante"/NO_SERVICE has priority 0 in real data: classed CRITIQUE by its effect
    expect(ds.filter((d) => d.severity_class === 'CRITIQUE').map((d) => d.id.slice(0, 8))).toEqual([
      'e9cbe72a',
      'b64c32a8',
      'c12d8fa8',
    ]);
  });

  it('computes 2024-04-30 by hand', async () => {
    const m = computeTrafficMetrics('2024-04-30', await parseTrafficFile(navitia, () => {}));
    TrafficMetricsSchema.parse(m);
    // every one of the 19 has a period overlapping 2024-04-30 (6d08a2c0 is status "future" but has 07–10 h that day)
    expect(m.active_disruptions_count).toBe(19);
    expect(m.total_disruptions_count).toBe(19);
    expect(m.disruptions_by_severity).toEqual({ CRITIQUE: 3, ELEVEE: 16, MOYENNE: 0, FAIBLE: 0 });
    // 16 span the whole day (24 h) + c12d8fa8 04:40–13:30 (8.8333 h) + 6d08a2c0 07–10 (3 h) + f7588214 until 23:59 (23.9833 h)
    expect(m.duree_totale_heures).toBeCloseTo(16 * 24 + 8 + 50 / 60 + 3 + 23 + 59 / 60, 9);
    expect(m.alerts).toHaveLength(19); // all CRITIQUE or ELEVEE with > 2 h
    expect(m.alerts.slice(0, 3).map((a) => [a.id.slice(0, 8), a.severity, a.duration_hours])).toEqual([
      ['b64c32a8', 'CRITIQUE', 24],
      ['e9cbe72a', 'CRITIQUE', 24],
      ['c12d8fa8', 'CRITIQUE', 8 + 50 / 60],
    ]);
    expect(m.top_lignes_impactees).toEqual([]);
    expect(m.reliability_index).toBe(100); // no metro line disrupted
  });

  it('clips to the day: 2024-05-05 sees only the 7–10 h slot of the 140-period disruption', async () => {
    const m = computeTrafficMetrics('2024-05-05', await parseTrafficFile(navitia, () => {}));
    const a = m.alerts.find((x) => x.id.startsWith('6d08a2c0'))!;
    expect(a.duration_hours).toBe(3);
    // 19 minus the two that end on 04-30 (c12d8fa8 04:40–13:30, f7588214 until 04-30 23:59)
    expect(m.active_disruptions_count).toBe(17);
  });
});

describe("severity on IDFM/Navitia's scale: effect first, priority only to order", () => {
  it('classes every Navitia effect, then the label, never the priority', () => {
    expect(Object.keys(EFFECT_CLASS).sort()).toEqual([
      'ADDITIONAL_SERVICE',
      'DETOUR',
      'MODIFIED_SERVICE',
      'NO_SERVICE',
      'OTHER_EFFECT',
      'REDUCED_SERVICE',
      'SIGNIFICANT_DELAYS',
      'STOP_MOVED',
      'UNKNOWN_EFFECT',
    ]);
    expect(severityClass('NO_SERVICE', 'information')).toBe('CRITIQUE'); // effect wins over the label
    expect(severityClass('DETOUR')).toBe('ELEVEE');
    expect(severityClass('STOP_MOVED', 'bloquante')).toBe('FAIBLE');
    expect(severityClass(null, 'Perturbée')).toBe('ELEVEE');
    expect(severityClass('SOMETHING_NEW', 'bloquante')).toBe('CRITIQUE'); // unknown effect: the label
    expect(severityClass(null, null)).toBe('MOYENNE');
  });

  it('2023-02-01: the 8 information notices of 14 active disruptions are FAIBLE, not CRITIQUE', async () => {
    const q = new QuarantineCollector();
    const ds = await parseTrafficFile(window66, q.add);
    expect(q.total).toBe(0);
    expect(ds).toHaveLength(66);
    const m = computeTrafficMetrics('2023-02-01', ds);
    TrafficMetricsSchema.parse(m);
    // Python cross-check (zoneinfo Europe/Paris): 14 periods overlap the day, 8 OTHER_EFFECT/60, 6 SIGNIFICANT_DELAYS/30
    expect(m.active_disruptions_count).toBe(14);
    // the original's "priority ≥ 50 ⇒ CRITIQUE" made this { CRITIQUE: 8, ELEVEE: 6 } and listed the notices first
    expect(m.disruptions_by_severity).toEqual({ CRITIQUE: 0, ELEVEE: 6, MOYENNE: 0, FAIBLE: 8 });
    const info = ds.filter((d) => d.effect === 'OTHER_EFFECT');
    expect(info.every((d) => d.priority === 60 && d.severity_class === 'FAIBLE')).toBe(true);
    // alerts: the 6 disrupted ones (24 h each), no information notice
    expect(m.alerts.map((a) => [a.id.slice(0, 8), a.severity, a.priority, a.duration_hours])).toEqual(
      ['1316367e', '317dd7e4', '58ee2b30', 'bd519b06', 'f19ffa46', 'fa1ba274'].map((id) => [
        id,
        'ELEVEE',
        30,
        24,
      ]),
    );
    expect(m.alerts).toHaveLength(6);
    expect(m.duree_totale_heures).toBe(14 * 24);
  });

  it('2023-08-15 (the window day): 61 active, 15 information notices, 46 disrupted', async () => {
    const m = computeTrafficMetrics('2023-08-15', await parseTrafficFile(window66, () => {}));
    expect(m.active_disruptions_count).toBe(61);
    expect(m.disruptions_by_severity).toEqual({ CRITIQUE: 0, ELEVEE: 46, MOYENNE: 0, FAIBLE: 15 });
    expect(m.alerts).toHaveLength(46);
    expect(m.alerts.every((a) => a.severity === 'ELEVEE')).toBe(true);
    expect(m.duree_totale_heures).toBeCloseTo(1448.166667, 5); // Python cross-check
    // every impacted line is a bus line (or a stop area): no metro line-hour is disrupted
    expect(m.heures_ligne_perturbees).toBe(0);
  });

  it('orders alerts by class, then priority (lower = more severe), then duration', () => {
    const p = (begin: string, end: string) => [{ startMs: Date.parse(begin), endMs: Date.parse(end) }];
    const base = { status: null, lignes: ['4'], cause: null, file: 'f', line: 1 };
    const m = computeTrafficMetrics('2025-02-04', [
      {
        ...base,
        id: 'long',
        priority: 40,
        effect: 'DETOUR',
        severity_class: 'ELEVEE',
        periods: p('2025-02-04T00:00Z', '2025-02-04T10:00Z'),
      },
      {
        ...base,
        id: 'short',
        priority: 10,
        effect: 'REDUCED_SERVICE',
        severity_class: 'ELEVEE',
        periods: p('2025-02-04T00:00Z', '2025-02-04T03:00Z'),
      },
      {
        ...base,
        id: 'info',
        priority: 60,
        effect: 'OTHER_EFFECT',
        severity_class: 'FAIBLE',
        periods: p('2025-02-04T00:00Z', '2025-02-04T20:00Z'),
      },
      {
        ...base,
        id: 'stop',
        priority: 0,
        effect: 'NO_SERVICE',
        severity_class: 'CRITIQUE',
        periods: p('2025-02-04T08:00Z', '2025-02-04T09:00Z'),
      },
    ]);
    expect(m.alerts.map((a) => a.id)).toEqual(['stop', 'short', 'long']);
    // line 4: hours overlapped by the 3 non-information disruptions only (the notice runs to 20:00Z)
    expect(m.heures_ligne_perturbees).toBe(10);
  });
});

describe('PRIM bulk list variant (real fixture)', () => {
  it('computes 2025-02-04 by hand', async () => {
    const q = new QuarantineCollector();
    const ds = await parseTrafficFile(bulk, q.add);
    expect(q.total).toBe(0);
    expect(ds).toHaveLength(100);
    const m = computeTrafficMetrics('2025-02-04', ds);
    TrafficMetricsSchema.parse(m);
    expect(m.active_disruptions_count).toBe(56); // periods overlapping 2025-02-04 (Python cross-check)
    expect(m.disruptions_by_severity).toEqual({ CRITIQUE: 56, ELEVEE: 0, MOYENNE: 0, FAIBLE: 0 }); // all BLOQUANTE
    // "Métro 14 : Travaux" 00:00–04:30 and "Métro 6" 00:00–04:30 + 22:00–24:00: one each, tie → line order
    expect(m.top_lignes_impactees).toEqual([
      { ligne: '6', count: 1 },
      { ligne: '14', count: 1 },
    ]);
    // disrupted line-hours: line 14 hours 0–4 (5) + line 6 hours 0–4 and 22–23 (7) = 12 of 14 × 24 = 336
    expect(m.heures_ligne_perturbees).toBe(12);
    expect(m.heures_ligne_total).toBe(336);
    expect(m.reliability_index).toBeCloseTo((100 * 324) / 336, 10);
    expect(m.alerts).toHaveLength(56);
    expect(m.duree_totale_heures).toBeCloseTo(1275.4666667, 6); // Σ clipped hours (Python cross-check)
  });

  it('has 23 hourly slots per line on the spring DST day', () => {
    expect(computeTrafficMetrics('2025-03-30', []).heures_ligne_total).toBe(14 * 23);
    expect(computeTrafficMetrics('2025-03-30', []).reliability_index).toBe(100);
  });
});

describe('snapshots and bad input', () => {
  const d = (id: string, begin: string, end: string, title = 'Métro 4 : incident') => ({
    id,
    applicationPeriods: [{ begin, end }],
    severity: 'PERTURBEE',
    title,
  });

  it('keeps the latest snapshot per id, whatever the input order', async () => {
    const h01 = tmpFile('hour=01.json', JSON.stringify([d('X', '20250204T080000', '20250204T120000')]));
    const h02 = tmpFile('hour=02.json', JSON.stringify([d('X', '20250204T080000', '20250204T090000')]));
    const a = await parseTrafficFile(h01, () => {});
    const b = await parseTrafficFile(h02, () => {});
    for (const input of [
      [...a, ...b],
      [...b, ...a],
    ]) {
      const m = computeTrafficMetrics('2025-02-04', input);
      expect(m.total_disruptions_count).toBe(1);
      expect(m.duree_totale_heures).toBe(1); // hour=02 snapshot: 08:00–09:00
      expect(m.heures_ligne_perturbees).toBe(1);
      expect(m.alerts).toEqual([]); // ELEVEE for 1 h ≤ 2 h: no alert
    }
  });

  it('quarantines disruptions without a usable period and bad files', async () => {
    const q = new QuarantineCollector();
    const file = tmpFile(
      'bad.json',
      JSON.stringify({
        disruptions: [
          { id: 'a', application_periods: [{ begin: 'x', end: '20250204T090000' }] },
          { id: 'b', application_periods: [{ begin: '20250204T100000', end: '20250204T090000' }] },
          { application_periods: [] },
          {
            id: 'ok',
            application_periods: [{ begin: '20250204T080000', end: '20250204T090000' }],
            severity: { priority: 60 },
          },
        ],
      }),
    );
    const ds = await parseTrafficFile(file, q.add);
    // no effect and no label: severity not given (MOYENNE), whatever the priority
    expect(ds.map((x) => [x.id, x.severity_class])).toEqual([['ok', 'MOYENNE']]);
    expect(q.records.map((r) => r.reason)).toEqual(['no_valid_period', 'no_valid_period', 'invalid_record']);
    await parseTrafficFile(tmpFile('trunc.json', '{"disruptions": [{'), q.add);
    await parseTrafficFile(tmpFile('obj.json', '{"pagination": {}}'), q.add);
    await parseTrafficFile(tmpFile('empty.json', ''), q.add);
    expect(q.records.slice(3).map((r) => [r.reason, r.line])).toEqual([
      ['invalid_json', 0],
      ['unexpected_shape', 0],
      ['empty_file', 0],
    ]);
  });
});
