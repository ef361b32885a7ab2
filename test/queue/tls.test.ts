/**
 * `rediss://`: the queue over TLS, as with ElastiCache's in-transit encryption. A real redis-server
 * speaking TLS only, with a certificate of a CA of its own: trusted through NODE_EXTRA_CA_CERTS (Node's
 * own setting, no CityFlow one), the coordinator and a worker run the units; without it, one line and
 * exit 2 before anything runs; a `redis://` URL to the TLS port fails the same way.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RunningRedis } from '../servers/redis.ts';
import { slowProject, start, startWorker, stop, summary } from './helpers.ts';

let redis: RunningRedis;
let dir: string;

beforeAll(async () => {
  redis = await startRedis({ tls: true, password: 'tls-secret' });
  dir = await slowProject();
}, 60_000);
afterAll(async () => {
  await redis?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const envOf = (name: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  HOME: dir,
  OUTPUT_DIR: join(dir, `out-${name}`),
  STATE_DIR: join(dir, `state-${name}`),
  REDIS_URL: redis.url,
  CITYFLOW_QUEUE: name,
  ...extra,
});

describe('the queue over TLS (rediss://)', () => {
  it('a worker and the coordinator trust the CA given by NODE_EXTRA_CA_CERTS and run every unit', async () => {
    expect(redis.url).toMatch(/^rediss:\/\//);
    const env = envOf('tls', { NODE_EXTRA_CA_CERTS: redis.caFile });
    const worker = await startWorker(env, dir, 2);
    const run = await start(
      ['materialize', '--all', '--no-tui', '--json'],
      { ...env, EXECUTOR: 'queue' },
      dir,
    ).done;
    const w = await stop(worker);
    expect(run.code, run.stderr).toBe(0);
    expect(summary(run)).toMatchObject({ status: 'success', materialized: 8, failed: 0 });
    expect(w.stderr).toMatch(/start per_city\[paris\]/);
    // The password is in the URL: never shown.
    for (const text of [run.stdout, run.stderr, w.stdout, w.stderr]) expect(text).not.toContain('tls-secret');
    expect(run.stderr).toContain('rediss://:****@127.0.0.1');
  }, 90_000);

  it('a server certificate the machine does not trust: one line, exit 2, nothing run', async () => {
    const env = envOf('untrusted');
    const run = await start(['materialize', '--all', '--no-tui'], { ...env, EXECUTOR: 'queue' }, dir).done;
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /Redis at rediss:\/\/:\*\*\*\*@127\.0\.0\.1:\d+ is unreachable \(.*certificate.*\): trust its CA \(NODE_EXTRA_CA_CERTS=<CA file>\) or fix REDIS_URL; nothing was run/,
    );
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stderr).not.toContain('tls-secret');
  }, 30_000);

  it('a redis:// URL to a TLS-only server: one line, exit 2', async () => {
    const env = envOf('plain', { REDIS_URL: redis.url.replace(/^rediss:/, 'redis:') });
    const run = await start(['materialize', '--all', '--no-tui'], { ...env, EXECUTOR: 'queue' }, dir).done;
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /Redis at redis:\/\/:\*\*\*\*@127\.0\.0\.1:\d+ is unreachable .*nothing was run/,
    );
    expect(run.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);
});
