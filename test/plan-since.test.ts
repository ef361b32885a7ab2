/**
 * A plan made `since` an earlier plan (only the units whose record changed, and what reads them, assessed
 * again) must equal a plan made from scratch: over random histories of index records written by another
 * store (successes with matching or stale input versions, failures, failed blocking checks, old code
 * versions, outputs lost from storage), on a graph with identity, offset, self, fan-in and static
 * dependencies, for the whole graph and for a selection with context units upstream.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapStorageIO } from './map-storage.ts';
import { z } from 'zod';
import {
  daily,
  defineAsset,
  defineDefinitions,
  defineSource,
  dep,
  fanIn,
  identity,
  offset,
  partitionKeys,
  plan,
  self,
  StateStore,
  staticPartitions,
  unitId,
  weekly,
  type AnyAsset,
  type Plan,
  type SourceIO,
} from '../engine/index.ts';
import { resetIndexCache } from '../engine/index-file-cache.ts';

const raw = defineSource({
  key: 'raw',
  partitions: daily({ start: '2025-06-01' }),
  locate: (p) => ({ prefix: `d/${p}`, match: /\.json$/ }),
});
const asset = (key: string, partitions: AnyAsset['partitions'], deps: Record<string, unknown>) =>
  defineAsset({
    key,
    partitions,
    schema: z.number(),
    deps: deps as never,
    codeVersion: 'c2',
    compute: () => 1,
  });
const day = asset('day', daily({ start: '2025-06-01' }), { raw: dep(raw, identity()) });
const cum = asset('cum', daily({ start: '2025-06-01' }), {
  day: dep(day, identity()),
  prev: self(offset(-1)),
});
const lag = asset('lag', daily({ start: '2025-06-02' }), {
  y: dep(day, offset(-1)),
  c: dep(cum, identity()),
});
const week = asset('week', weekly({ start: '2025-06-02' }), { days: dep(lag, fanIn()) });
const kinds = asset('kinds', staticPartitions(['a', 'b', 'c']), {});
const total = asset('total', undefined, { k: dep(kinds, fanIn()) });
const ASSETS = [day, cum, lag, week, kinds, total];
const RANGE = { from: '2025-06-01', to: '2025-06-21' };
const keysOf = (a: AnyAsset) => partitionKeys(a.partitions, '2025-05-25', '2025-06-28');

/** What storage holds (unit id → data version): lost outputs are absent. */
const storage = new Map<string, string>();
const io = mapStorageIO(storage);
/** The raw files' versions by day (r1 when not set); the 7th has no file. */
const rawVersions = new Map<string, string>();
const sources: SourceIO = {
  name: 'test',
  observe: async ({ prefix }) =>
    prefix.endsWith('06-07')
      ? { dataVersion: 'none', fileCount: 0, bytes: 0 }
      : { dataVersion: rawVersions.get(prefix.slice(2)) ?? 'r1', fileCount: 1, bytes: 1 },
  resolve: async () => ({ files: [], origin: 'test' }),
  listFolders: async () => [],
};
const defs = defineDefinitions({ assets: [raw, ...ASSETS], io: { default: io }, sources });

type Mutation = {
  asset: number;
  key: number;
  kind: 'ok' | 'fail' | 'check' | 'oldCode' | 'lost' | 'raw' | 'rawOnly';
  v: number;
};
// Outputs lost (deleted behind the engine's back) and raw files changed without a run: only before the
// earlier plan, or when the plan since it checks again (`recheck`); otherwise it reuses its observations
// and storage checks of unchanged records, by contract.
const mutation = (lost: boolean): fc.Arbitrary<Mutation> =>
  fc.record({
    asset: fc.nat(ASSETS.length - 1),
    key: fc.nat(40),
    kind: fc.constantFrom<Mutation['kind'][]>(
      'ok',
      'ok',
      'ok',
      'fail',
      'check',
      'oldCode',
      'raw',
      ...(lost ? ['lost' as const, 'rawOnly' as const] : []),
    ),
    v: fc.nat(2),
  });

let dir: string;
let racyWas: number;
let run = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityflow-plan-since-'));
});
afterAll(async () => {
  resetIndexCache(racyWas);
  await rm(dir, { recursive: true, force: true });
});

