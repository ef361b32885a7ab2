/**
 * Colours of the ink views. ink colours through chalk, whose level follows stdout being a terminal,
 * FORCE_COLOR and `--color` flags, but not NO_COLOR (https://no-color.org): the views set chalk's level
 * from the stream they draw on and these rules before drawing. Loaded with ink, on a TTY only.
 */
import chalk from 'chalk';

/** chalk's levels: 0 none, 1 basic 16 colours, 2 256 colours, 3 truecolor. */
export type ColorLevel = 0 | 1 | 2 | 3;

const DEPTH_TO_LEVEL: Record<number, ColorLevel> = { 1: 0, 4: 1, 8: 2, 24: 3 };

/**
 * FORCE_COLOR wins, as in Node and chalk (`0`/`false` off, `1`–`3` that level, empty or `true` at least
 * basic colours); else a non-empty NO_COLOR turns colours off; else the terminal's own depth (none when
 * the stream is not a terminal or TERM=dumb).
 */
export function colorLevel(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): ColorLevel {
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    if (force === '0' || force === 'false') return 0;
    const n = Number.parseInt(force, 10);
    if (n >= 1 && n <= 3) return n as ColorLevel;
    return Math.max(1, detected(stream, env)) as ColorLevel;
  }
  if (env.NO_COLOR) return 0;
  return detected(stream, env);
}

function detected(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv): ColorLevel {
  if (!stream.isTTY || env.TERM === 'dumb') return 0;
  if (typeof stream.getColorDepth !== 'function') return 1;
  // Without the variables decided above (Node reads an empty NO_COLOR as set).
  const { NO_COLOR: _no, FORCE_COLOR: _force, ...rest } = env;
  return DEPTH_TO_LEVEL[stream.getColorDepth(rest)] ?? 1;
}

/** Sets the level of the chalk instance ink colours with (one per process: the views never share it). */
export function applyColorLevel(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): void {
  chalk.level = colorLevel(stream, env);
}
