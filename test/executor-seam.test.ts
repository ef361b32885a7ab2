import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { threadId } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execute, plan, StateStore, type Executor, type RunEvent } from '../engine/index.ts';
import definitions, { writeFixtureData, type FixtureConfig } from './executor/fixture-defs.ts';
import { WorkerExecutor } from './executor/worker-executor.ts';

// The seam: the same plan run by the in-process executor and by a worker-thread executor written as one
// module outside the engine gives the same state, stored values, quarantine files and events.
const DEFS_URL = new URL('./executor/fixture-defs.ts', import.meta.url).href;
const DAYS = { from: '2025-11-03', to: '2025-11-04' };
const ASSETS = ['hourly_counts', 'daily_total', 'per_day', 'summary'];

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cityflow-seam-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** A project folder: counts for three hours (one with a bad file), lines for one of the two days. */
async function project(name: string, extra: Partial<FixtureConfig> = {}) {
  const dir = join(root, name);
  const data = join(dir, 'data');
  await writeFixtureData(data);
  const config: FixtureConfig = { dataDir: data, outDir: join(dir, 'out'), failDay: '2025-11-03', ...extra };
  const defs = definitions(config);
  const state = new StateStore(join(dir, 'state'));
  const run = async (executor?: Executor, signal?: AbortController) => {
    const events: RunEvent[] = [];
    const p = await plan(defs, state, { selected: new Set(ASSETS), days: DAYS });
    const result = await execute(defs, state, p, {
      concurrency: 3,
      executor,
      signal: signal?.signal,
      retry: { maxAttempts: 3, baseDelayMs: 1 },
      quarantineDir: join(dir, 'quarantine'),
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'progress' && e.asset === 'slow') signal?.abort();
      },
    });
    return { result, events };
  };
  return { dir, config, defs, state, run };
}

/** Every file under a folder (stored values, versions, quarantine), by relative path. */
async function files(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true }))
    if (e.isFile())
      out[relative(dir, join(e.parentPath, e.name))] = await readFile(join(e.parentPath, e.name), 'utf8');
  return out;
}

/** The index without what differs between two runs anyway (ids, times, paths, durations, threads, file stamps). */
function index(p: Awaited<ReturnType<typeof project>>) {
  const volatile = new Set([
    'runId',
    'at',
    'durationMs',
    'threadId',
    'location',
    'quarantineLocation',
    'sources',
    'storageStamp',
  ]);
  const strip = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(strip)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .filter(([k]) => !volatile.has(k))
              .map(([k, x]) => [k, strip(x)]),
          )
        : v;
  return Object.fromEntries(ASSETS.map((a) => [a, strip(p.state.partitionsOf(a))]));
}

/** What happened to each unit, in order per unit (units run concurrently, so not across units). */
function perUnit(events: RunEvent[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of events) {
    if (!('asset' in e) || !('partition' in e)) continue;
    const what =
      e.type === 'skipped'
        ? `skipped ${e.reason} ${e.detail ?? ''}`
        : e.type === 'failed'
          ? `failed ${e.error} (attempt ${e.attempt}${e.stack ? ', with stack' : ''})`
          : e.type === 'check'
            ? `check ${e.check} ${e.status}`
            : e.type === 'log'
              ? `log ${e.level} ${e.message}`
              : e.type === 'retry'
                ? `retry ${e.attempt} ${e.error}`
                : e.type === 'unit_started'
                  ? `started ${e.attempt}`
                  : e.type;
    (out[`${e.asset}[${e.partition}]`] ??= []).push(what);
  }
  return out;
}

const threadsOf = (events: RunEvent[]) =>
  new Set(
    events.flatMap((e) =>
      e.type === 'materialized' && e.metadata.threadId !== undefined ? [e.metadata.threadId] : [],
    ),
  );

describe('executor seam', () => {
  it('a worker-thread executor gives the same results, state, stored values and events as in-process', async () => {
    const local = await project('in-process');
    const remote = await project('workers');
    const workers = new WorkerExecutor({ definitions: DEFS_URL, config: remote.config, size: 2 });
    try {
      const a = await local.run();
      const b = await remote.run(workers);
      const { runId: _a, durationMs: _da, ...resultA } = a.result;
      const { runId: _b, durationMs: _db, ...resultB } = b.result;
      expect(resultA).toEqual({ status: 'failed', materialized: 7, skipped: 46, noData: 46, failed: 1 });
      expect(resultB).toEqual(resultA);
      expect(index(remote)).toEqual(index(local));
      expect(await files(remote.config.outDir)).toEqual(await files(local.config.outDir));
      expect(await files(join(remote.dir, 'quarantine'))).toEqual(await files(join(local.dir, 'quarantine')));
      expect(perUnit(b.events)).toEqual(perUnit(a.events));
      // What crossed the boundary really came back: a retry, a check, a log line, a batch's reports.
      expect(perUnit(b.events)['daily_total[2025-11-04]']).toEqual([
        'started 1',
        'retry 1 connection reset',
        'started 2',
        'log info 2 hours',
        'progress',
        'materialized',
      ]);
      expect(perUnit(b.events)['hourly_counts[2025-11-04T01]']).toEqual([
        'started 1',
        'check small warn',
        'materialized',
      ]);
      expect(perUnit(b.events)['per_day[2025-11-03]']).toEqual([
        'started 1',
        'skipped no_data no line that day',
      ]);
      expect(Object.keys(await files(join(remote.dir, 'quarantine')))).toEqual([
        'hourly_counts/2025-11-04T00.ndjson',
      ]);
      expect(perUnit(b.events)['summary[2025-11-03]']).toEqual([
        'started 1',
        'failed no summary for 2025-11-03 (attempt 1, with stack)',
      ]);
      // ... and was computed elsewhere: in-process units record this thread, the others never do.
      expect(threadsOf(a.events)).toEqual(new Set([threadId]));
      expect(threadsOf(b.events).size).toBeGreaterThan(0);
      expect(threadsOf(b.events).has(threadId)).toBe(false);

      // The state the scheduler recorded for the workers' units is complete: nothing left to do.
      const again = await remote.run(workers);
      expect(again.result).toMatchObject({ materialized: 0, failed: 1 }); // the failing summary, again
      expect(perUnit(again.events)['daily_total[2025-11-04]']).toEqual(['skipped up_to_date ']);
    } finally {
      await workers.close();
    }
  });

  it('cancelling the run aborts the unit computing in a worker', async () => {
    const p = await project('cancel', { slow: true });
    const workers = new WorkerExecutor({ definitions: DEFS_URL, config: p.config, size: 1 });
    try {
      const events: RunEvent[] = [];
      const abort = new AbortController();
      const pl = await plan(p.defs, p.state, { selected: new Set(['slow']), days: DAYS });
      const result = await execute(p.defs, p.state, pl, {
        executor: workers,
        signal: abort.signal,
        onEvent: (e) => {
          events.push(e);
          if (e.type === 'progress') abort.abort(); // it is computing in the worker now
        },
      });
      expect(result).toMatchObject({ status: 'cancelled', materialized: 0, failed: 0 });
      expect(perUnit(events)['slow[all]']).toEqual([
        'started 1',
        'progress',
        'skipped cancelled interrupted',
      ]);
    } finally {
      await workers.close();
    }
  });
});
