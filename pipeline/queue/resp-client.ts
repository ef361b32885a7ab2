import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/**
 * A minimal Redis client (RESP2 over one TCP or TLS socket) with the shape of Bun's built-in `RedisClient`
 * (`send`, `connect`, `close`, `connected`, `onconnect`, `onclose`, `duplicate`), which BullMQ 6 drives
 * through its own `createBunRedisClient` adapter (scripts, transactions, reconnects, blocking commands).
 *
 * Why it exists: BullMQ 6 made its Redis driver an optional peer dependency and neither `ioredis` nor
 * `redis` is installed in this repository. Once `ioredis` is added to package.json, connection.ts can
 * let BullMQ create its ioredis clients instead and this module can go (see docs/scale-out.md).
 */
export class RespClient {
  connected = false;
  onconnect: (() => void) | undefined;
  onclose: ((error?: Error) => void) | undefined;
  /** Replies nobody asked for: pub/sub messages (`['message', channel, payload]`) after SUBSCRIBE. */
  onpush: ((reply: unknown) => void) | undefined;
  private socket: Socket | undefined;
  private readonly pending: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private closing = false;
  private connecting: Promise<void> | undefined;

  constructor(readonly url: string) {}

  /** A new, unconnected client to the same server (BullMQ uses one per blocking connection). */
  async duplicate(): Promise<RespClient> {
    return new RespClient(this.url);
  }

  connect(): Promise<void> {
    if (this.connected) return Promise.resolve();
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  close(): void {
    this.closing = true;
    this.socket?.destroy();
  }

  send<T = unknown>(command: string, args: readonly (string | Buffer | number)[] = []): Promise<T> {
    const socket = this.socket;
    if (!socket || !this.connected || socket.destroyed) return Promise.reject(new Error('Connection closed'));
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ resolve: resolve as (v: unknown) => void, reject });
      socket.write(encode(command, args));
    });
  }

  get(key: string): Promise<string | null> {
    return this.send('GET', [key]) as Promise<string | null>;
  }

  smembers(key: string): Promise<string[]> {
    return this.send('SMEMBERS', [key]) as Promise<string[]>;
  }

  incr(key: string): Promise<number> {
    return this.send('INCR', [key]) as Promise<number>;
  }

  private async open(): Promise<void> {
    const u = new URL(this.url);
    const port = Number(u.port || 6379);
    const host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
    this.closing = false;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s =
        u.protocol === 'rediss:'
          ? tlsConnect({ host, port, servername: host }, () => resolve(s))
          : netConnect({ host, port }, () => resolve(s));
      s.once('error', reject);
    });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined); // 'close' follows and says so
    socket.once('close', () => {
      const wasConnected = this.connected;
      this.connected = false;
      this.socket = undefined;
      const err = new Error('Connection closed');
      for (const p of this.pending.splice(0)) p.reject(err);
      if (wasConnected) this.onclose?.(this.closing ? undefined : err);
    });
    this.connected = true;
    try {
      const password = u.password ? decodeURIComponent(u.password) : undefined;
      const username = u.username ? decodeURIComponent(u.username) : undefined;
      if (password) await this.send('AUTH', username ? [username, password] : [password]);
      const db = u.pathname.replace(/^\//, '');
      if (db && db !== '0') await this.send('SELECT', [db]);
    } catch (err) {
      this.close();
      throw err;
    }
    this.onconnect?.();
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      const parsed = parse(this.buffer, 0);
      if (!parsed) return;
      this.buffer = this.buffer.subarray(parsed.end);
      const p = this.pending.shift();
      if (!p) {
        this.onpush?.(parsed.value);
        continue;
      }
      if (parsed.value instanceof Error) p.reject(parsed.value);
      else p.resolve(parsed.value);
    }
  }
}

function encode(command: string, args: readonly (string | Buffer | number)[]): Buffer {
  const parts: Buffer[] = [
    Buffer.from(`*${args.length + 1}\r\n$${Buffer.byteLength(command)}\r\n${command}\r\n`),
  ];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, CRLF);
  }
  return Buffer.concat(parts);
}
const CRLF = Buffer.from('\r\n');

type Reply = string | number | null | Error | Reply[];

/** One RESP2 reply from `at`, or undefined when the buffer does not hold all of it yet. */
function parse(buf: Buffer, at: number): { value: Reply; end: number } | undefined {
  if (at >= buf.length) return undefined;
  const eol = buf.indexOf(CRLF, at);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[at]!);
  const line = buf.toString('utf8', at + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new Error(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const len = Number(line);
      if (len < 0) return { value: null, end: next };
      if (buf.length < next + len + 2) return undefined;
      return { value: buf.toString('utf8', next, next + len), end: next + len + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      const items: Reply[] = [];
      let pos = next;
      for (let i = 0; i < n; i++) {
        const item = parse(buf, pos);
        if (!item) return undefined;
        items.push(item.value);
        pos = item.end;
      }
      return { value: items, end: pos };
    }
    default:
      throw new Error(`Redis protocol error: unexpected reply type ${JSON.stringify(type)}`);
  }
}
