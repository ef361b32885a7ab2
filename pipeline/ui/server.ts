/**
 * `pipeline ui`: a local HTTP server (node:http) serving the web app and its JSON API. Binds 127.0.0.1
 * unless told otherwise; refuses other Hosts and cross-origin requests; actions (materialize, cancel)
 * need the session token the server writes into its own page. Parameters are validated (params.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { maskSecrets } from '../../engine/redact.ts';
import { automationStatus, type AutomationStatus } from '../daemon/status.ts';
import type { Runtime } from '../runtime.ts';
import { packageVersion } from '../version.ts';
import { maskLine, UiReader, type Range } from './api.ts';
import { bundleApp, type AppBundle } from './bundle.ts';
import { Launcher } from './launch.ts';
import {
  assetKeySchema,
  BadRequest,
  launchSchema,
  pageIdSchema,
  parse,
  partitionSchema,
  rangeSchema,
  runIdSchema,
} from './params.ts';
import { newSessionToken, PAGE_CSP, refuse, SECURITY_HEADERS, type Guard } from './security.ts';
import { tailRunLog } from './tail.ts';

export interface UiServer {
  url: string;
  token: string;
  server: Server;
  close(): Promise<void>;
}

export interface UiOptions {
  host?: string;
  port?: number;
  log?: (msg: string) => void;
  /** The app bundle (tests may pass a prebuilt one); bundled from pipeline/ui/app by default. */
  bundle?: AppBundle;
}

const MAX_BODY = 16 * 1024;

