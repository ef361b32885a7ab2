/**
 * Property test of the engine's one definition of staleness: over random graphs and random histories
 * (runs of random selections, code changes with or without a changed output, changed raw files,
 * failing computes, failing blocking checks, outputs deleted behind the engine's back):
 * - `why X` (the plan of +X) and `plan --all` give every unit of X the same decision and reasons, and any
 *   selection agrees with them on whether a unit is up to date;
 * - a run executes exactly what its plan said (run → materialized, failed or early cutoff; skip → up to
 *   date; blocked → blocked);
 * - "up to date" is true: the stored value of every up-to-date unit is what its compute gives today from
 *   its inputs' stored values (recomputed here independently), and its inputs are up to date too;
 * - after a full run with nothing failing, nothing is stale.
 * Raw files come and go (a day without its file has no data), some inputs are optional and some
 * computes say "no data": a unit called up to date with no data must be one that has none today.
 * A failure prints its seed and path: `FC_SEED=<seed> FC_PATH=<path> npx vitest run <this file>` replays it.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  daily,
  defineAsset,
  NO_DATA,
  defineDefinitions,
  defineSource,
  dep,
  execute,
  identity,
  isOwnReason,
  plan,
  StateStore,
  type AnyAsset,
  type Plan,
  type PlannedUnit,
  type RunEvent,
} from '../engine/index.ts';
import { LocalFsIOManager } from '../io-managers/local-fs.ts';
import { LocalSourceIO } from '../io-managers/local-source.ts';

const DAYS = { from: '2025-11-03', to: '2025-11-04' };
const PARTITIONS = ['2025-11-03', '2025-11-04'];

type Step =
  | { kind: 'run'; select: number[]; force: boolean }
  | { kind: 'code'; asset: number; changesOutput: boolean }
  | { kind: 'source'; day: number }
  | { kind: 'removeSource'; day: number }
  | { kind: 'noData'; asset: number; on: boolean }
  | { kind: 'failing'; asset: number; on: boolean }
  | { kind: 'checkFails'; asset: number; on: boolean }
  | { kind: 'delete'; asset: number; day: number };

interface World {
  /** deps[i]: indices j < i that asset i reads. */
  deps: number[][];
  /** optional[i][j]: asset i's input from j (or from the raw file when j = i) is optional. */
  optional: boolean[][];
  steps: Step[];
}

const N_MAX = 5;
/** A step switching a behaviour of one of the n assets on or off. */
const toggle = <K extends 'noData' | 'failing' | 'checkFails'>(kind: K, n: number) => ({
  weight: 1,
  arbitrary: fc.record({ kind: fc.constant(kind), asset: fc.nat(n - 1), on: fc.boolean() }),
});
const world: fc.Arbitrary<World> = fc.integer({ min: 1, max: N_MAX }).chain((n) =>
  fc.record({
    deps: fc.tuple(...Array.from({ length: n }, (_, i) => fc.subarray(range(i)))),
    optional: fc.tuple(
      ...Array.from({ length: n }, () => fc.array(fc.boolean(), { minLength: n, maxLength: n })),
    ),
    steps: fc.array(
      fc.oneof(
        {
          weight: 4,
          arbitrary: fc.record({
            kind: fc.constant('run' as const),
            select: fc.subarray(range(n)),
            force: fc.boolean(),
          }),
        },
        {
          weight: 2,
          arbitrary: fc.record({
            kind: fc.constant('code' as const),
            asset: fc.nat(n - 1),
            changesOutput: fc.boolean(),
          }),
        },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('source' as const), day: fc.nat(1) }) },
        {
          weight: 1,
          arbitrary: fc.record({ kind: fc.constant('removeSource' as const), day: fc.nat(1) }),
        },
        toggle('noData', n),
        toggle('failing', n),
        toggle('checkFails', n),
        {
          weight: 1,
          arbitrary: fc.record({
            kind: fc.constant('delete' as const),
            asset: fc.nat(n - 1),
            day: fc.nat(1),
          }),
        },
      ),
      { minLength: 1, maxLength: 8 },
    ),
  }),
);

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cityflow-staleness-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

