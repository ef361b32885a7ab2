/**
 * Unit locks: a run locks the units it will build (asset × partition), so that runs on disjoint units
 * go on at the same time while no unit is built by two runs at once.
 *
 * A lock table is a folder (`<STATE_DIR>/locks/`, `<OUTPUT_DIR>/.cityflow-locks/`) holding one entry
 * per live run, `<run id>.units.json`: the holder's identity (pid, start time, boot id, pid namespace,
 * host, as engine/lock.ts), and its units as `asset → [partitions]`, or `all` (the whole table: a run
 * that did not say which units it builds). A run takes its units **all at once or not at all**: under
 * the table's short lock (`units.lock`, held for milliseconds) it reads the other entries, drops those
 * whose holder is gone (kill -9, reboot, container restart: same checks as engine/lock.ts), and writes
 * its own entry only if no live entry holds one of its units; otherwise it waits (saying for whom) and
 * tries again. A run never holds some units while waiting for others in one table, and takes the tables
 * in a fixed order (state, then output), so runs cannot deadlock. The holder touches its entry every
 * LOCK_REFRESH_MS, so a holder in another pid namespace or host is taken to be gone once it stops.
 *
 * Why one entry per run rather than one file per unit: a 10,000-unit run writes one file (≈ 200 KB)
 * and checks a handful of live runs' sets in memory, where per-unit files would cost 10,000 exclusive
 * creations (and as many removals) per run and per table.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isLockHolderAlive, keepFresh, LOCK_REFRESH_MS, type LockHolder } from './lock.ts';
import type { IndexFence } from './index-backend.ts';
import { selfIdentity } from './pid.ts';
import { RUN_ID, withShortLock } from './run-index.ts';

/**
 * What taking unit locks returns: the release, and with a lock shared across machines (a lease that can
 * be lost) the fencing token the run's index writes carry and a signal aborted when the lease is found lost.
 */
export type UnitLockRelease = (() => Promise<void>) & { fence?: IndexFence; lost?: AbortSignal };

/** The units a run locks: asset → partitions (`''` for an unpartitioned asset), or `all`. */
export type UnitSet = ReadonlyMap<string, ReadonlySet<string>> | 'all';

export interface UnitLockEntry extends LockHolder {
  /** asset → partitions, or `all`. */
  units: Record<string, string[]> | 'all';
  /** How many units (for messages). */
  count: number;
}

const ENTRY = /^(.+)\.units\.json$/;
/** An unreadable entry (torn by a power loss) is removed once this old. */
const UNREADABLE_MS = 2_000;

export const entryPath = (dir: string, runId: string): string => join(dir, `${runId}.units.json`);

/** Builds a unit set from `{ asset, partition }` records. */
export function unitSet(units: Iterable<{ asset: string; partition: string }>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const u of units) {
    const s = out.get(u.asset);
    if (s) s.add(u.partition);
    else out.set(u.asset, new Set([u.partition]));
  }
  return out;
}

export const sizeOf = (s: UnitSet): number => {
  if (s === 'all') return Infinity;
  let n = 0;
  for (const p of s.values()) n += p.size;
  return n;
};

/** Whether every unit of `need` is in `held`. */
export function covers(held: UnitSet, need: UnitSet): boolean {
  if (held === 'all') return true;
  if (need === 'all') return false;
  for (const [a, ps] of need) {
    const h = held.get(a);
    if (!h) {
      if (ps.size) return false;
      continue;
    }
    for (const p of ps) if (!h.has(p)) return false;
  }
  return true;
}

/** The units of `mine` that `entry` holds (up to `limit` of them, as `asset[partition]`), and how many. */
export function overlap(
  mine: UnitSet,
  entry: Pick<UnitLockEntry, 'units'>,
  limit = 3,
): { count: number; sample: string[] } | null {
  if (mine === 'all' || entry.units === 'all') return { count: Infinity, sample: [] };
  let count = 0;
  const sample: string[] = [];
  for (const [asset, parts] of Object.entries(entry.units)) {
    const m = mine.get(asset);
    if (!m || !Array.isArray(parts)) continue;
    for (const p of parts) {
      if (!m.has(p)) continue;
      count++;
      if (sample.length < limit) sample.push(p ? `${asset}[${p}]` : asset);
    }
  }
  return count ? { count, sample } : null;
}

/** A unit set as stored in a lock entry: asset → sorted partitions, or `all`. */
export const unitsRecord = (units: UnitSet): UnitLockEntry['units'] =>
  units === 'all' ? 'all' : Object.fromEntries([...units].map(([a, ps]) => [a, [...ps].sort()]));