export async function startUi(rt: Runtime, opts: UiOptions = {}): Promise<UiServer> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? (() => {});
  const bundle = opts.bundle ?? (await bundleApp());
  const token = newSessionToken();
  const reader = new UiReader(rt);
  const launcher = new Launcher(rt, log);
  const guard: Guard = { token, hosts: new Set() };
  const streams = new Set<ServerResponse>();

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      const e = err as Error;
      const status =
        e instanceof BadRequest
          ? e.status
          : e.name === 'UsageError' || e.name === 'SelectionError'
            ? 400
            : e.name === 'ConfigError'
              ? 409
              : 500;
      if (status === 500) log(`ui: ${maskSecrets(e.stack ?? e.message)}`);
      if (!res.headersSent) sendJson(res, status, { error: maskSecrets(e.message) });
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const action = req.method === 'POST';
    if (req.method !== 'GET' && req.method !== 'HEAD' && !action)
      return sendJson(res, 405, { error: `${req.method} not allowed` });
    const refused = refuse(req, guard, action);
    if (refused) return sendJson(res, 403, { error: refused });

    if (!action) {
      if (path === '/' || path === '/index.html')
        return send(res, 200, 'text/html; charset=utf-8', indexHtml(token, rt));
      if (path === '/app.js') return send(res, 200, 'text/javascript; charset=utf-8', bundle.js);
      if (path === '/app.css') return send(res, 200, 'text/css; charset=utf-8', bundle.css);
      if (path === '/api/session')
        return sendJson(res, 200, {
          version: packageVersion(),
          project: rt.project.file,
          mode: maskSecrets(rt.modeLine),
          pages: rt.pages.map((p) => ({ id: p.id, title: p.title, asset: p.asset })),
        });
      if (path === '/api/graph') return sendJsonText(res, 200, await reader.graphJson(rangeOf(url)));
      if (path === '/api/select') {
        const expr = url.searchParams.get('expr') ?? '';
        if (!expr || expr.length > 2000)
          throw new BadRequest('expr: a selection expression (1–2000 characters)');
        return sendJson(res, 200, { keys: reader.select(expr) });
      }
      if (path === '/api/matrix') return sendJsonText(res, 200, await reader.matrixJson(rangeOf(url)));
      if (path === '/api/runs') {
        const active = launcher.list().map((r) => ({ runId: r.runId, phase: r.phase, error: r.error }));
        return sendJson(res, 200, { runs: await reader.runs(), active });
      }
      if (path === '/api/automation') return sendJson(res, 200, maskAutomation(await automationStatus(rt)));
      let m = /^\/api\/assets\/([^/]+)$/.exec(path);
      if (m) {
        const key = parse(assetKeySchema, decodeURIComponent(m[1]!), 'asset key');
        return sendJson(res, 200, await reader.asset(key, rangeOf(url)));
      }
      m = /^\/api\/runs\/([^/]+)$/.exec(path);
      if (m) {
        const id = parse(runIdSchema, decodeURIComponent(m[1]!), 'run id');
        const active = launcher.get(id);
        if (active && (active.phase === 'waiting' || active.phase === 'planning' || active.phase === 'error'))
          return sendJson(res, 200, { runId: id, phase: active.phase, error: active.error, events: [] });
        return sendJson(res, 200, { runId: id, phase: active?.phase, events: await reader.run(id) });
      }
      m = /^\/api\/runs\/([^/]+)\/events$/.exec(path);
      if (m) return streamRun(req, res, parse(runIdSchema, decodeURIComponent(m[1]!), 'run id'));
      m = /^\/api\/pages\/([^/]+)$/.exec(path);
      if (m) {
        const page = reader.pageOrThrow(parse(pageIdSchema, decodeURIComponent(m[1]!), 'page id'));
        return sendJson(res, 200, {
          id: page.id,
          title: page.title,
          partitions: await reader.pagePartitions(page),
        });
      }
      m = /^\/pages\/([^/]+)\/([^/]+)$/.exec(path);
      if (m) {
        const page = reader.pageOrThrow(parse(pageIdSchema, decodeURIComponent(m[1]!), 'page id'));
        const partition = parse(partitionSchema, decodeURIComponent(m[2]!), 'partition');
        const html = await reader.renderPage(page, partition);
        return send(res, 200, 'text/html; charset=utf-8', html, { 'content-security-policy': PAGE_CSP });
      }
      return sendJson(res, 404, { error: `no such path ${path}` });
    }

    const body = await readJson(req);
    if (path === '/api/runs') {
      const request = parse(launchSchema, body, 'run request');
      const run = launcher.launch(request);
      return sendJson(res, 202, { runId: run.runId, phase: run.phase });
    }
    const m = /^\/api\/runs\/([^/]+)\/cancel$/.exec(path);
    if (m) {
      const id = parse(runIdSchema, decodeURIComponent(m[1]!), 'run id');
      if (!launcher.cancel(id))
        return sendJson(res, 409, {
          error: `run ${id} is not in progress in this UI (a CLI run is cancelled with Ctrl-C in its terminal)`,
        });
      return sendJson(res, 202, { runId: id, cancelling: true });
    }
    return sendJson(res, 404, { error: `no such path ${path}` });
  }

  function streamRun(req: IncomingMessage, res: ServerResponse, runId: string): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
    });
    res.write(': run log\n\n');
    streams.add(res);
    const tail = tailRunLog(
      reader.runLogPath(runId),
      (line) => res.write(`data: ${maskLine(line)}\n\n`),
      () => {
        const a = launcher.get(runId);
        res.end(`event: end\ndata: ${JSON.stringify({ phase: a?.phase ?? 'done', error: a?.error })}\n\n`);
      },
      {
        stillExpected: () => {
          const a = launcher.get(runId);
          return !!a && a.phase !== 'error';
        },
      },
    );
    const stop = () => {
      tail.stop();
      streams.delete(res);
    };
    req.on('close', stop);
    res.on('close', stop);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  // Warm the plan the first page asks for (errors are answered to that page's requests).
  reader.snapshot().catch(() => {});
  const shown = host.includes(':') ? `[${host}]` : host;
  if (host === '127.0.0.1' || host === 'localhost') {
    guard.hosts.add(`127.0.0.1:${port}`);
    guard.hosts.add(`localhost:${port}`);
  } else if (host === '::1') guard.hosts.add(`[::1]:${port}`);
  else if (host !== '0.0.0.0' && host !== '::') guard.hosts.add(`${shown.toLowerCase()}:${port}`);

  return {
    url: `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : shown}:${port}/`,
    token,
    server,
    async close() {
      for (const s of streams) s.end();
      reader.close();
      await launcher.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The automation status with every message (reasons, freshness messages, run commands and errors) masked. */
function maskAutomation(s: AutomationStatus): AutomationStatus {
  const decision = <D extends { reason: string }>(d: D): D => ({ ...d, reason: maskSecrets(d.reason) });
  return {
    ...s,
    freshness: s.freshness.map((f) => ({ ...f, message: maskSecrets(f.message) })),
    ...(s.lastEvaluation && {
      lastEvaluation: { ...s.lastEvaluation, decisions: s.lastEvaluation.decisions.map(decision) },
    }),
    latestByAsset: s.latestByAsset.map(decision),
    runs: s.runs.map((r) => ({
      ...r,
      command: maskSecrets(r.command),
      ...(r.error !== undefined && { error: maskSecrets(r.error) }),
    })),
  };
}

function rangeOf(url: URL): Range {
  const o: Record<string, string> = {};
  for (const k of ['partition', 'from', 'to']) if (url.searchParams.has(k)) o[k] = url.searchParams.get(k)!;
  return parse(rangeSchema, o, 'range');
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/json'))
    throw new BadRequest('actions take a JSON body (content-type: application/json)', 415);
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new BadRequest('request body too large', 413);
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequest('the body is not JSON');
  }
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    ...extra,
    'content-type': type,
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  sendJsonText(res, status, JSON.stringify(value));
}

function sendJsonText(res: ServerResponse, status: number, json: string): void {
  send(res, status, 'application/json; charset=utf-8', json);
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function indexHtml(token: string, rt: Runtime): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="cityflow-token" content="${escapeHtml(token)}">
<title>CityFlow — ${escapeHtml(rt.project.file.split(/[\\/]/).slice(-2).join('/'))}</title>
<link rel="stylesheet" href="/app.css">
</head><body><div id="app" aria-live="polite">Loading…</div>
<script type="module" src="/app.js"></script></body></html>`;
}
