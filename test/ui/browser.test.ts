/**
 * `pipeline ui` in a real browser (Debian's chromium through playwright-core), on this repository's own
 * project (the Paris pipeline on the bundled sample, into a temp OUTPUT_DIR and STATE_DIR): the graph
 * with statuses, an asset's why, a run started from the UI whose units turn green live, a cancelled
 * run, the partition matrix, the daily report page (charts drawn with their series, the map's 20
 * arrondissements) and its HTML export opened offline. Screenshots (1280×800) go to artifacts/ui/.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { BrowserContext, Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, launchBrowser, screenshot } from './browser.ts';
import { startUiProcess, type UiProject } from './fixture-project.ts';

const ROOT = join(import.meta.dirname, '..', '..');
let tmp: string;
let env: NodeJS.ProcessEnv;
let ui: UiProject;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'cityflow-ui-paris-'));
  env = {
    DATA_DIR: join(ROOT, 'data'),
    OUTPUT_DIR: join(tmp, 'output'),
    STATE_DIR: join(tmp, 'state'),
    PIPELINE_CONCURRENCY: '2',
  };
  ui = await startUiProcess(ROOT, env);
  browser = await launchBrowser();
  context = browser.context;
  page = await context.newPage();
});
afterAll(async () => {
  await browser?.close();
  await ui?.stop();
  await rm(tmp, { recursive: true, force: true });
});

/** The report's charts, as drawn: per chart its label, series count and how many series drew something. */
const chartsOf = (frame: Page | Frame) =>
  frame.$$eval('svg.chart', (svgs) =>
    svgs.map((svg) => {
      const series = [...svg.querySelectorAll('g.series')];
      const drawn = series.filter((g) => {
        const b = (g as SVGGraphicsElement).getBBox();
        return b.width > 0 && b.height > 0;
      });
      return {
        label: svg.getAttribute('aria-label'),
        series: Number(svg.getAttribute('data-series')),
        groups: series.length,
        drawn: drawn.length,
      };
    }),
  );

