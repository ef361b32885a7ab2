import type { SourceIO, SourceLocation, SourceObservation } from './io.ts';
import { forEachLimited } from './pool.ts';

/** An error that stops a whole plan (e.g. access denied), not just the units reading that source. */
export const isFatal = (err: unknown): boolean => (err as { fatal?: unknown } | null)?.fatal === true;

/**
 * The observation of each unit's location, in order: one `observeMany` call when the SourceIO has it,
 * else `observe` 16 at a time. A unit whose location could not be computed (`locate` threw) is rejected
 * with that error, like one that could not be observed. Throws when `signal` is aborted or an error is
 * fatal.
 */
export async function observeSources<T>(
  io: SourceIO,
  units: readonly T[],
  locate: (unit: T) => SourceLocation,
  signal?: AbortSignal,
): Promise<PromiseSettledResult<SourceObservation>[]> {
  const results: PromiseSettledResult<SourceObservation>[] = new Array(units.length);
  const located: { at: number; location: SourceLocation }[] = [];
  units.forEach((unit, at) => {
    try {
      located.push({ at, location: locate(unit) });
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
  return results;
}
