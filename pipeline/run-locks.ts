/**
 * How `pipeline materialize`, the UI and the daemon start a run: plan, lock the units the plan builds
 * (`rt.lockForRun` with those units: engine/unit-locks.ts), and plan again when another run changed the
 * index meanwhile — units it built are then up to date and skipped. Runs on disjoint units go on at the
 * same time; a run on units another one holds waits for them.
 */
import {
  covers,
  unitSet,
  type Plan,
  type StateStore,
  type UnitLockRelease,
  type UnitSet,
} from '../engine/index.ts';
import { planSelection, type SelectionOpts } from './plan-selection.ts';
import type { Runtime } from './runtime.ts';

/** The units a plan builds (its `run` units): what a run locks. */
export const unitsToBuild = (p: Plan): Map<string, Set<string>> =>
  unitSet(p.units.filter((u) => u.decision === 'run'));

const count = (s: UnitSet): number =>
  s === 'all' ? Infinity : [...s.values()].reduce((n, p) => n + p.size, 0);

/**
 * Plans `o`, locks the units the plan builds, and re-plans (with the index as it is now) until the plan
 * builds only units it holds. Returns the plan, the state it was made with (the run records into it), and
 * the release of the locks.
 */
export async function planAndLock(
  rt: Pick<Runtime, 'defs' | 'indexBackend' | 'openState' | 'lockForRun'>,
  o: SelectionOpts,
  runId: string,
  onWait: (msg: string) => void,
  signal?: AbortSignal,
): Promise<{ p: Plan; state: StateStore; release: UnitLockRelease }> {
  // Taken before the index is read: a change made meanwhile shows as a new stamp.
  let stamp = await rt.indexBackend.stamp();
  let state = await rt.openState();
  let { p } = await planSelection({ defs: rt.defs, state }, o, signal);
  let held = unitsToBuild(p);
  let release = await rt.lockForRun(runId, onWait, signal, held);
  try {
    for (;;) {
      const now = await rt.indexBackend.stamp();
      if (now === stamp) {
        state.fence = release.fence;
        return { p, state, release };
      }
      // Another run recorded units since this plan was made: plan again with what it recorded.
      stamp = now;
      state = await rt.openState();
      ({ p } = await planSelection({ defs: rt.defs, state }, o, signal));
      const need = unitsToBuild(p);
      if (count(need) < count(held))
        onWait(
          `planned again under the unit locks: ${count(held) - count(need)} unit(s) were built meanwhile by another run, ${count(need)} left to build`,
        );
      if (!covers(held, need) || !covers(need, held)) {
        // Fewer units (let the others go to whoever waits for them) or new ones (an input changed
        // meanwhile): let go, and take the new set, all at once as before (no deadlock).
        await release();
        held = need;
        release = await rt.lockForRun(runId, onWait, signal, held);
      }
    }
  } catch (err) {
    await release();
    throw err;
  }
}
