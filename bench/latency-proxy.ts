/**
 * A TCP proxy on 127.0.0.1 that adds a fixed one-way delay to every chunk in each direction, so the
 * benches can show what parallelism and batching buy with real network round trips. Loopback has no
 * latency at all (a round trip is ~50 µs), which hides exactly what overlapping requests saves.
 *
 * Simulated latency only: no bandwidth limit, no jitter, no loss. Each direction of each connection
 * has its own FIFO queue, drained by one timer, so bytes keep their order; a full destination pauses
 * the source (backpressure). Half-close (`end`) is delayed like data.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface LatencyProxyOptions {
  targetHost: string;
  targetPort: number;
  /** Delay added to every chunk in each direction (ms). A round trip costs twice this. */
  oneWayMs: number;
}

export interface LatencyProxy {
  host: string;
  port: number;
  /** `http://127.0.0.1:PORT`, handy for HTTP endpoints. */
  url: string;
  close(): Promise<void>;
}

/** Forwards `from` to `to`, each chunk (and the final `end`) `delayMs` after it arrived. */
function delayedPipe(from: Socket, to: Socket, delayMs: number): void {
  const queue: { at: number; chunk: Buffer | null }[] = [];
  let timer: NodeJS.Timeout | undefined;
  const drain = (): void => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && queue[0]!.at <= now) {
      const { chunk } = queue.shift()!;
      if (to.destroyed) return;
      if (chunk === null) {
        to.end();
        return;
      }
      if (!to.write(chunk) && !from.isPaused()) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    }
    if (queue.length > 0) timer = setTimeout(drain, Math.max(0, queue[0]!.at - performance.now()));
  };
  const push = (chunk: Buffer | null): void => {
    queue.push({ at: performance.now() + delayMs, chunk });
    timer ??= setTimeout(drain, delayMs);
  };
  from.on('data', (chunk: Buffer) => push(chunk));
  from.on('end', () => push(null));
  from.on('close', () => {
    // A reset (not a clean end) is passed on at once: nothing more will come from this side.
    if (queue.length === 0 && !to.destroyed && !to.writableEnded) to.destroy();
  });
  to.on('close', () => {
    if (timer) clearTimeout(timer);
    queue.length = 0;
  });
}

export async function startLatencyProxy(opts: LatencyProxyOptions): Promise<LatencyProxy> {
  const sockets = new Set<Socket>();
  // allowHalfOpen: a side that ends only stops sending; the other direction keeps flowing until it
  // ends too (otherwise Node would close the reply path the moment a request side is done).
  const server: Server = createServer({ noDelay: true, allowHalfOpen: true }, (client) => {
    const upstream = createConnection({
      host: opts.targetHost,
      port: opts.targetPort,
      noDelay: true,
      allowHalfOpen: true,
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    delayedPipe(client, upstream, opts.oneWayMs);
    delayedPipe(upstream, client, opts.oneWayMs);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('latency proxy: no TCP address');
  return {
    host: '127.0.0.1',
    port: address.port,
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