describe('pipeline ui in chromium', { timeout: 180_000 }, () => {
  it('graph: every asset with its status; clicking one shows its why; arrows move between assets', async () => {
    await page.goto(ui.url);
    await page.waitForSelector('g.node');
    expect(await page.locator('g.node').count()).toBe(15);
    expect(await page.getAttribute('g.node[data-key="daily_report"]', 'data-status')).toBe('missing');
    expect(await page.getAttribute('g.node[data-key="raw_bikes"]', 'data-status')).toBe('source');
    await page.click('g.node[data-key="daily_report"]');
    await page.waitForSelector('#why details');
    const why = await page.textContent('#why');
    expect(why).toContain('never materialized');
    expect(await page.textContent('#asset-panel h2')).toContain('daily_report');
    // Keyboard: focus an asset, arrow to its upstream, Enter opens it.
    await page.focus('g.node[data-key="daily_report_csv"]');
    await page.keyboard.press('ArrowLeft');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-key'))).toBe('daily_report');
    // The filter speaks the CLI's selection syntax.
    await page.fill('#filter', '+weather_metrics');
    await page.waitForFunction(() => document.querySelectorAll('g.node:not(.dim)').length === 2);
    // What the filter leaves out stays readable: WCAG AA contrast (4.5:1) of its text on its box,
    // opacity included (blended over the white page).
    const contrasts = await page.$$eval('g.node.dim', (nodes) => {
      const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number);
      const lum = ([r, g, b]: number[]) => {
        const f = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
        return 0.2126 * f(r!) + 0.7152 * f(g!) + 0.0722 * f(b!);
      };
      const over = (c: number[], a: number) => c.map((v) => v * a + 255 * (1 - a));
      return nodes.flatMap((n) => {
        let alpha = 1;
        for (let e: Element | null = n; e && e instanceof SVGElement; e = e.parentElement)
          alpha *= Number(getComputedStyle(e).opacity);
        const box = over(rgb(getComputedStyle(n.querySelector('rect')!).fill), alpha);
        return [...n.querySelectorAll('text')].map((t) => {
          const fg = over(rgb(getComputedStyle(t).fill), alpha * Number(getComputedStyle(t).opacity));
          const [a, b] = [lum(fg), lum(box)].sort((x, y) => y - x);
          return (a! + 0.05) / (b! + 0.05);
        });
      });
    });
    expect(contrasts.length).toBe(26); // 13 dimmed nodes × 2 lines
    expect(Math.min(...contrasts)).toBeGreaterThanOrEqual(4.5);
    await screenshot(page, '1b-graph-filter');
    await page.fill('#filter', '');
    await page.waitForFunction(() => !document.querySelector('g.node.dim'));
    await screenshot(page, '1-graph');
  });

  it('a run started from the UI: units turn green live, then the graph says fresh', async () => {
    await page.goto(`${ui.url}#/runs`);
    await page.click('#materialize-all');
    await page.waitForURL(/#\/runs\/\d{8}T/);
    // Live: some units green while the run is still going.
    await page.waitForSelector('.tl-bar[data-state="materialized"]', { timeout: 60_000 });
    const liveSummary = await page.textContent('#run-summary');
    await page.waitForSelector('#run-summary[data-status="success"]', { timeout: 120_000 });
    expect(liveSummary).toMatch(/running|success/);
    expect(await page.locator('.tl-bar[data-state="materialized"]').count()).toBe(72);
    expect(await page.locator('.tl-bar[data-state="failed"]').count()).toBe(0);
    expect(await page.textContent('#run-summary')).toContain('72 built');
    // Waits have bars of their own: units queued behind their upstream units show a faint bar before theirs.
    const waits = await page.$$eval('.tl-wait[data-wait="queued"]', (els) =>
      els.map((e) => (e as HTMLElement).getBoundingClientRect().width),
    );
    expect(waits.length).toBeGreaterThan(10);
    expect(Math.max(...waits)).toBeGreaterThan(20);
    await screenshot(page, '2-run');
    await page.goto(`${ui.url}#/graph/daily_report`);
    await page.waitForSelector('#why details');
    expect(await page.getAttribute('g.node[data-key="daily_report"]', 'data-status')).toBe('fresh');
    expect(await page.textContent('#why')).toContain('up to date');
    await screenshot(page, '3-asset');
    // Check results over time: bikes_metrics's checks ran on its 8 days.
    await page.goto(`${ui.url}#/graph/bikes_metrics`);
    await page.waitForSelector('#check-history .check-cell');
    expect(await page.locator('#check-history .check-strip-row').count()).toBe(2);
    expect(await page.locator('#check-history .check-cell[data-status="pass"]').count()).toBe(16);
    await page.$eval('#check-history', (e) => e.scrollIntoView({ block: 'start' }));
    await screenshot(page, '3b-asset-checks');
  });

  it('a forced run cancelled from its page is recorded as cancelled', async () => {
    await page.goto(`${ui.url}#/runs`);
    await page.waitForSelector('table.runs tbody tr');
    await page.check('#run-force');
    await page.click('#materialize-all');
    await page.waitForURL(/#\/runs\/\d{8}T/);
    await page.waitForSelector('.tl-bar[data-state="running"], .tl-bar[data-state="materialized"]', {
      timeout: 60_000,
    });
    await page.click('#cancel-run');
    await page.waitForSelector('#run-summary[data-status="cancelled"]', { timeout: 60_000 });
    expect(await page.locator('.tl-bar[data-state="materialized"]').count()).toBeLessThan(72);
    await page.goto(`${ui.url}#/runs`);
    await page.waitForSelector('table.runs tbody tr');
    expect(await page.locator('table.runs tbody tr').count()).toBe(2);
    await page.selectOption('#run-status', 'cancelled');
    expect(await page.locator('table.runs tbody tr').count()).toBe(1);
    await screenshot(page, '4-runs');
  });

  it('partition matrix: assets × days, keyboard cursor announced', async () => {
    await page.goto(`${ui.url}#/matrix`);
    await page.waitForSelector('canvas#matrix');
    await page.focus('canvas#matrix');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowRight');
    expect(await page.textContent('#matrix-cursor')).toMatch(/^\w+ · 2025-10-29 · \w+/);
    const painted = await page.$eval('canvas#matrix', (c) => {
      const d = (c as HTMLCanvasElement)
        .getContext('2d')!
        .getImageData(0, 0, c.clientWidth, c.clientHeight).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3]! > 0) n++;
      return n;
    });
    expect(painted).toBeGreaterThan(5000);
    // The date header: month and day labels drawn (dark pixels) above the cells, right of the names.
    const header = await page.$eval('canvas#matrix', (c) => {
      const d = (c as HTMLCanvasElement).getContext('2d')!.getImageData(190, 0, c.clientWidth - 190, 34).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3]! > 128 && d[i]! < 120) n++;
      return n;
    });
    expect(header).toBeGreaterThan(150);
    expect(await page.getAttribute('canvas#matrix', 'aria-label')).toContain('2025-10-28 → 2025-11-04');
    await screenshot(page, '5-matrix');
  });

  it('daily report page: every chart drew its series, the map has 20 arrondissements', async () => {
    await page.goto(`${ui.url}#/pages/report/2025-11-04`);
    const frameEl = await page.waitForSelector('iframe#page-frame');
    const frame = (await frameEl.contentFrame())!;
    await frame.waitForSelector('svg.map');
    const charts = await chartsOf(frame);
    expect(charts.length).toBeGreaterThanOrEqual(7);
    for (const c of charts) {
      expect(c.groups, c.label!).toBe(c.series);
      expect(c.drawn, c.label!).toBe(c.series);
    }
    expect(charts.find((c) => c.label === 'Météo et trafic sur 7 jours')?.series).toBe(3);
    const maps = await frame.$$eval('svg.map', (ms) => ms.map((m) => m.querySelectorAll('path.arr').length));
    expect(maps).toEqual([20, 20]);
    await screenshot(page, '6-report');
  });

  it('automation: the schedule of daily_report with its next tick, freshness per asset, eager conditions', async () => {
    // One evaluation logged by the daemon (dry run: no run started, no cursor stored).
    await promisify(execFile)(
      process.execPath,
      [join(ROOT, 'pipeline/bin.mjs'), 'daemon', '--once', '--dry-run'],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: tmp, ...env },
      },
    );
    await page.goto(`${ui.url}#/automation`);
    await page.waitForSelector('#auto-schedules');
    expect(await page.textContent('main h2')).toBe('Automation');
    expect(await page.getAttribute('nav a[href="#/automation"]', 'aria-current')).toBe('');
    expect(await page.textContent('#daemon-status')).toContain('not running');
    const schedule = page.locator('#auto-schedules tbody tr[data-asset="daily_report"]');
    const cells = await schedule.locator('td').allTextContents();
    expect(cells[1]).toBe('0 6 * * *');
    expect(cells[2]).toBe('Europe/Paris');
    // The next tick in the schedule's zone: 06:00 of a coming day, and how far it is.
    expect(cells[4]).toMatch(/^\d{4}-\d\d-\d\d 06:00 \S+ \(in \d+ (h|min)/);
    const fresh = page.locator('#auto-freshness tbody tr[data-asset="daily_report"]');
    expect(await fresh.count()).toBe(1);
    const freshCells = await fresh.locator('td').allTextContents();
    expect(freshCells[4]).toBe('26h');
    // The sample's days are long past: stale, said in words (not colour alone).
    expect(await fresh.getAttribute('data-ok')).toBe('false');
    expect(freshCells[1]).toContain('stale');
    expect(await page.textContent('#auto-freshness ~ p, .automation .warning')).toMatch(
      /older than the max lag/,
    );
    expect(await page.locator('#auto-eager tbody tr').count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator('#auto-schedules th[scope="col"]').count()).toBe(6);
    // The evaluation's decisions, each with its outcome in words and its reason.
    const decisions = await page.locator('#auto-decisions tbody tr').allTextContents();
    expect(decisions.length).toBeGreaterThan(0);
    expect(decisions.some((d) => /daily_report.*(run|wait|skip|warn)/.test(d))).toBe(true);
    // The whole page (its tables run below the fold).
    await page.screenshot({ path: join(ARTIFACTS, '8-automation.png'), fullPage: true });
  });

  it('pipeline report --html writes one file that opens offline: no request but the file itself', async () => {
    const out = join(tmp, 'report.html');
    await promisify(execFile)(
      process.execPath,
      [join(ROOT, 'pipeline/bin.mjs'), 'report', '--html', '2025-11-04', '--out', out],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: tmp, ...env },
      },
    );
    const offline = await context.newPage();
    const requests: string[] = [];
    offline.on('request', (r) => requests.push(r.url()));
    await context.setOffline(true);
    try {
      await offline.goto(pathToFileURL(out).href);
      await offline.waitForSelector('svg.map');
      expect(requests).toEqual([pathToFileURL(out).href]);
      const charts = await chartsOf(offline);
      expect(charts.every((c) => c.drawn === c.series && c.series > 0)).toBe(true);
      expect(await offline.locator('svg.map').first().locator('path.arr').count()).toBe(20);
      expect(await offline.textContent('h1')).toContain('novembre 2025');
      await screenshot(offline, '7-report-export');
    } finally {
      await context.setOffline(false);
      await offline.close();
    }
  });
});
