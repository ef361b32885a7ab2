/**
 * Runs `fn` on every item, at most `concurrency` at a time, items started in order. After a failure no
 * new item starts and the first error is thrown once the running ones are done.
 *
 * Hand-written for the plan's big fans (one call per source partition and per stored unit): p-limit's
 * `map` costs ≈ 27 µs an item (a promise, a queue entry and an async-context binding each) — 10 s for the
 * 365,000 storage checks of a 2,000 × 365 plan, against 0.3 s for this loop (same machine, load 10).
 */
export async function forEachLimited<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
  if (failure) throw failure.error;
}
