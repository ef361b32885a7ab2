/**
 * The behaviour every IOManager must have, as one reusable vitest suite. Each implementation gets a
 * `*.test.ts` here calling `describeIOManagerContract(name, factory)`; the factory gives a manager on a
 * fresh or shared store and a cleanup. Keys carry a per-run suffix, so a shared server is fine.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, stableStringify } from '../../engine/hash.ts';
import { MissingValueError, type IOContext, type IOManager } from '../../engine/io.ts';
import type { StorageMeta } from '../../engine/storage.ts';

export interface ContractSubject {
  manager: IOManager;
  cleanup(): Promise<void>;
  /**
   * Fault injection: a manager on the same store whose stores stop for good before their `n`-th
   * storage operation (0-based: requests to the server, file writes and renames), as a process killed
   * there would; `stopped` resolves when that happens. A store with fewer operations completes.
   */
  interruptedAt(n: number): Interrupted;
}

export interface Interrupted {
  manager: IOManager;
  stopped: Promise<void>;
  dispose?(): Promise<void>;
}

/** A promise that never settles (what a killed process's next operation amounts to) and its trigger. */
export function stopPoint(): { stop: () => Promise<never>; stopped: Promise<void> } {
  let reached!: () => void;
  const stopped = new Promise<void>((r) => (reached = r));
  return {
    stopped,
    stop: () => {
      reached();
      return new Promise<never>(() => {});
    },
  };
}

/** Deterministic pseudo-random numbers (a 32-bit LCG), so the large value is the same on every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** ~3,400 arc metric objects shaped like the comptages metrics (SPEC §3.1), about 2 MB of JSON. */
export function largeArcMetrics(count = 3400, seed = 42): Record<string, unknown>[] {
  const rnd = lcg(seed);
  const etats = ['Fluide', 'Pré-saturé', 'Saturé', 'Bloqué', 'Inconnu'];
  return Array.from({ length: count }, (_, i) => ({
    date: '2025-11-04',
    identifiant_arc: String(1000 + i),
    libelle: `Bd_Périphérique_Intérieur_${i}_Porte_de_${i % 2 ? 'Châtillon' : 'Vanves'}`,
    debit_horaire_moyen: Math.round(rnd() * 400000) / 100,
    debit_journalier_total: Math.floor(rnd() * 120000),
    debit_max: Math.floor(rnd() * 9000),
    taux_occupation_moyen: rnd() * 100,
    etat_trafic_dominant: etats[i % etats.length],
    heure_pic: `${String(i % 24).padStart(2, '0')}:00`,
    temps_perdu_minutes: rnd() * 30,
    temps_perdu_total_minutes: rnd() * 3000,
    congestion_alerte: i % 7 === 0,
    arrondissement: (i % 20) + 1,
    geo_point_2d: { lat: 48.8 + rnd() / 10, lon: 2.25 + rnd() / 8 },
    zone_fallback: null,
    sources: Array.from({ length: 6 }, (_, k) => ({
      capteur: `${i}-${k}`,
      ok: rnd() > 0.1,
      n: Math.floor(rnd() * 24),
    })),
  }));
}

/**
 * Loads in a loop while `manager` overwrites a value of 200 arcs with one of 150: every load must see
 * the old value or the new one, never a mix (for chunked stores: never chunks of both), and the last
 * load the new one.
 */
export async function expectLoadsNeverMixDuringOverwrite(manager: IOManager, ctx: IOContext): Promise<void> {
  const v1 = { arcs: largeArcMetrics(200, 1) };
  const v2 = { arcs: largeArcMetrics(150, 2) };
  await manager.store(ctx, v1, 'r1');
  const reads: unknown[] = [];
  let writing = true;
  const reader = (async () => {
    while (writing) reads.push(await manager.load(ctx));
  })();
  await manager.store(ctx, v2, 'r2');
  writing = false;
  await reader;
  reads.push(await manager.load(ctx));
  for (const r of reads) expect([v1, v2]).toContainEqual(r);
  expect(reads.at(-1)).toEqual(v2);
}

