/**
 * Ctrl-C handling shared by the long-running commands (`materialize`, `upload`): the first SIGINT or
 * SIGTERM aborts the returned signal so the command can stop cleanly and exit 130; a second one exits
 * 130 at once.
 */

export interface Interrupt {
  /** Aborted on the first SIGINT/SIGTERM. */
  readonly signal: AbortSignal;
  /** Removes the handlers (the default behaviour of the signals comes back). */
  dispose(): void;
}

/** Exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const INTERRUPTED_EXIT_CODE = 130;

/** Installs the handlers; `message` goes to stderr on the first signal. */
export function cancelOnInterrupt(message: string): Interrupt {
  const ac = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(INTERRUPTED_EXIT_CODE);
    process.stderr.write(message);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: ac.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
