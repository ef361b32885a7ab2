/**
 * What keeps a local web UI from being driven by other sites: the Host header must name this server
 * (DNS rebinding), cross-origin requests are refused (Origin, Sec-Fetch-Site), and actions need the
 * per-session token the server put in its own page (a page of another origin cannot read it).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const TOKEN_HEADER = 'x-cityflow-token';

export const newSessionToken = (): string => randomBytes(24).toString('base64url');

export interface Guard {
  token: string;
  /** Host header values accepted (`127.0.0.1:PORT`, `localhost:PORT`, …); empty = any (a --host of 0.0.0.0). */
  hosts: Set<string>;
}

/** Why the request is refused (a 403 message), or undefined. */
export function refuse(req: IncomingMessage, guard: Guard, action: boolean): string | undefined {
  const host = req.headers.host ?? '';
  if (guard.hosts.size && !guard.hosts.has(host.toLowerCase())) return `unexpected Host header "${host}"`;
  const site = req.headers['sec-fetch-site'];
  if (site && site !== 'same-origin' && site !== 'none') return `cross-origin request refused (${site})`;
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${host}`) return `cross-origin request refused (${origin})`;
  if (action) {
    // A browser sends Origin on every POST; a request without it is not from this page either.
    if (origin === undefined) return 'actions need an Origin header (this page sends one)';
    const given = req.headers[TOKEN_HEADER];
    if (typeof given !== 'string' || !sameSecret(given, guard.token)) return 'missing or wrong session token';
  }
  return undefined;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Headers on every response: no caching, no sniffing, no framing by others, scripts only from here. */
export const SECURITY_HEADERS: Record<string, string> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'",
};

/** A project page (self-contained HTML): no script at all, inline styles and data: images only. */
export const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; base-uri 'none'";
