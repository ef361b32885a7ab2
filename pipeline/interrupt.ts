/**
 * Ctrl-C handling shared by the long-running commands (`materialize`, `upload`): the first SIGINT or
 * SIGTERM aborts the returned signal so the command can stop cleanly and exit 130 (SIGINT) or 143
 * (SIGTERM), as shells report a process stopped by that signal; a second one exits at once.
 */

export interface Interrupt {
  /** Aborted on the first SIGINT/SIGTERM. */
  readonly signal: AbortSignal;
  /** The exit code for the signal received (130 SIGINT, 143 SIGTERM); undefined before any. */
  readonly exitCode: number | undefined;
  /** What the first signal prints from now on (e.g. once the work has started). */
  setMessage(message: Message): void;
  /** Removes the handlers (the default behaviour of the signals comes back). */
  dispose(): void;
}

type Message = string | ((signal: NodeJS.Signals) => string);

/** Exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const INTERRUPTED_EXIT_CODE = 130;
/** Exit code of a command stopped by SIGTERM (128 + 15). */
export const TERMINATED_EXIT_CODE = 143;

export function exitCodeFor(signal: NodeJS.Signals): number {
  return signal === 'SIGTERM' ? TERMINATED_EXIT_CODE : INTERRUPTED_EXIT_CODE;
}

/** Installs the handlers; `message` goes to stderr on the first signal. */
export function cancelOnInterrupt(message: Message): Interrupt {
  const ac = new AbortController();
  let current = message;
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (received) process.exit(exitCodeFor(signal));
    received = signal;
    process.stderr.write(typeof current === 'function' ? current(signal) : current);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: ac.signal,
    get exitCode() {
      return received && exitCodeFor(received);
    },
    setMessage(next) {
      current = next;
    },
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
