/**
 * The UI's reads after the state changes (pipeline/ui/api.ts UiReader, in process, on a two-asset
 * project): a record written by another store shows in the graph, matrix and asset answers at once; an
 * output deleted behind the engine's back and a raw file changed without a run show once the snapshot's
 * checks reach their maximum age (here 300 ms), whether a page or the background re-check asks.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapStorageIO } from '../map-storage.ts';
import { z } from 'zod';
import {
  daily,
  defineAsset,
  defineDefinitions,
  defineSource,
  dep,
  identity,
  StateStore,
  unitId,
  type SourceIO,
} from '../../engine/index.ts';
import type { Runtime } from '../../pipeline/runtime.ts';
import { UiReader } from '../../pipeline/ui/api.ts';

const DAYS = ['2025-06-01', '2025-06-02', '2025-06-03'];
const raw = defineSource({
  key: 'raw',
  partitions: daily({ start: '2025-06-01' }),
  locate: (p) => ({ prefix: `api/x/dt=${p}`, match: /\.json$/ }),
});
const a = defineAsset({
  key: 'a',
  partitions: daily({ start: '2025-06-01' }),
  schema: z.number(),
  deps: { raw: dep(raw, identity()) },
  codeVersion: 'c',
  compute: () => 1,
});
const b = defineAsset({
  key: 'b',
  partitions: daily({ start: '2025-06-01' }),
  schema: z.number(),
  deps: { a: dep(a, identity()) },
  codeVersion: 'c',
  compute: () => 1,
});
const storage = new Map<string, string>();
const rawVersions = new Map<string, string>();
const io = mapStorageIO(storage);
const sources: SourceIO = {
  name: 'test',
  observe: async ({ prefix }) => ({
    dataVersion: rawVersions.get(prefix.slice(-10)) ?? 'r1',
    fileCount: 1,
    bytes: 1,
  }),
  resolve: async () => ({ files: [], origin: 'test' }),
  listFolders: async (prefix) => (prefix === 'api' ? ['x'] : DAYS.map((d) => `dt=${d}`)),
};

let dir: string;
let reader: UiReader;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityflow-ui-reader-'));
  const state = new StateStore(join(dir, 'state'));
  for (const d of DAYS) {
    for (const [k, input] of [
      ['a', { [`raw@${d}`]: 'r1' }],
      ['b', { [`a@${d}`]: `a-${d}` }],
    ] as const) {
      const dataVersion = `${k}-${d}`;
      state.recordSuccess(k, d, {
        dataVersion,
        codeVersion: 'c',
        inputVersions: input,
        runId: 'r0',
        at: 't',
        metadata: { bytes: 1, durationMs: 1, location: 'x', dataVersion },
      });
      storage.set(unitId(k, d), dataVersion);
    }
  }
  await state.flush();
  const defs = defineDefinitions({ assets: [raw, a, b], io: { default: io }, sources });
  const rt = {
    config: { dataDir: dir, rawFromS3: false, stateDir: join(dir, 'state'), outputDir: join(dir, 'out') },
    defs,
    state,
    indexBackend: state.backend,
    pages: [],
    quarantineDir: join(dir, 'out', '_quarantine'),
  } as unknown as Runtime;
  reader = new UiReader(rt, 300);
});
afterAll(async () => {
  reader?.close();
  await rm(dir, { recursive: true, force: true });
});

type Graph = { statuses: Record<string, { status: string }> };
type Matrix = { columns: string[]; rows: { asset: string; cells: string }[] };
const statuses = async () =>
  Object.fromEntries(
    Object.entries((JSON.parse(await reader.graphJson({})) as Graph).statuses).map(([k, v]) => [k, v.status]),
  );
const cells = async () =>
  Object.fromEntries((JSON.parse(await reader.matrixJson({})) as Matrix).rows.map((r) => [r.asset, r.cells]));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('UiReader after the state changes', () => {
  it('shows a record of another store at once, and what changed behind the engine after the maximum age', async () => {
    expect(await statuses()).toEqual({ raw: 'source', a: 'fresh', b: 'fresh' });
    expect(await cells()).toEqual({ raw: 'ooo', a: 'rrr', b: 'rrr' });

    // Another store (another process) records a failed attempt of a[06-02]: every answer says so at once.
    const other = new StateStore(join(dir, 'state'));
    other.recordFailure('a', '2025-06-02', { runId: 'r1', at: 't', error: 'boom' });
    await other.flush();
    expect(await statuses()).toEqual({ raw: 'source', a: 'failed', b: 'stale' });
    expect(await cells()).toEqual({ raw: 'ooo', a: 'rxr', b: 'rsr' });
    const detail = await reader.asset('a', {});
    expect(detail.units.find((u) => u.partition === '2025-06-02')?.record?.lastFailure?.error).toBe('boom');

    // Behind the engine's back: b[06-03]'s output deleted, a new raw file for 06-01. Seen once the
    // checks are older than the maximum age (the background re-check or the next request re-does them).
    storage.delete(unitId('b', '2025-06-03'));
    rawVersions.set('2025-06-01', 'r2');
    await sleep(400);
    expect(await cells()).toEqual({ raw: 'ooo', a: 'sxr', b: 'ssm' });
    expect(await statuses()).toEqual({ raw: 'source', a: 'failed', b: 'missing' });
  });
});