/**
 * What asset i's compute returns: a pure function of its "code" and its inputs, so it can be recomputed
 * (an optional input with no data counts as -1, a missing optional raw file as '').
 */
const computeValue = (i: number, salt: number, raw: string, inputs: number[]): number =>
  (inputs.reduce((a, b) => (a * 31 + b) % 1_000_003, salt * 7 + i + raw.length) + Number(raw.trim() || 0)) %
  1_000_003;

class Harness {
  readonly code: number[];
  readonly salt: number[];
  readonly failing: boolean[];
  readonly checkFails: boolean[];
  /** Compute returns ctx.noData(…). */
  readonly noData: boolean[];
  private sourceEdits = 0;
  constructor(
    readonly dir: string,
    readonly deps: number[][],
    readonly optional: boolean[][],
  ) {
    const n = deps.length;
    this.code = Array(n).fill(0);
    this.salt = Array(n).fill(0);
    this.failing = Array(n).fill(false);
    this.checkFails = Array(n).fill(false);
    this.noData = Array(n).fill(false);
  }

  /** Whether asset i's input from j (j = i: the raw file) is optional. */
  isOptional = (i: number, j: number): boolean => this.optional[i]![j]!;

  async init(): Promise<void> {
    for (const d of PARTITIONS) {
      await mkdir(join(this.dir, 'data', d), { recursive: true });
      await writeFile(join(this.dir, 'data', d, 'x.txt'), `${d.slice(-1)}\n`);
    }
  }

  key = (i: number): string => `a${i}`;

  /** Fresh definitions, as a new process would see them after the edits so far. */
  defs() {
    const raw = defineSource({
      key: 'raw',
      partitions: daily(),
      locate: (p) => ({ prefix: p, match: /\.txt$/ }),
    });
    const assets: AnyAsset[] = [raw];
    for (let i = 0; i < this.deps.length; i++) {
      const upstream = Object.fromEntries(
        this.deps[i]!.map((j) => [
          this.key(j),
          this.isOptional(i, j)
            ? dep(assets[j + 1]!, identity(), { optional: true })
            : dep(assets[j + 1]!, identity()),
        ]),
      );
      const me = i;
      const rawDep = this.isOptional(i, i) ? dep(raw, identity(), { optional: true }) : dep(raw, identity());
      assets.push(
        defineAsset({
          key: this.key(i),
          partitions: daily(),
          schema: z.number(),
          codeVersion: `v${this.code[i]}`,
          deps: { raw: rawDep, ...upstream },
          checks: [
            {
              name: 'positive',
              fn: () =>
                this.checkFails[me] ? { status: 'fail', message: 'forced failure' } : { status: 'pass' },
            },
          ],
          compute: async (inputs, ctx) => {
            if (this.failing[me]) throw new Error(`a${me} fails`);
            if (this.noData[me]) return ctx.noData(`a${me} says so`);
            const file = inputs.raw?.files[0];
            const text = file ? await readFile(file.path, 'utf8') : '';
            const ins = this.deps[me]!.map(
              (j) => ((inputs as Record<string, unknown>)[this.key(j)] as number | undefined) ?? -1,
            );
            return computeValue(me, this.salt[me]!, text, ins);
          },
        }),
      );
    }
    return {
      io: new LocalFsIOManager({ rootDir: join(this.dir, 'out') }),
      defs: defineDefinitions({
        assets,
        io: { default: new LocalFsIOManager({ rootDir: join(this.dir, 'out') }) },
        sources: new LocalSourceIO({ dataDir: join(this.dir, 'data') }),
      }),
    };
  }

  state = (): StateStore => new StateStore(join(this.dir, 'state'));

