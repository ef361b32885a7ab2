/**
 * LOG_LEVEL for what the CLI writes besides a command's own output: the stderr lines (mode line, lock
 * waits, storage warnings) and the plain run lines (view/plain.ts). `error` shows errors only, `warn`
 * problems too (warnings, failures, failed checks, retries), `info` (the default) the usual progress,
 * `debug` more detail. A run's final summary line is always printed.
 */
import type { LogLevel } from './config.ts';

export type { LogLevel };

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Whether a message of `level` is shown when LOG_LEVEL is `threshold`. */
export function shows(threshold: LogLevel, level: LogLevel): boolean {
  return RANK[level] >= RANK[threshold];
}

export interface Log {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Lines to stderr, filtered by the level `threshold()` returns at the time of each call. */
export function stderrLog(
  threshold: () => LogLevel,
  write = (line: string) => process.stderr.write(line),
): Log {
  const at =
    (level: LogLevel) =>
    (message: string): void => {
      if (shows(threshold(), level)) write(message + '\n');
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
