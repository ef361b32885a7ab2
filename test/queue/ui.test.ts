/**
 * A run launched from `pipeline ui` with EXECUTOR=queue: computed by a `pipeline worker`, its events
 * streamed by the UI as for a local run, the state fresh afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RunningRedis } from '../servers/redis.ts';
import { makeProject, removeProject, startUiProcess, type UiProject } from '../ui/fixture-project.ts';
import { startWorker, stop, type Proc } from './helpers.ts';

let redis: RunningRedis;
let ui: UiProject;
let worker: Proc;

beforeAll(async () => {
  redis = await startRedis();
  const dir = await makeProject();
  const env = { REDIS_URL: redis.url, CITYFLOW_QUEUE: 'ui', SLOW_MS: '200', HOME: dir };
  worker = await startWorker(env, dir, 2);
  ui = await startUiProcess(dir, { ...env, EXECUTOR: 'queue' });
}, 60_000);
afterAll(async () => {
  await ui?.stop();
  if (worker) await stop(worker);
  await redis?.close();
  if (ui) await removeProject(ui.dir);
});

describe('pipeline ui with EXECUTOR=queue', () => {
  it('a launched run is computed by the worker; the UI streams its events and the state says fresh', async () => {
    const launched = await fetch(new URL('/api/runs', ui.url), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        origin: new URL(ui.url).origin,
        'x-cityflow-token': ui.token,
      },
      body: JSON.stringify({ select: '+per_city' }),
    });
    expect(launched.status).toBe(202);
    const { runId } = (await launched.json()) as { runId: string };
    const text = await (await fetch(new URL(`/api/runs/${runId}/events`, ui.url))).text();
    const events = text
      .split('\n\n')
      .filter((b) => b.startsWith('data: '))
      .map((b) => JSON.parse(b.slice(6)) as { type: string; asset?: string });
    expect(events.at(-1)).toMatchObject({ type: 'run_finished', status: 'success', materialized: 7 });
    expect(events.filter((e) => e.type === 'materialized').length).toBe(7);
    // Computed by the worker, not by the UI's process.
    expect((worker.err().match(/: start per_city\[/g) ?? []).length).toBe(6);
    expect(worker.err()).toContain(`(run ${runId})`);
    const graph = (await (await fetch(new URL('/api/graph', ui.url))).json()) as {
      statuses: Record<string, { status: string }>;
    };
    expect(graph.statuses.per_city!.status).toBe('fresh');
  }, 60_000);
});
