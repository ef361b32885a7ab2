/**
 * A fault-injecting HTTP proxy for tests: listens on 127.0.0.1 in front of a real server (the Ceph
 * gateway) and forwards every request unchanged, except the ones a rule matches, which get a fault:
 *
 * - `status`: an HTTP error with an S3 XML error body (500 InternalError, 503 SlowDown…), upstream not contacted;
 * - `drop`: the connection is destroyed before any response byte (the client sees a socket hang up / reset);
 * - `reset-mid-body`: the real upstream response's headers and the first `afterBytes` body bytes, then a reset;
 * - `short-body`: the real headers (full Content-Length) but `missingBytes` fewer body bytes, then the
 *   socket is closed cleanly (FIN), i.e. a body shorter than its Content-Length.
 *
 * `refuseConnections()` closes the listening port (new connections get ECONNREFUSED); `acceptConnections()`
 * listens again on the same port. Every request is recorded (method, path, fault, status, body bytes sent)
 * so tests can count attempts and retries at the wire, not in the client.
 */
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  | { kind: 'status'; status: number; code: string; message?: string }
  | { kind: 'drop' }
  | { kind: 'reset-mid-body'; afterBytes: number }
  | { kind: 'short-body'; missingBytes: number };

export interface RequestInfo {
  method: string;
  /** Path without the query string, URL-decoded (e.g. `/bucket/raw/api/x.json`). */
  path: string;
  /** Raw query string without `?` (e.g. `list-type=2&prefix=raw%2F`). */
  query: string;
}

export interface RequestRecord extends RequestInfo {
  /** Time since the proxy started (ms). */
  atMs: number;
  fault?: Fault['kind'];
  status?: number;
  /** Response body bytes written to the client. */
  bodyBytes: number;
}

export interface FaultRule {
  match: (req: RequestInfo) => boolean;
  fault: Fault;
  /** How many matching requests get the fault; then the rule is spent. Default: every one. */
  times?: number;
}

/** The XML error body S3 sends (`<Error><Code>SlowDown</Code>…`). */
export function s3ErrorXml(code: string, message: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>` +
    `<RequestId>fault-proxy</RequestId><HostId>fault-proxy</HostId></Error>`
  );
}

export class FaultProxy {
  readonly requests: RequestRecord[] = [];
  private rules: { rule: FaultRule; left: number }[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly started = Date.now();
  private listening = false;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

  private constructor(
    private readonly upstream: URL,
    private readonly server: http.Server,
    readonly port: number,
  ) {}

  /** Starts a proxy to `upstream` (e.g. `http://127.0.0.1:7480`) on a free 127.0.0.1 port. */
  static async start(upstream: string): Promise<FaultProxy> {
    const server = http.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const proxy = new FaultProxy(new URL(upstream), server, (server.address() as AddressInfo).port);
    proxy.listening = true;
    server.on('connection', (s: Socket) => {
      proxy.sockets.add(s);
      s.on('close', () => proxy.sockets.delete(s));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => proxy.handle(req, res));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Adds a rule; rules are tried in the order added, the first matching live one applies. */
  inject(rule: FaultRule): this {
    this.rules.push({ rule, left: rule.times ?? Infinity });
    return this;
  }

  clearFaults(): void {
    this.rules = [];
  }

  resetLog(): void {
    this.requests.length = 0;
  }

  /** Requests seen that match, e.g. `count((r) => r.method === 'GET')`. */
  count(pred: (r: RequestRecord) => boolean = () => true): number {
    return this.requests.filter(pred).length;
  }

  /** Closes the port (and every open connection): new connections are refused. */
  async refuseConnections(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Listens again on the same port. */
  async acceptConnections(): Promise<void> {
    if (this.listening) return;
    this.server.listen(this.port, '127.0.0.1');
    await once(this.server, 'listening');
    this.listening = true;
  }

  async close(): Promise<void> {
    await this.refuseConnections();
    this.agent.destroy();
  }

  private pickFault(info: RequestInfo): Fault | undefined {
    for (const r of this.rules) {
      if (r.left > 0 && r.rule.match(info)) {
        r.left--;
        return r.rule.fault;
      }
    }
    return undefined;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const info: RequestInfo = {
      method: req.method ?? 'GET',
      path: safeDecode(q < 0 ? raw : raw.slice(0, q)),
      query: q < 0 ? '' : raw.slice(q + 1),
    };
    const fault = this.pickFault(info);
    const rec: RequestRecord = { ...info, atMs: Date.now() - this.started, bodyBytes: 0 };
    if (fault) rec.fault = fault.kind;
    this.requests.push(rec);

    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      req.resume(); // drain the request body
      const body = info.method === 'HEAD' ? '' : s3ErrorXml(fault.code, fault.message ?? fault.code);
      rec.status = fault.status;
      res.writeHead(fault.status, {
        'content-type': 'application/xml',
        'content-length': Buffer.byteLength(body),
        'x-amz-request-id': 'fault-proxy',
      });
      rec.bodyBytes = Buffer.byteLength(body);
      res.end(body);
      return;
    }

    const up = http.request(
      {
        host: this.upstream.hostname,
        port: this.upstream.port,
        method: req.method,
        path: raw,
        headers: req.headers, // host included: the signature covers it
        agent: this.agent,
      },
      (upRes) => this.relay(upRes, res, rec, fault),
    );
    up.on('error', () => req.socket.destroy());
    req.pipe(up);
  }

  private relay(upRes: IncomingMessage, res: ServerResponse, rec: RequestRecord, fault?: Fault): void {
    rec.status = upRes.statusCode ?? 0;
    res.writeHead(upRes.statusCode ?? 502, upRes.rawHeaders);
    const declared = Number(upRes.headers['content-length'] ?? NaN);
    // Only truncate responses with a body; others pass through untouched.
    const limit =
      fault?.kind === 'reset-mid-body'
        ? fault.afterBytes
        : fault?.kind === 'short-body' && Number.isFinite(declared)
          ? Math.max(0, declared - fault.missingBytes)
          : Infinity;
    if (limit === Infinity) {
      upRes.on('data', (c: Buffer) => {
        rec.bodyBytes += c.length;
        res.write(c);
      });
      upRes.on('end', () => res.end());
      upRes.on('error', () => res.destroy());
      return;
    }
    let cutDone = false;
    const cut = (): void => {
      if (cutDone) return;
      cutDone = true;
      upRes.destroy();
      if (fault?.kind === 'reset-mid-body') {
        // Let the partial body reach the client, then reset (RST) the connection.
        res.socket?.resetAndDestroy();
      } else {
        // Headers promised more bytes: close the connection cleanly (FIN) after what was written.
        res.socket?.end();
      }
    };
    upRes.on('data', (c: Buffer) => {
      const room = limit - rec.bodyBytes;
      if (room <= 0) return;
      const part = c.subarray(0, room);
      rec.bodyBytes += part.length;
      const reached = rec.bodyBytes >= limit;
      // Cut once the partial body has been handed to the socket.
      res.write(part, () => reached && cut());
      if (reached) upRes.pause();
    });
    upRes.on('end', () => {
      if (rec.bodyBytes < limit) cut(); // body smaller than the cut point: cut at its end
    });
    if (limit === 0) {
      // Nothing of the body at all: flush the headers, then cut.
      res.flushHeaders();
      cut();
    }
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
