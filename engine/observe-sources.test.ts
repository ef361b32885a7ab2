import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { mapStorageIO } from '../test/map-storage.ts';
import {
  daily,
  defineAsset,
  defineDefinitions,
  defineSource,
  dep,
  identity,
  plan,
  StateStore,
} from './index.ts';
import type { SourceIO, SourceLocation, SourceObservation } from './io.ts';
import { OBSERVE_CHUNK, observeSources } from './observe-sources.ts';
import { NO_DATA } from './asset-context.ts';

/** Days 01–04: 02 has no file, 03 cannot be read, 04's location cannot even be computed. */
const raw = defineSource({
  key: 'raw',
  partitions: daily({ start: '2025-06-01' }),
  locate: (p) => {
    if (p.endsWith('04')) throw new Error('no folder for the 4th');
    return { prefix: `d/${p}` };
  },
});
const day = defineAsset({
  key: 'day',
  partitions: daily({ start: '2025-06-01' }),
  schema: z.number(),
  deps: { raw: dep(raw, identity()) },
  codeVersion: 'c1',
  compute: () => 1,
});

const observeOne = async ({ prefix }: SourceLocation): Promise<SourceObservation> => {
  if (prefix.endsWith('03')) throw new Error(`EACCES: ${prefix}`);
  return prefix.endsWith('02')
    ? { dataVersion: 'empty', fileCount: 0, bytes: 0 }
    : { dataVersion: `v-${prefix}`, fileCount: 1, bytes: 1 };
};
const base = { resolve: async () => ({ files: [], origin: 'test' }), listFolders: async () => [] };
/** Observes one location at a time. */
const single: SourceIO = { name: 'single', observe: observeOne, ...base };
/** Observes them all at once, and never one by one. */
const batches: SourceLocation[][] = [];
const batched: SourceIO = {
  name: 'batched',
  observe: () => Promise.reject(new Error('observe called: observeMany expected')),
  observeMany: async (locations) => {
    batches.push([...locations]);
    return Promise.allSettled(locations.map(observeOne));
  },
  ...base,
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityflow-observe-many-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const planWith = (sources: SourceIO) =>
  plan(
    defineDefinitions({ assets: [raw, day], io: { default: mapStorageIO(new Map()) }, sources }),
    new StateStore(dir),
    {
      selected: new Set(['raw', 'day']),
      days: { from: '2025-06-01', to: '2025-06-04' },
    },
  );
const shown = (p: Awaited<ReturnType<typeof planWith>>) =>
  p.units.map((u) => [u.id, u.decision, u.dataVersion, u.reasons.map((r) => r.kind)]);

describe('plan: source observations through observeMany', () => {
  it('one call for every source unit, in order; the same plan as observing one by one', async () => {
    batches.length = 0;
    const one = await planWith(single);
    const many = await planWith(batched);
    expect(batches.map((b) => b.map((l) => l.prefix))).toEqual([
      ['d/2025-06-01', 'd/2025-06-02', 'd/2025-06-03'],
    ]);
    expect(shown(many)).toEqual(shown(one));
    // Each failure is its own unit's: no data, unreadable, unlocatable.
    expect(many.units.filter((u) => u.asset === 'raw').map((u) => u.dataVersion)).toEqual([
      'v-d/2025-06-01',
      NO_DATA,
      'unobservable:EACCES: d/2025-06-03',
      'unobservable:no folder for the 4th',
    ]);
  });

  it('a fatal failure stops the plan, through either path', async () => {
    const denied = Object.assign(new Error('AccessDenied'), { fatal: true });
    const fatalOne: SourceIO = { ...single, observe: () => Promise.reject(denied) };
    const fatalMany: SourceIO = {
      ...batched,
      observeMany: async (locations) => locations.map(() => ({ status: 'rejected', reason: denied })),
    };
    await expect(planWith(fatalOne)).rejects.toBe(denied);
    await expect(planWith(fatalMany)).rejects.toBe(denied);
  });
});

/** One unit, `a`, observed through `io`; its result is dropped. */
const observeA = (io: SourceIO, signal?: AbortSignal) =>
  observeSources(
    io,
    ['a'],
    (prefix) => ({ prefix }),
    () => {},
    signal,
  );

describe('observeSources', () => {
  it('observes in chunks of OBSERVE_CHUNK, and hands every result over in order', async () => {
    const sizes: number[] = [];
    const echo: SourceIO = {
      ...single,
      observeMany: async (locations) => {
        sizes.push(locations.length);
        return locations.map(({ prefix }) => ({
          status: 'fulfilled',
          value: { dataVersion: prefix, fileCount: 1, bytes: 1 },
        }));
      },
    };
    const units = Array.from({ length: 2 * OBSERVE_CHUNK + 5 }, (_, i) => `d/${i}`);
    const seen: string[] = [];
    await observeSources(
      echo,
      units,
      (prefix) => ({ prefix }),
      (unit, r, location) =>
        seen.push(
          r.status === 'fulfilled' && r.value.dataVersion === unit && location?.prefix === unit
            ? unit
            : 'mixed up',
        ),
    );
    expect(sizes).toEqual([OBSERVE_CHUNK, OBSERVE_CHUNK, 5]);
    expect(seen).toEqual(units);
  });

  it('a unit whose location cannot be computed is handed over rejected, without a location', async () => {
    const got: unknown[] = [];
    await observeSources(
      single,
      ['d/1', 'none'],
      (prefix) => {
        if (prefix === 'none') throw new Error('no folder');
        return { prefix };
      },
      (unit, r, location) => got.push([unit, r.status, location?.prefix]),
    );
    expect(got).toEqual([
      ['d/1', 'fulfilled', 'd/1'],
      ['none', 'rejected', undefined],
    ]);
  });

  it('refuses a backend that answers for fewer locations than asked', async () => {
    const short: SourceIO = { ...batched, observeMany: async () => [] };
    await expect(observeA(short)).rejects.toThrow(/observeMany gave 0 results for 1 locations/);
  });

  it('stops when the signal is aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    for (const io of [single, batched]) await expect(observeA(io, ac.signal), io.name).rejects.toThrow();
  });
});
