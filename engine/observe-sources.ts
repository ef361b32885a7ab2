import type { SourceIO, SourceLocation, SourceObservation } from './io.ts';
import { forEachLimited } from './pool.ts';

/** An error that stops a whole plan (e.g. access denied), not just the units reading that source. */
export const isFatal = (err: unknown): boolean => (err as { fatal?: unknown } | null)?.fatal === true;

/** What a unit's failed observation says (the reason of a `rejected` result). */
export const failureMessage = (reason: unknown): string =>
  reason instanceof Error ? reason.message : String(reason);

/**
 * Units observed per `observeMany` call: a year of hourly folders (26,280) in 26 calls. The results of
 * one call live until it returns; in chunks they die young instead of being copied by every scavenge
 * (a no-op over a year of hourly data spent ≈ 10 % more CPU with one call for all).
 */
export const OBSERVE_CHUNK = 1024;

/**
 * Observes each unit's location and hands `use` its result and location, in the units' order: by
 * `observeMany` calls when the SourceIO has it, else `observe` 16 at a time. A unit whose location cannot
 * be computed (`locate` threw) is rejected with that error, like one that cannot be observed (its location
 * is then undefined). Throws when `signal` is aborted or an error is fatal.
 */
export async function observeSources<T>(
  io: SourceIO,
  units: readonly T[],
  locate: (unit: T) => SourceLocation,
  use: (
    unit: T,
    result: PromiseSettledResult<SourceObservation>,
    location: SourceLocation | undefined,
  ) => void,
  signal?: AbortSignal,
): Promise<void> {
  for (let from = 0; from < units.length; from += OBSERVE_CHUNK) {
    const chunk = units.slice(from, from + OBSERVE_CHUNK);
    const results: PromiseSettledResult<SourceObservation>[] = new Array(chunk.length);
    const locations: (SourceLocation | undefined)[] = new Array(chunk.length);
    const located: { at: number; location: SourceLocation }[] = [];
    chunk.forEach((unit, at) => {
      try {
        located.push({ at, location: (locations[at] = locate(unit)) });
      } catch (reason) {
        results[at] = { status: 'rejected', reason };
      }
    });
    if (io.observeMany) {
      const observed = await io.observeMany(
        located.map((l) => l.location),
        signal,
      );
      if (observed.length !== located.length)
        throw new Error(
          `${io.name}: observeMany gave ${observed.length} results for ${located.length} locations`,
        );
      located.forEach((l, i) => (results[l.at] = observed[i]!));
    } else
      await forEachLimited(located, 16, async ({ at, location }) => {
        signal?.throwIfAborted();
        try {
          results[at] = { status: 'fulfilled', value: await io.observe(location, signal) };
        } catch (reason) {
          if (isFatal(reason)) throw reason; // the other lanes stop too
          results[at] = { status: 'rejected', reason };
        }
      });
    signal?.throwIfAborted();
    const fatal = results.find((r) => r.status === 'rejected' && isFatal(r.reason));
    if (fatal) throw (fatal as PromiseRejectedResult).reason;
    chunk.forEach((unit, i) => use(unit, results[i]!, locations[i]));
  }
}
