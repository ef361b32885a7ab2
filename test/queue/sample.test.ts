/**
 * The bundled sample (this repository's Paris config) materialized through BullMQ on a real
 * `redis-server` by three `pipeline worker` processes: the same bytes and the same index as an
 * in-process run, the same events in the run log; and what a coordinator says when Redis is missing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchProject } from '../faults/cli-process.ts';
import { freePort } from '../servers/dynamodb.ts';
import { startRedis, type RunningRedis } from '../servers/redis.ts';
import { files, index, runEvents, start, startWorker, stop, summary, type Proc } from './helpers.ts';

let redis: RunningRedis;
let root: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  redis = await startRedis();
  ({ root, env } = await scratchProject('cityflow-queue-sample-'));
}, 60_000);
afterAll(async () => {
  await redis?.close();
  await rm(root, { recursive: true, force: true });
});

describe('the sample through the queue', () => {
  it('3 workers give byte-identical outputs, the same index and the same unit events as an in-process run', async () => {
    const local = { ...env, OUTPUT_DIR: join(root, 'out-local'), STATE_DIR: join(root, 'state-local') };
    const queued = {
      ...env,
      OUTPUT_DIR: join(root, 'out-queue'),
      STATE_DIR: join(root, 'state-queue'),
      REDIS_URL: redis.url,
      CITYFLOW_QUEUE: 'sample',
    };
    const ref = await start(['materialize', '--all', '--json', '--no-tui'], local).done;
    expect(ref.code, ref.stderr).toBe(0);

    const workers: Proc[] = await Promise.all([1, 2, 3].map(() => startWorker(queued, undefined, 2)));
    const run = await start(['materialize', '--all', '--json', '--no-tui'], { ...queued, EXECUTOR: 'queue' })
      .done;
    const stopped = await Promise.all(workers.map(stop));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/Units run by BullMQ workers .* queue sample at redis:\/\/127\.0\.0\.1:\d+/);
    // Every worker exits 0 on SIGTERM, and the units were spread over them.
    for (const s of stopped) expect(s.code, s.stderr).toBe(0);
    const started = stopped.map((s) => (s.stderr.match(/: start /g) ?? []).length);
    expect(started.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);

    const a = summary(ref);
    const b = summary(run);
    expect(b.status).toBe('success');
    expect(b.materialized).toBe(a.materialized);
    // (fewer jobs than units: a batch asset computes all its partitions in one job)

    const outLocal = await files(local.OUTPUT_DIR);
    const outQueue = await files(queued.OUTPUT_DIR);
    expect(outLocal.size).toBeGreaterThan(50);
    expect([...outQueue.keys()].sort()).toEqual([...outLocal.keys()].sort());
    for (const [k, v] of outLocal) expect(outQueue.get(k), k).toBe(v);
    expect(await index(queued.STATE_DIR)).toEqual(await index(local.STATE_DIR));

    // The run log has the same units, each materialized once, with the compute's own log lines.
    const units = async (stateDir: string, runId: string) => {
      const events = await runEvents(stateDir, runId);
      return {
        materialized: events
          .filter((e) => e.type === 'materialized')
          .map((e) => `${(e as { asset: string }).asset}[${(e as { partition: string }).partition}]`)
          .sort(),
        logs: events.filter((e) => e.type === 'log').length,
        checks: events.filter((e) => e.type === 'check').length,
      };
    };
    const ul = await units(local.STATE_DIR, a.runId);
    const uq = await units(queued.STATE_DIR, b.runId);
    expect(uq.materialized).toEqual(ul.materialized);
    expect(new Set(uq.materialized).size).toBe(uq.materialized.length);
    expect(uq.checks).toBe(ul.checks);
    expect(uq.logs).toBe(ul.logs);

    // `runs show` replays the queued run like a local one.
    const show = await start(['runs', 'show', b.runId, '--no-tui'], queued).done;
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/✓ materialized daily_report\[2025-11-04\]/);
  }, 150_000);

  it('Redis unreachable: one line, exit 2, nothing built', async () => {
    const port = await freePort();
    const out = join(root, 'out-unreachable');
    const r = await start(['materialize', '--all', '--no-tui'], {
      ...env,
      OUTPUT_DIR: out,
      STATE_DIR: join(root, 'state-unreachable'),
      EXECUTOR: 'queue',
      REDIS_URL: `redis://app:s3cretpw@127.0.0.1:${port}/0`,
    }).done;
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `Redis at redis://app:\\*\\*\\*\\*@127\\.0\\.0\\.1:${port}/0 is unreachable .*nothing was run`,
      ),
    );
    expect(r.stderr).not.toContain('s3cretpw');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect((await files(out)).size).toBe(0);
  }, 30_000);

  it('a bad REDIS_URL or EXECUTOR: what to fix, exit 2, the password masked', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cityflow-queue-env-'));
    const bad = await start(['materialize', '--all'], {
      ...env,
      STATE_DIR: dir,
      EXECUTOR: 'queue',
      REDIS_URL: 'http://app:s3cretpw@127.0.0.1:6379',
    }).done;
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /REDIS_URL \(got "http:\/\/app:\*\*\*\*@127\.0\.0\.1:6379"\): must be a redis:\/\/ or rediss:\/\/ URL/,
    );
    expect(bad.stderr).not.toContain('s3cretpw');
    const missing = await start(['materialize', '--all'], { ...env, STATE_DIR: dir, EXECUTOR: 'queue' }).done;
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/REDIS_URL: required because EXECUTOR=queue/);
    const typo = await start(['materialize', '--all'], { ...env, STATE_DIR: dir, EXECUTOR: 'celery' }).done;
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/EXECUTOR \(got "celery"\): must be local or queue/);
    const shown = await start(['env'], {
      ...env,
      STATE_DIR: dir,
      EXECUTOR: 'queue',
      REDIS_URL: 'redis://app:s3cretpw@127.0.0.1:6379/2',
    }).done;
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('EXECUTOR=queue\n');
    expect(shown.stdout).toContain('REDIS_URL=redis://app:****@127.0.0.1:6379/2\n');
    expect(shown.stdout).not.toContain('s3cretpw');
    const worker = await start(['worker'], { ...env, STATE_DIR: dir }).done;
    expect(worker.code).toBe(2);
    expect(worker.stderr).toMatch(/REDIS_URL: required by pipeline worker/);
    await rm(dir, { recursive: true, force: true });
  }, 60_000);
});