export function describeIOManagerContract(name: string, factory: () => Promise<ContractSubject>): void {
  describe(`IOManager contract: ${name}`, () => {
    let subject: ContractSubject | undefined;
    const run = randomUUID().slice(0, 8);
    const ctx = (asset: string, partitionKey = '2025-11-04', storage?: StorageMeta): IOContext => ({
      assetKey: `contract_${asset}_${run}`,
      partitionKey,
      ...(storage ? { storage } : {}),
    });
    const m = (): IOManager => {
      if (!subject) throw new Error('factory failed');
      return subject.manager;
    };

    beforeAll(async () => {
      subject = await factory();
    });
    afterAll(async () => {
      await subject?.cleanup();
    });

    it('round-trips a JSON document exactly (numbers, nesting, empties, escapes) and reports where', async () => {
      const value = {
        indicators: { frequentation_index: 0.1 + 0.2, total: 123456789, negative: -42.125, tiny: 1.5e-7 },
        // 2^53 + 2 and 1e21 are exact doubles beyond the safe-integer range; 5e-324 is the smallest double.
        big: [2 ** 53 + 2, 1e21, -1e21, Number.MAX_VALUE, 5e-324],
        flags: [true, false, null],
        empty: { list: [], object: {}, text: '' },
        text: 'quote " backslash \\ newline \n tab \t',
        nested: { a: { b: { c: { d: [[1, [2, [3]]]] } } } },
        dropped: undefined,
      };
      const res = await m().store(ctx('roundtrip'), value, 'v-roundtrip');
      expect(res.bytes).toBeGreaterThan(0);
      expect(typeof res.location).toBe('string');
      const loaded = (await m().load(ctx('roundtrip'))) as Record<string, unknown>;
      expect(loaded).toEqual(value);
      // `undefined` fields are stripped, as JSON does.
      expect(Object.keys(loaded)).not.toContain('dropped');
      const st = await m().stat(ctx('roundtrip'));
      expect(st?.dataVersion).toBe('v-roundtrip');
    });

    it('round-trips top-level arrays, strings, numbers and null', async () => {
      for (const [i, value] of [[1, 'two', { three: 3 }], 'plain', 42.5, null, []].entries()) {
        await m().store(ctx('scalars', `p${i}`), value, `v${i}`);
        expect(await m().load(ctx('scalars', `p${i}`))).toEqual(value);
      }
    });

    it('overwrite: the new value and data version replace the old ones entirely', async () => {
      const c = ctx('overwrite');
      await m().store(c, { a: 1, only_in_v1: 'x', list: [1, 2, 3] }, 'v1');
      await m().store(c, { a: 2, list: [9] }, 'v2');
      const loaded = (await m().load(c)) as Record<string, unknown>;
      expect(loaded).toEqual({ a: 2, list: [9] });
      expect(loaded).not.toHaveProperty('only_in_v1');
      expect((await m().stat(c))?.dataVersion).toBe('v2');
    });

    it('partitions are isolated', async () => {
      await m().store(ctx('parts', '2025-11-03'), { day: 3 }, 'd3');
      await m().store(ctx('parts', '2025-11-04'), { day: 4 }, 'd4');
      await m().store(ctx('parts', '2025-11-03'), { day: 33 }, 'd33');
      expect(await m().load(ctx('parts', '2025-11-03'))).toEqual({ day: 33 });
      expect(await m().load(ctx('parts', '2025-11-04'))).toEqual({ day: 4 });
      expect((await m().stat(ctx('parts', '2025-11-04')))?.dataVersion).toBe('d4');
    });

    it('assets are isolated', async () => {
      await m().store(ctx('asset_a'), { who: 'a' }, 'va');
      await m().store(ctx('asset_b'), { who: 'b' }, 'vb');
      expect(await m().load(ctx('asset_a'))).toEqual({ who: 'a' });
      expect(await m().load(ctx('asset_b'))).toEqual({ who: 'b' });
      expect((await m().stat(ctx('asset_a')))?.dataVersion).toBe('va');
    });

    it('storage placement (a table, an id template) keeps units apart, and "all" works as a partition key', async () => {
      const metric = (p: string): IOContext => ctx('hinted', p, { database: { id: `hinted_${run}` } });
      const report = (p: string): IOContext =>
        ctx('report', p, { database: { table: 'reports', id: `report_${run}_{partition}` } });
      await m().store(metric('2025-11-04'), { kind: 'metric', day: 4 }, 'm4');
      await m().store(metric('2025-11-05'), { kind: 'metric', day: 5 }, 'm5');
      await m().store(report(`2025-11-04`), { kind: 'report', run }, 'r4');
      await m().store(ctx('unpartitioned', 'all'), { kind: 'whole' }, 'all1');
      expect(await m().load(metric('2025-11-04'))).toEqual({ kind: 'metric', day: 4 });
      expect(await m().load(metric('2025-11-05'))).toEqual({ kind: 'metric', day: 5 });
      expect(await m().load(report('2025-11-04'))).toEqual({ kind: 'report', run });
      expect((await m().stat(report('2025-11-04')))?.dataVersion).toBe('r4');
      expect(await m().load(ctx('unpartitioned', 'all'))).toEqual({ kind: 'whole' });
    });

    it('missing: load throws MissingValueError and stat is null', async () => {
      await m().store(ctx('present'), { x: 1 }, 'p1');
      for (const c of [ctx('never_stored'), ctx('present', '1999-01-01')]) {
        expect(await m().stat(c)).toBeNull();
        const err = await m()
          .load(c)
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(err).toBeInstanceOf(MissingValueError);
        expect((err as MissingValueError).assetKey).toBe(c.assetKey);
        expect((err as MissingValueError).partitionKey).toBe(c.partitionKey);
      }
    });

    it('stat and data version are stable across reads', async () => {
      const c = ctx('stable');
      await m().store(c, { n: [1, 2, 3] }, 'stable-v');
      const s1 = await m().stat(c);
      const l1 = await m().load(c);
      const s2 = await m().stat(c);
      const l2 = await m().load(c);
      expect(s1).toEqual(s2);
      expect(s1?.dataVersion).toBe('stable-v');
      expect(l1).toEqual(l2);
    });

    it('a large value (3,400 arc objects, ~2 MB) round-trips, and shrinking it leaves nothing stale', async () => {
      const c = ctx('large');
      const arcs = largeArcMetrics();
      const value = { metrics: arcs, total_troncons: arcs.length };
      const size = Buffer.byteLength(JSON.stringify(value));
      expect(size).toBeGreaterThan(1_500_000);
      await m().store(c, value, 'large-v1');
      expect(await m().load(c)).toEqual(value);
      expect((await m().stat(c))?.dataVersion).toBe('large-v1');
      // Smaller, then large again with other content: each load sees exactly the last value.
      const small = { metrics: arcs.slice(0, 100), total_troncons: 100 };
      await m().store(c, small, 'large-v2');
      expect(await m().load(c)).toEqual(small);
      const other = { metrics: largeArcMetrics(3400, 7), total_troncons: 3400 };
      await m().store(c, other, 'large-v3');
      expect(await m().load(c)).toEqual(other);
      expect((await m().stat(c))?.dataVersion).toBe('large-v3');
    });

    it(
      'a store killed at any step leaves the old value with its version, the new one with its, or nothing',
      {
        timeout: 180_000,
      },
      async () => {
        // small → large and large → small: the database managers switch between inline and chunked.
        const small = { arcs: largeArcMetrics(3, 11), total_troncons: 3 };
        // ≈ 600 KB: chunked in DynamoDB (2 chunks), as big a store as the chunked path needs.
        const large = { arcs: largeArcMetrics(1000, 12), total_troncons: 1000 };
        // Key order is not part of a value (DynamoDB maps do not keep it).
        const digest = (v: unknown) => sha256(stableStringify(v));
        let interruptions = 0;
        for (const [name, before, after] of [
          ['small-large', small, large],
          ['large-small', large, small],
        ] as const) {
          const c = ctx(`killed_${name}`);
          const expected = new Map([
            ['before', digest(before)],
            ['after', digest(after)],
          ]);
          for (let n = 0; ; n++) {
            expect(n, 'a store that never completes').toBeLessThan(200);
            await m().store(c, before, 'before');
            const dying = subject!.interruptedAt(n);
            const outcome = await Promise.race([
              dying.manager.store(c, after, 'after').then(() => 'completed' as const),
              dying.stopped.then(() => 'stopped' as const),
            ]);
            await dying.dispose?.();
            // What the next run sees: a version is only ever reported with the value it was stored with.
            const st = await m().stat(c);
            if (st) {
              const loaded = digest(await m().load(c));
              expect(expected.get(st.dataVersion), `stopped before operation ${n}`).toBe(loaded);
            }
            if (outcome === 'completed') {
              expect(st?.dataVersion).toBe('after');
              break;
            }
            interruptions++;
          }
        }
        console.log(`${interruptions} stores stopped before each of their operations, then completed`);
        expect(interruptions).toBeGreaterThan(1);
        // And the store is still usable: a plain store replaces whatever was left.
        const c = ctx('killed_small-large');
        await m().store(c, { done: true }, 'final');
        expect(await m().load(c)).toEqual({ done: true });
        expect((await m().stat(c))?.dataVersion).toBe('final');
      },
    );

    it('a text asset (storage.file text) round-trips as the same string, and stays apart from JSON units', async () => {
      const text = (p: string): IOContext =>
        ctx('text', p, { file: { format: 'text', extension: 'csv' }, database: { id: `text_${run}` } });
      const csv = 'date;total\n2025-11-04;12\n"quoted; cell";é🚲\n';
      await m().store(text('2025-11-04'), csv, 't1');
      await m().store(ctx('text', '2025-11-04'), { json: true }, 'j1');
      expect(await m().load(text('2025-11-04'))).toBe(csv);
      expect((await m().stat(text('2025-11-04')))?.dataVersion).toBe('t1');
      expect(await m().load(ctx('text', '2025-11-04'))).toEqual({ json: true });
    });

    it('unicode strings and keys round-trip exactly', async () => {
      const value = {
        libelle: 'Bd Périphérique Intérieur — Porte d’Orléans',
        cjk: '東京都 서울 北京',
        emoji: '🚲🚦🚇 👩‍👩‍👧',
        rtl: 'שלום مرحبا',
        combining: 'e\u0301 vs é',
        zero_width: 'a\u200bb\u200dc',
        lone_surrogate: 'x\ud800y',
        clé_été: 'valeur',
        日本: ['ä', 'ö', 'ü', 'ß'],
      };
      await m().store(ctx('unicode'), value, 'u1');
      expect(await m().load(ctx('unicode'))).toEqual(value);
    });
  });
}
