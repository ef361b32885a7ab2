/**
 * Counts how many requests of one AWS SDK command are in flight at once, through a client middleware.
 * Each counted request is held 20 ms so that all the requests a caller allows overlap even on a busy
 * machine; `peak` is then the caller's real concurrency.
 */
import type { MiddlewareStack } from '@smithy/types';

export function countInFlight<I extends object, O extends object>(
  client: { middlewareStack: MiddlewareStack<I, O> },
  commandName: string,
): { readonly peak: number; readonly total: number } {
  let inFlight = 0;
  const counter = { peak: 0, total: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== commandName) return next(args);
      inFlight++;
      counter.total++;
      counter.peak = Math.max(counter.peak, inFlight);
      try {
        await new Promise((r) => setTimeout(r, 20));
        return await next(args);
      } finally {
        inFlight--;
      }
    },
    { step: 'initialize', name: 'countInFlight' },
  );
  return counter;
}