  async planOf(select: string[], force = false): Promise<Plan> {
    const { defs } = this.defs();
    return plan(defs, this.state(), { selected: new Set(select), days: DAYS, force });
  }

  async apply(step: Step): Promise<void> {
    switch (step.kind) {
      case 'run':
        return this.run(step.select.map(this.key), step.force);
      case 'code':
        this.code[step.asset]!++;
        if (step.changesOutput) this.salt[step.asset]!++;
        return;
      case 'source':
        await writeFile(join(this.dir, 'data', PARTITIONS[step.day]!, 'x.txt'), `${++this.sourceEdits}\n`);
        return;
      case 'removeSource':
        await rm(join(this.dir, 'data', PARTITIONS[step.day]!, 'x.txt'), { force: true });
        return;
      case 'noData':
        if (this.noData[step.asset] !== step.on) this.code[step.asset]!++;
        this.noData[step.asset] = step.on;
        return;
      case 'failing':
        this.failing[step.asset] = step.on;
        return;
      case 'checkFails':
        // An edit of the check (or of what it judges): a code change, like any other.
        if (this.checkFails[step.asset] !== step.on) this.code[step.asset]!++;
        this.checkFails[step.asset] = step.on;
        return;
      case 'delete':
        await rm(join(this.dir, 'out', this.key(step.asset), `${PARTITIONS[step.day]}.json`), {
          force: true,
        });
        return;
    }
  }

  /** Runs a plan and checks that the executor did exactly what the plan said. */
  async run(select: string[], force = false): Promise<void> {
    if (!select.length) return;
    const { defs } = this.defs();
    const state = this.state();
    const p = await plan(defs, state, { selected: new Set(select), days: DAYS, force });
    const planned = new Map(p.units.filter((u) => u.decision !== 'observe').map((u) => [u.id, u.decision]));
    const events: RunEvent[] = [];
    await execute(defs, state, p, {
      onEvent: (e) => events.push(e),
      retry: { maxAttempts: 1, baseDelayMs: 1 },
    });
    const outcome = new Map<string, string>();
    for (const e of events) {
      const id = 'asset' in e && 'partition' in e ? `${e.asset}[${e.partition}]` : '';
      if (e.type === 'materialized') outcome.set(id, 'materialized');
      if (e.type === 'failed') outcome.set(id, e.check ? 'check_failed' : 'failed');
      if (e.type === 'skipped') outcome.set(id, e.reason);
    }
    expect([...outcome.keys()].sort()).toEqual([...planned.keys()].sort());
    for (const [id, decision] of planned) {
      const o = outcome.get(id)!;
      const allowed = {
        run: [
          'materialized',
          'no_data',
          'failed',
          'check_failed',
          'early_cutoff',
          'upstream_failed',
          'blocked_by_check',
        ],
        skip: ['up_to_date', 'upstream_failed', 'blocked_by_check'],
        blocked: ['blocked_by_check', 'upstream_failed'],
        observe: [],
      }[decision];
      expect(allowed, `${id}: planned ${decision}, got ${o}`).toContain(o);
      // Only something that went wrong in this very run may turn a plan's skip into a blocked/failed skip.
      if (decision === 'skip' && o !== 'up_to_date')
        expect(events.some((e) => e.type === 'failed')).toBe(true);
    }
  }

