/**
 * `pipeline ui` as a real child process on an ephemeral port, on a small project: the JSON API answers
 * with the CLI's statuses and `why` reasons, runs launched through it go through the engine (their log
 * streams as server-sent events, the state changes), a run can be cancelled, and what must be refused is
 * refused (no token, wrong token, another Origin or Host, bad asset keys, partitions, run ids).
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateStore } from '../../engine/index.ts';
import { makeProject, removeProject, startUiProcess, type UiProject } from './fixture-project.ts';

const BIN = join(import.meta.dirname, '..', '..', 'pipeline', 'bin.mjs');

let ui: UiProject;

beforeAll(async () => {
  ui = await startUiProcess(await makeProject(), { SLOW_MS: '400', PIPELINE_CONCURRENCY: '1' });
});
afterAll(async () => {
  await ui?.stop();
  if (ui) await removeProject(ui.dir);
});

const api = async (path: string, init: RequestInit = {}) => {
  const r = await fetch(new URL(path, ui.url), init);
  return { status: r.status, body: (await r.json()) as Record<string, unknown>, headers: r.headers };
};
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  api(path, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      origin: new URL(ui.url).origin,
      'x-cityflow-token': ui.token,
      ...headers,
    },
    body: JSON.stringify(body),
  });

/** Server-sent events of a run until the stream ends: the run log's events. */
async function follow(runId: string): Promise<{ type: string; [k: string]: unknown }[]> {
  const r = await fetch(new URL(`/api/runs/${runId}/events`, ui.url));
  expect(r.headers.get('content-type')).toContain('text/event-stream');
  const text = await r.text();
  return text
    .split('\n\n')
    .filter((b) => b.startsWith('data: '))
    .map((b) => JSON.parse(b.slice(6)) as { type: string });
}