/** `3 unit(s) this run builds: a[1], a[2], …` (or `all units`): what a waiting run says it waits for. */
export function describeOverlap(o: { count: number; sample: readonly string[] }): string {
  return o.count === Infinity
    ? 'all units'
    : `${o.count} unit(s) this run builds: ${o.sample.join(', ')}${o.count > o.sample.length ? ', …' : ''}`;
}

interface Blocker {
  runId: string;
  pid?: number;
  count: number;
  sample: string[];
  note?: string;
}

/**
 * Takes the units of `units` in the lock table `dir` for run `runId`: all of them, once no live run holds
 * any. Says once (through `onWait`) for which runs it waits, and when it takes over the entry of a run
 * whose process is gone. Returns the release (removes the entry).
 */
export async function acquireUnitLocks(
  dir: string,
  runId: string,
  units: UnitSet,
  opts: {
    /** For messages, e.g. "unit locks". */
    what: string;
    onWait: (msg: string) => void;
    signal?: AbortSignal;
    /** Told to whoever waits for these units. */
    note?: string;
  },
): Promise<() => Promise<void>> {
  if (!RUN_ID.test(runId)) throw new Error(`Invalid run id "${runId}"`);
  mkdirSync(dir, { recursive: true });
  const mine = entryPath(dir, runId);
  const entry: UnitLockEntry = {
    ...selfIdentity(),
    runId,
    at: new Date().toISOString(),
    refreshMs: LOCK_REFRESH_MS,
    ...(opts.note ? { note: opts.note } : {}),
    units: unitsRecord(units),
    count: units === 'all' ? -1 : sizeOf(units),
  };
  const text = JSON.stringify(entry);
  let told = '';
  for (;;) {
    const blockers: Blocker[] = [];
    const taken = withShortLock(join(dir, 'units.lock'), () => {
      for (const name of readdirSync(dir)) {
        const m = ENTRY.exec(name);
        if (!m || m[1] === runId) continue;
        const path = join(dir, name);
        let other: UnitLockEntry;
        let ageMs: number;
        try {
          ageMs = Date.now() - statSync(path).mtimeMs;
          other = JSON.parse(readFileSync(path, 'utf8')) as UnitLockEntry;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
          // Entries are renamed into place whole: unreadable only when torn by a power loss.
          if (Date.now() - (statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0) > UNREADABLE_MS)
            rmSync(path, { force: true });
          else blockers.push({ runId: m[1]!, count: Infinity, sample: [] });
          continue;
        }
        if (!isLockHolderAlive(path, other, ageMs)) {
          opts.onWait(
            `taking over the ${opts.what} of run ${other.runId ?? m[1]} (pid ${other.pid}) in ${dir}: that process is gone`,
          );
          rmSync(path, { force: true });
          continue;
        }
        const o = overlap(units, other);
        if (o) blockers.push({ runId: other.runId ?? m[1]!, pid: other.pid, ...o, note: other.note });
      }
      if (blockers.length) return false;
      const tmp = `${mine}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
      try {
        writeFileSync(tmp, text);
        renameSync(tmp, mine);
      } catch (err) {
        rmSync(tmp, { force: true });
        throw err;
      }
      return true;
    });
    if (taken) {
      const stopRefresh = keepFresh(mine);
      return async () => {
        stopRefresh();
        rmSync(mine, { force: true });
      };
    }
    const key = blockers.map((b) => b.runId).join(',');
    if (key !== told) {
      told = key;
      for (const b of blockers) {
        opts.onWait(
          `waiting for run ${b.runId}${b.pid ? ` (pid ${b.pid})` : ''} to release the ${opts.what} of ${describeOverlap(b)} in ${dir}` +
            (b.note ? ` (${b.note})` : ''),
        );
      }
    }
    if (opts.signal?.aborted) throw new Error(`Cancelled while waiting for the ${opts.what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Whether run `runId` holds an entry in the lock table `dir` and its process is alive. */
export function holdsUnitLocks(dir: string, runId: string): boolean {
  const path = entryPath(dir, runId);
  try {
    const holder = JSON.parse(readFileSync(path, 'utf8')) as UnitLockEntry;
    return holder.runId === runId && isLockHolderAlive(path, holder, Date.now() - statSync(path).mtimeMs);
  } catch {
    return false;
  }
}

/** The live runs of a lock table (others' entries whose holder is alive). */
export function liveLockHolders(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.map((n) => ENTRY.exec(n)?.[1]).filter((id): id is string => !!id && holdsUnitLocks(dir, id));
}