  /** The properties that must hold in every state. */
  async checkInvariants(): Promise<void> {
    const all = this.deps.map((_, i) => this.key(i));
    const full = await this.planOf(all);
    const unitsOf = (p: Plan, k: string): PlannedUnit[] => p.units.filter((u) => u.asset === k);
    const view = (u: PlannedUnit) => ({ id: u.id, decision: u.decision, reasons: u.reasons });
    for (let i = 0; i < all.length; i++) {
      const k = all[i]!;
      // why X = the plan of X and its upstream.
      const up = new Set([k, ...ancestors(this.deps, i).map(this.key)]);
      const why = await this.planOf([...up]);
      expect(unitsOf(why, k).map(view)).toEqual(unitsOf(full, k).map(view));
      // Any selection agrees on whether a unit is up to date, and on its own reasons.
      const alone = await this.planOf([k]);
      for (const u of unitsOf(alone, k)) {
        const f = full.unit(k, u.partition)!;
        expect(u.reasons.length > 0, u.id).toBe(f.reasons.length > 0);
        const own = (x: PlannedUnit) => x.reasons.filter(isOwnReason);
        expect(own(u), u.id).toEqual(own(f));
        // Blocked alone, it is blocked in the full plan too, unless the unit that failed its check is
        // retried there first.
        if (u.decision === 'blocked') expect(['blocked', 'run'], u.id).toContain(f.decision);
      }
    }
    // Up to date means up to date: recompute every up-to-date unit from its inputs' stored values.
    const { io } = this.defs();
    for (const u of full.units) {
      if (u.decision !== 'skip' || u.reasons.length || u.asset === 'raw') continue;
      const i = Number(u.asset.slice(1));
      for (const j of this.deps[i]!) {
        const upU = full.unit(this.key(j), u.partition)!;
        expect(
          upU.decision === 'skip' && upU.reasons.length === 0,
          `${u.id} fresh but ${upU.id} is not`,
        ).toBe(true);
      }
      // What the unit is today: no data (a required input has none, or compute says so), or a value.
      const state = this.state();
      const text = await readFile(join(this.dir, 'data', u.partition, 'x.txt'), 'utf8').catch(() => null);
      let absent = (text === null && !this.isOptional(i, i)) || this.noData[i]!;
      const ins: number[] = [];
      for (const j of this.deps[i]!) {
        if (state.get(this.key(j), u.partition)?.dataVersion === NO_DATA) {
          if (!this.isOptional(i, j)) absent = true;
          ins.push(-1);
        } else ins.push((await io.load({ assetKey: this.key(j), partitionKey: u.partition })) as number);
      }
      const recorded = state.get(u.asset, u.partition)?.dataVersion;
      if (absent) {
        expect(recorded, `${u.id} is called up to date with data`).toBe(NO_DATA);
        continue;
      }
      expect(recorded, `${u.id} is called up to date with no data`).not.toBe(NO_DATA);
      const stored = await io.load({ assetKey: u.asset, partitionKey: u.partition });
      expect(stored, `${u.id} is called up to date`).toBe(computeValue(i, this.salt[i]!, text ?? '', ins));
      expect(this.checkFails[i], `${u.id} is called up to date with a failing check`).toBe(false);
    }
  }
}

function ancestors(deps: number[][], i: number): number[] {
  const seen = new Set<number>();
  const stack = [...deps[i]!];
  while (stack.length) {
    const j = stack.pop()!;
    if (seen.has(j)) continue;
    seen.add(j);
    stack.push(...deps[j]!);
  }
  return [...seen];
}

describe('staleness (property)', () => {
  it('why == plan, runs do what plans say, and "up to date" is true, over random graphs and histories', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(world, async (w) => {
        const h = new Harness(join(root, `w${n++}`), w.deps, w.optional);
        await h.init();
        for (const step of w.steps) {
          await h.apply(step);
          await h.checkInvariants();
        }
        // A full run with nothing failing leaves nothing stale.
        h.failing.fill(false);
        h.checkFails.fill(false);
        for (let i = 0; i < h.noData.length; i++) if (h.noData[i]) h.code[i]!++; // an edit of its code
        h.noData.fill(false);
        await h.run(w.deps.map((_, i) => h.key(i)));
        const after = await h.planOf(w.deps.map((_, i) => h.key(i)));
        expect(
          after.units.filter((u) => u.decision !== 'observe' && (u.decision !== 'skip' || u.reasons.length)),
        ).toEqual([]);
        await h.checkInvariants();
      }),
      {
        numRuns: 60,
        ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH } : {}),
      },
    );
  }, 240_000);
});