let runs = 0;
/** Writes the mutations as a run of another store (another process) would: a run id of its own. */
async function apply(stateDir: string, ms: Mutation[]): Promise<void> {
  const st = new StateStore(stateDir);
  const n = runs++;
  for (const m of ms) {
    // New raw files for a day, read by a run of `day` that records it (a run records what it read).
    const a = m.kind === 'raw' ? day : ASSETS[m.asset]!;
    const keys = keysOf(a);
    const p = keys[m.key % keys.length]!;
    const id = unitId(a.key, p);
    if (m.kind === 'fail') {
      st.recordFailure(a.key, p, { runId: `r${n}`, at: 't', error: 'boom' });
      continue;
    }
    if (m.kind === 'raw' || m.kind === 'rawOnly') rawVersions.set(p, `r${n}`);
    if (m.kind === 'rawOnly') continue;
    if (m.kind === 'lost') {
      storage.delete(id);
      continue;
    }
    const dataVersion = `d${m.v}`;
    // Input versions as a run would record them, off by one version when v = 2 (so: stale).
    const inputVersions: Record<string, string | null> = {};
    for (const d of defs.graph.depsOf(a.key))
      for (const q of d.self ? [] : d.mapping.upstream(p))
        inputVersions[`${d.name}@${q}`] =
          m.v === 2
            ? 'other'
            : d.assetKey === raw.key
              ? (rawVersions.get(q) ?? 'r1')
              : (new StateStore(stateDir).get(d.assetKey, q)?.dataVersion ?? 'r1');
    st.recordSuccess(a.key, p, {
      dataVersion,
      codeVersion: m.kind === 'oldCode' ? 'c1' : 'c2',
      inputVersions,
      runId: `r${n}`,
      at: 't',
      metadata: { bytes: 1, durationMs: 1, location: 'x', dataVersion },
      ...(m.kind === 'check' && {
        checks: [{ name: 'positive', status: 'fail', blocking: true, dataVersion, runId: `r${n}`, at: 't' }],
      }),
    });
    storage.set(id, dataVersion);
  }
  await st.flush();
}

/** Every unit of the plan, selected or context, as data. */
function summary(p: Plan) {
  const out: Record<string, unknown> = {};
  for (const a of [raw, ...ASSETS])
    for (const k of keysOf(a)) {
      const u = p.unit(a.key, k) ?? p.context(a.key, k);
      if (u)
        out[`${unitId(a.key, k)}${p.unit(a.key, k) ? '' : ' (context)'}`] = [
          u.decision,
          u.reasons,
          u.dataVersion,
        ];
    }
  return out;
}

describe('plan since an earlier plan', () => {
  for (const [racy, recheck] of [
    [0, false],
    [2_000, false],
    [0, true],
  ] as const)
    it(`equals a plan from scratch after any change to the index (index cache window ${racy} ms${recheck ? ', rechecked: outputs lost and raw files changed without a run too' : ''})`, async () => {
      racyWas = resetIndexCache(racy);
      await fc.assert(
        fc.asyncProperty(
          fc.array(mutation(true), { maxLength: 30 }),
          fc.array(fc.array(mutation(recheck), { minLength: 1, maxLength: 6 }), {
            minLength: 1,
            maxLength: 5,
          }),
          async (setup, steps) => {
            const stateDir = join(dir, `s${run++}`);
            storage.clear();
            rawVersions.clear();
            await apply(stateDir, setup);
            const selections = [
              { selected: new Set(defs.graph.order), days: RANGE },
              { selected: new Set(['week']), days: { from: '2025-06-09', to: '2025-06-15' } },
            ];
            const earlier = await Promise.all(
              selections.map((o) => plan(defs, new StateStore(stateDir), { ...o, keepBasis: true })),
            );
            for (const ms of steps) {
              await apply(stateDir, ms);
              for (const [i, o] of selections.entries()) {
                const since = await plan(defs, new StateStore(stateDir), {
                  ...o,
                  since: earlier[i],
                  recheck,
                  keepBasis: true,
                });
                const full = await plan(defs, new StateStore(stateDir), o);
                expect(summary(since)).toEqual(summary(full));
                expect(since.units.map((u) => u.id)).toEqual(full.units.map((u) => u.id));
                earlier[i] = since;
              }
            }
          },
        ),
        { numRuns: 15 },
      );
    });

  it('reuses the earlier units that nothing changed, and is ignored for another range', async () => {
    const stateDir = join(dir, 'reuse');
    storage.clear();
    rawVersions.clear();
    await apply(stateDir, [{ asset: 0, key: 3, kind: 'ok', v: 0 }]);
    const o = { selected: new Set(defs.graph.order), days: RANGE, keepBasis: true };
    const first = await plan(defs, new StateStore(stateDir), o);
    const unchanged = await plan(defs, new StateStore(stateDir), { ...o, since: first });
    expect(unchanged).toBe(first); // nothing changed: the same plan
    await apply(stateDir, [{ asset: 1, key: 5, kind: 'fail', v: 0 }]);
    const next = await plan(defs, new StateStore(stateDir), { ...o, since: first });
    const same = next.units.filter((u, i) => u === first.units[i]);
    // cum[2025-06-06] failed: it and the cum units after it (self dependency), lag of those days and the
    // weeks holding them were assessed again; everything else is the earlier plan's.
    const changed = next.units.filter((u, i) => u !== first.units[i]).map((u) => u.id);
    expect(changed).toContain('cum[2025-06-06]');
    expect(changed.every((id) => /^(cum|lag|week)\[/.test(id))).toBe(true);
    expect(same.length).toBeGreaterThan(next.units.length / 2);
    expect(next.unit('cum', '2025-06-06')?.reasons.map((r) => r.kind)).toContain('last_failed');
    const other = await plan(defs, new StateStore(stateDir), {
      ...o,
      days: { from: '2025-06-01', to: '2025-06-20' },
      since: next,
    });
    expect(other.units.some((u) => first.units.includes(u))).toBe(false);
  });
});
