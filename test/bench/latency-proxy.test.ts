import { randomBytes } from 'node:crypto';
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLatencyProxy, type LatencyProxy } from '../../bench/latency-proxy.ts';

const ONE_WAY_MS = 40;

/** An echo server: sends back every byte it gets, ends when the client ends. */
let echo: Server;
let echoPort: number;
let proxy: LatencyProxy;

beforeAll(async () => {
  echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoPort = (echo.address() as { port: number }).port;
  proxy = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: echoPort, oneWayMs: ONE_WAY_MS });
});

afterAll(async () => {
  await proxy.close();
  await new Promise<void>((r) => echo.close(() => r()));
});

function connect(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: proxy.host, port: proxy.port }, () => resolve(s));
    s.once('error', reject);
  });
}

describe('latency proxy', () => {
  it('passes bytes through unchanged and in order, and ends when the peer ends', async () => {
    const s = await connect();
    // 2 MB in 64 chunks of 32 KB, written back to back: many delayed chunks in flight at once.
    const chunks = Array.from({ length: 64 }, () => randomBytes(32 * 1024));
    const received: Buffer[] = [];
    const done = new Promise<void>((r) => s.on('end', r));
    s.on('data', (b: Buffer) => received.push(b));
    for (const c of chunks) s.write(c);
    s.end();
    await done;
    expect(Buffer.concat(received).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('a round trip takes at least twice the one-way delay', async () => {
    const s = await connect();
    const t0 = performance.now();
    const back = new Promise<Buffer>((r) => s.once('data', r));
    s.write('ping');
    const got = await back;
    const rtt = performance.now() - t0;
    s.destroy();
    expect(got.toString()).toBe('ping');
    // client → echo (40 ms) + echo → client (40 ms); timers may fire ~1 ms early/late.
    expect(rtt).toBeGreaterThanOrEqual(2 * ONE_WAY_MS - 2);
    expect(rtt).toBeLessThan(2 * ONE_WAY_MS + 500);
  });
});
