import { describe, expect, it } from 'vitest';
import { buildDailyReport } from './build.ts';
import { renderReportHtml, shiftDay } from './html.ts';
import { allInputs, DAY } from './test-fixtures.ts';

const charts = (html: string) =>
  [...html.matchAll(/<svg class="[^"]*chart[^"]*"[^>]*aria-label="([^"]+)" data-series="(\d+)"/g)].map(
    (m) => [m[1], Number(m[2])],
  );

describe('renderReportHtml', () => {
  const report = buildDailyReport(DAY, allInputs(), undefined);

  it('one self-contained document: no script, nothing fetched (no src, href, url(), @import)', () => {
    const html = renderReportHtml(report);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|\ssrc=|\shref=|url\(|@import|<link/i);
  });

  it('headline figures, the charts with their series, two maps of the 20 arrondissements', () => {
    const week = Array.from({ length: 7 }, (_, i) =>
      i === 6 ? report : i % 2 ? undefined : { ...report, date: shiftDay(DAY, i - 6) },
    );
    const html = renderReportHtml(report, { week, bikeCounters: [{ name: 'Rivoli', total: 1200 }] });
    expect(html.match(/class="card"/g)).toHaveLength(8);
    expect(html).toContain('data-figure="total_vehicules_paris"');
    const drawn = charts(html);
    expect(drawn).toContainEqual(['Météo et trafic sur 7 jours', 3]);
    expect(drawn).toContainEqual(['Perturbations par sévérité', 1]);
    expect(drawn).toContainEqual(['Comptages vélo par compteur', 1]);
    const maps = [...html.matchAll(/<svg class="map chart"[\s\S]*?<\/svg>/g)].map((m) => m[0]);
    expect(maps).toHaveLength(2);
    for (const m of maps) {
      const codes = [...m.matchAll(/data-code="(750\d\d)"/g)].map((x) => x[1]);
      expect(new Set(codes).size).toBe(20);
    }
    // Every series group holds something drawn (a path or rects), not an empty <g>.
    for (const g of html.matchAll(/<g class="series"[^>]*>([\s\S]*?)<\/g>/g))
      expect(g[1]!.length).toBeGreaterThan(20);
  });

  it('a missing source is said missing, its figures too', () => {
    const { bikes: _b, weather: _w, ...rest } = allInputs();
    const partial = buildDailyReport(DAY, rest, undefined);
    const html = renderReportHtml(partial);
    expect(html).toContain('data-missing="bikes"');
    expect(html).toContain('data-missing="weather"');
    expect(html).not.toContain('data-missing="comptages"');
    expect(html).toMatch(
      /data-figure="total_velos_paris"><div class="label">[^<]*<\/div><div class="value"><span class="na">manquant/,
    );
  });

  it('escapes text from the data', () => {
    const r = structuredClone(report);
    r.alertes_congestion = [
      {
        arc_id: '1',
        libelle: '<img src=x onerror=alert(1)>',
        arrondissement: '75008',
        heures_congestion_max: 2,
        taux_occupation_max: 90,
        temps_perdu_total_minutes: 10,
        severite: 'MOYENNE',
      },
    ];
    const html = renderReportHtml(r);
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x');
  });
});
