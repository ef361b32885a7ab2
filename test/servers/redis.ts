/**
 * Starts Debian's `redis-server` on a free 127.0.0.1 port, without persistence (`--save ''
 * --appendonly no`), in a temp dir. Used by the queue tests and bench. Stopped by the PID it spawned.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './dynamodb.ts';

export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

export interface RunningRedis extends AsyncDisposable {
  url: string;
  /** With `tls`: the CA that signed the server's certificate (PEM file), for NODE_EXTRA_CA_CERTS. */
  caFile?: string;
  port: number;
  pid: number | undefined;
  /** Stops the server (SIGTERM by PID, SIGKILL after 5 s); `restart` may start it again. */
  stop(): Promise<void>;
  /** Starts it again on the same port (after `stop`), empty. */
  restart(): Promise<void>;
  /** Stops the server for good and removes its folder (its TLS files, its working dir). */
  close(): Promise<void>;
}

function waitForPort(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.end();
        resolve();
      });
      s.on('error', () => {
        s.destroy();
        if (Date.now() > deadline)
          reject(new Error(`redis-server did not listen on ${port} within ${ms} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/**
 * A throw-away CA and a server certificate for 127.0.0.1 signed by it (openssl, P-256 keys), in `dir`.
 * Returns redis-server's TLS arguments and the CA file.
 */
function makeTlsFiles(dir: string): { args: string[]; caFile: string } {
  const f = (name: string): string => join(dir, name);
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl(
    'req',
    '-x509',
    ...key,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=cityflow test CA',
  );
  ssl('req', ...key, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(f('san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  ssl(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('server.pem'),
    '-days',
    '2',
    '-extfile',
    f('san.cnf'),
  );
  return {
    caFile: f('ca.pem'),
    args: [
      '--tls-cert-file',
      f('server.pem'),
      '--tls-key-file',
      f('server.key'),
      '--tls-ca-cert-file',
      f('ca.pem'),
      '--tls-auth-clients',
      'no',
    ],
  };
}

/**
 * `password`: the server requires it (`--requirepass`) and the URL carries it. `tls`: the server speaks
 * TLS only (`--tls-port`, plain port off), with a certificate signed by a CA of its own (`caFile`); the URL
 * is `rediss://`.
 */
export async function startRedis(opts: { password?: string; tls?: boolean } = {}): Promise<RunningRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'cityflow-redis-'));
  const tls = opts.tls ? makeTlsFiles(dir) : undefined;
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = spawn(
      REDIS_SERVER,
      [
        '--bind',
        '127.0.0.1',
        ...(tls ? ['--port', '0', '--tls-port', String(port), ...tls.args] : ['--port', String(port)]),
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        ...(opts.password ? ['--requirepass', opts.password] : []),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    await waitForPort(port, 10_000);
  };
  const stop = async (): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  const close = async (): Promise<void> => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  };
  await start();
  return {
    url: `${tls ? 'rediss' : 'redis'}://${opts.password ? `:${encodeURIComponent(opts.password)}@` : ''}127.0.0.1:${port}`,
    ...(tls && { caFile: tls.caFile }),
    port,
    get pid() {
      return child?.pid;
    },
    stop,
    restart: start,
    close,
    [Symbol.asyncDispose]: close,
  };
}