describe('pipeline ui: API', () => {
  it('binds 127.0.0.1 and serves the bundled app (no CDN) with a CSP', async () => {
    expect(new URL(ui.url).hostname).toBe('127.0.0.1');
    const page = await fetch(ui.url);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/app.js">');
    expect(html).not.toMatch(/https?:\/\//);
    const js = await (await fetch(new URL('/app.js', ui.url))).text();
    expect(js.length).toBeGreaterThan(5000);
    expect(js).not.toMatch(/import\s*["'](https?:)?\/\//);
  });

  it('graph: definitions with statuses from the same planner as `plan --all`', async () => {
    const { status, body } = await api('/api/graph');
    expect(status).toBe(200);
    const assets = body.assets as { key: string; deps: string[] }[];
    expect(assets.map((a) => a.key)).toEqual(['raw_counts', 'total_bikes', 'per_city']);
    expect(assets[2]!.deps).toEqual(['total_bikes']);
    const st = body.statuses as Record<string, { status: string; partitions: number }>;
    expect(st.raw_counts!.status).toBe('source');
    expect(st.total_bikes!.status).toBe('missing');
    expect(st.per_city).toMatchObject({ status: 'missing', partitions: 6 });
  });

  it('automation: schedules, eager conditions and freshness of the config, read without a token', async () => {
    const r = await api('/api/automation');
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const s = r.body as {
      daemon: { running: boolean };
      schedules: { asset: string; cron: string; timezone: string; partitions: string; nextTick?: string }[];
      eager: { asset: string; require: string }[];
      freshness: { asset: string; maxLag: string; ok: boolean; message: string }[];
      latestByAsset: unknown[];
    };
    expect(s.daemon.running).toBe(false);
    expect(s.schedules).toEqual([
      {
        asset: 'total_bikes',
        cron: '0 6 * * *',
        timezone: 'Europe/Paris',
        partitions: 'latest',
        nextTick: expect.stringMatching(/^\d{4}-\d\d-\d\dT(04|05):00:00\.000Z$/) as unknown as string,
      },
    ]);
    expect(Date.parse(s.schedules[0]!.nextTick!)).toBeGreaterThan(Date.now());
    expect(s.eager).toEqual([{ asset: 'total_bikes', require: 'all-inputs' }]);
    expect(s.freshness).toHaveLength(1);
    expect(s.freshness[0]).toMatchObject({ asset: 'total_bikes', maxLag: '26h' });
    expect(typeof s.freshness[0]!.ok).toBe('boolean');
    expect(s.freshness[0]!.message).toContain('total_bikes');
    expect(s.latestByAsset).toEqual([]);
    // A GET, no action: no token needed, but the same Origin and Host checks as every route.
    const cross = await api('/api/automation', { headers: { 'sec-fetch-site': 'cross-site' } });
    expect(cross.status).toBe(403);
  });

  it('asset: why reasons per partition, as sentences too', async () => {
    const { body } = await api('/api/assets/per_city');
    const units = body.units as { partition: string; status: string; why: string[] }[];
    expect(units.map((u) => u.partition)).toEqual(['paris', 'lyon', 'lille', 'nice', 'nantes', 'rennes']);
    expect(units[0]!.why).toEqual(['never materialized (or its stored output is gone)']);
  });

  it('refuses actions without the token, with a wrong one, from another origin or Host', async () => {
    const noToken = await api('/api/runs', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: new URL(ui.url).origin },
      body: '{}',
    });
    expect(noToken.status).toBe(403);
    expect(noToken.body.error).toMatch(/token/);
    expect((await post('/api/runs', {}, { 'x-cityflow-token': ui.token.slice(1) + 'x' })).status).toBe(403);
    const cross = await post('/api/runs', {}, { origin: 'http://evil.example' });
    expect(cross.status).toBe(403);
    expect(cross.body.error).toMatch(/cross-origin/);
    expect((await post('/api/runs', {}, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    // No Origin at all (curl, another program): an action is refused too.
    const bare = await api('/api/runs', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-cityflow-token': ui.token },
      body: '{}',
    });
    expect(bare.status).toBe(403);
    // DNS rebinding: a page of evil.example resolved to 127.0.0.1 sends Host: evil.example.
    // (fetch may not set Host: a raw request does.)
    const rebind = await new Promise<number>((resolve, reject) =>
      httpGet(new URL('/api/graph', ui.url), { headers: { host: 'evil.example' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      }).on('error', reject),
    );
    expect(rebind).toBe(403);
    // Nothing ran.
    expect(((await api('/api/runs')).body.runs as unknown[]).length).toBe(0);
  });

  it('validates asset keys, partitions, run ids and run requests (400/404, no path from input)', async () => {
    expect((await api('/api/assets/..%2F..%2Fetc%2Fpasswd')).status).toBe(400);
    expect((await api('/api/assets/nope')).status).toBe(404);
    expect((await api('/api/runs/..%2Findex%2Ftotal_bikes')).status).toBe(400);
    expect((await api('/api/runs/20250101T000000000Z-abcdef')).status).toBe(404);
    expect((await api('/pages/summary/..%2F..%2Fx')).status).toBe(400);
    expect((await api('/pages/nope/all')).status).toBe(404);
    expect((await api('/api/graph?partition=%2Fetc')).status).toBe(400);
    const extra = await post('/api/runs', { select: 'total_bikes', path: '/tmp' });
    expect(extra.status).toBe(400);
    const both = await post('/api/runs', { partition: 'paris', from: 'lyon' });
    expect(both.status).toBe(400);
    expect((await api('/api/select?expr=%2Bnope')).status).toBe(400);
  });

  it('launches a run through the engine: events stream live, units are built, the state says fresh', async () => {
    const launched = await post('/api/runs', { select: '+per_city' });
    expect(launched.status).toBe(202);
    const runId = launched.body.runId as string;
    const events = await follow(runId);
    expect(events[0]!.type).toBe('run_started');
    expect(events.at(-1)).toMatchObject({ type: 'run_finished', status: 'success', materialized: 7 });
    expect(events.filter((e) => e.type === 'materialized').map((e) => e.asset)).toContain('per_city');
    const runs = (await api('/api/runs')).body.runs as { runId: string; status: string }[];
    expect(runs[0]).toMatchObject({ runId, status: 'success' });
    const st = (await api('/api/graph')).body.statuses as Record<string, { status: string }>;
    expect(st.per_city!.status).toBe('fresh');
    const detail = (await api('/api/assets/total_bikes')).body;
    const unit = (
      detail.units as { record: { runId: string; checks: { name: string; status: string }[] } }[]
    )[0]!;
    expect(unit.record.runId).toBe(runId);
    expect(unit.record.checks[0]).toMatchObject({ name: 'some_bikes', status: 'pass' });
    expect(detail.quarantine).toEqual([
      expect.objectContaining({ partition: 'all', counts: { bad_count: 1 } }),
    ]);
    // The project's page renders the stored value, under a CSP without scripts.
    const pages = (await api('/api/pages/summary')).body;
    expect(pages.partitions).toEqual(['all']);
    const page = await fetch(new URL('/pages/summary/all', ui.url));
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    // The value as stored (canonical JSON: keys sorted), rendered by the page's own JSON.stringify.
    expect(await page.text()).toContain('{"bikes":8,"stations":2}');
  });

  it('cancels a run started here: units in flight finish, the run is recorded as cancelled', async () => {
    const runId = (await post('/api/runs', { select: 'per_city', force: true })).body.runId as string;
    const stream = follow(runId);
    // Wait for the first unit to start, then cancel.
    for (let i = 0; i < 100; i++) {
      const r = await api(`/api/runs/${runId}`);
      if ((r.body.events as { type: string }[]).some((e) => e.type === 'unit_started')) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const cancel = await post(`/api/runs/${runId}/cancel`, {});
    expect(cancel.status).toBe(202);
    const events = await stream;
    const end = events.at(-1)!;
    expect(end).toMatchObject({ type: 'run_finished', status: 'cancelled' });
    expect(end.materialized as number).toBeLessThan(6);
    // A run not in progress here cannot be cancelled.
    expect((await post(`/api/runs/${runId}/cancel`, {})).status).toBe(409);
  });

  it('answers follow the state at once when another process records units (no stale plan served)', async () => {
    type Units = { partition: string; status: string; why: string[] }[];
    type Matrix = { rows: { asset: string; whole: string | null }[] };
    const paris = async () =>
      ((await api('/api/assets/per_city')).body.units as Units).find((u) => u.partition === 'paris')!;
    const graphStatus = async () =>
      ((await api('/api/graph')).body.statuses as Record<string, { status: string }>).per_city!.status;
    const matrixCell = async () =>
      ((await api('/api/matrix')).body as unknown as Matrix).rows.find((r) => r.asset === 'per_city')!.whole;
    // Every answer computed and cached first.
    expect((await paris()).status).toBe('fresh');
    const before = await graphStatus();
    expect(before).not.toBe('failed');
    await matrixCell();
    // Another process records a failed attempt of per_city[paris] (as a run of the CLI would).
    const other = new StateStore(join(ui.dir, '.cityflow'));
    other.recordFailure('per_city', 'paris', {
      runId: 'other-process',
      at: new Date().toISOString(),
      error: 'boom',
    });
    await other.flush();
    const failed = await paris();
    expect(failed.status).toBe('failed');
    expect(failed.why.join(' ')).toContain('other-process');
    expect(await graphStatus()).toBe('failed');
    expect(await matrixCell()).toBe('x');
    // The CLI (another process) builds it again: fresh at once, everywhere.
    const cli = await promisify(execFile)(
      process.execPath,
      [BIN, 'materialize', '--select', 'per_city', '--partition', 'paris'],
      { cwd: ui.dir, env: { PATH: process.env.PATH, HOME: ui.dir, CI: 'true' } },
    );
    expect(cli.stdout).toMatch(/1 materialized|materialized 1|✓/);
    expect((await paris()).status).toBe('fresh');
    expect(await graphStatus()).toBe(before);
    expect(await matrixCell()).not.toBe('x');
  });

  it('asset: check results over time, across runs of the UI and of the CLI; pruned runs leave the history', async () => {
    type Hist = { runId: string; partition: string; check: string; status: string; blocking: boolean }[];
    const before = (await api('/api/assets/total_bikes')).body.checkHistory as Hist;
    // The run of the first test: one result, passed.
    expect(before.map((c) => [c.check, c.status, c.partition])).toEqual([['some_bikes', 'pass', 'all']]);
    // Every count negative: the CLI, another process, materializes it and the check fails.
    await writeFile(join(ui.dir, 'data', 'counts', 'today.csv'), 'station,bikes\nA,-3\n');
    const cli = (...args: string[]): Promise<{ code: number; stdout: string }> =>
      promisify(execFile)(process.execPath, [BIN, ...args], {
        cwd: ui.dir,
        env: { PATH: process.env.PATH, HOME: ui.dir, CI: 'true' },
      }).then(
        (r) => ({ code: 0, stdout: r.stdout }),
        (err: { code: number; stdout: string }) => err,
      );
    const failed = await cli('materialize', '--select', 'total_bikes', '--json');
    expect(failed.code).toBe(1);
    const after = (await api('/api/assets/total_bikes')).body.checkHistory as Hist;
    expect(after.map((c) => [c.status, c.runId])).toEqual([
      ['fail', (JSON.parse(failed.stdout.trim().split('\n').at(-1)!) as { runId: string }).runId],
      ['pass', before[0]!.runId],
    ]);
    // Only the newest run kept: the history shows that run's result only.
    await cli('runs', 'prune', '--keep', '1');
    expect(((await api('/api/assets/total_bikes')).body.checkHistory as Hist).map((c) => c.status)).toEqual([
      'fail',
    ]);
    await writeFile(join(ui.dir, 'data', 'counts', 'today.csv'), 'station,bikes\nA,3\nB,5\nC,-1\n');
  });

  it('no secret in any response', async () => {
    const all = JSON.stringify([
      (await api('/api/session')).body,
      (await api('/api/graph')).body,
      (await api('/api/runs')).body,
      (await api('/api/automation')).body,
    ]);
    expect(all).not.toMatch(/SECRET|password=|AKIA/i);
    expect(ui.stderr()).not.toMatch(/Error:/);
  });
});
