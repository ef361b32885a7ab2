/**
 * Wires the run event stream to a terminal: the ink view on a TTY (throttled re-renders, final frame on
 * close), plain lines otherwise. `replayRun` shows a recorded run log through the same view.
 * ink and react are loaded only for the TTY view (ink-renderer.ts): they cost ~0.5 s of start-up, which
 * plain runs (CI, pipes, cron) should not pay.
 */
import type { RunEvent } from '../../engine/events.ts';
import type { LogLevel } from '../log.ts';
import { createPlainPrinter, indentStack } from './plain.ts';
import { initialViewState, reduceView, type ViewState } from './reducer.ts';

export interface RendererOptions {
  /** Use the ink view (true) or plain lines (false); see `shouldUseTui`. */
  tty: boolean;
  /** Where to write; process.stdout by default. */
  stream?: NodeJS.WriteStream;
  /** Layout width for the ink view; the stream's width (at most 120) or 80 by default. */
  columns?: number;
  /** Time zone of plain-line stamps; local by default. */
  timeZone?: string;
  /** Environment for NO_COLOR / FORCE_COLOR (see color.ts); process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** LOG_LEVEL of the plain lines (see plain.ts `eventLevel`); `info` by default. */
  logLevel?: LogLevel;
  /** Replays only: also print the stack traces the run log kept for failed units. */
  stacks?: boolean;
}

export interface RunRenderer {
  onEvent(event: RunEvent): void;
  close(): Promise<void>;
  /** The folded view state so far (also for the caller's exit code or summary). */
  readonly state: ViewState;
}

/** True when CI or CONTINUOUS_INTEGRATION is set to anything but "0"/"false" (the rule ink itself uses). */
export function isCi(env: NodeJS.ProcessEnv = {}): boolean {
  return [env.CI, env.CONTINUOUS_INTEGRATION].some((v) => v !== undefined && v !== '0' && v !== 'false');
}

/** TUI only on an interactive terminal, not in CI, and not when the user asked for plain output. */
export function shouldUseTui(opts: {
  isTTY: boolean | undefined;
  noTui?: boolean;
  env?: NodeJS.ProcessEnv;
}): boolean {
  return !!opts.isTTY && !opts.noTui && !isCi(opts.env);
}

export async function createRunRenderer(opts: RendererOptions): Promise<RunRenderer> {
  const stream = opts.stream ?? process.stdout;
  if (!opts.tty) return createPlainRenderer(opts, stream);
  const { createInkRenderer } = await import('./ink-renderer.ts');
  return createInkRenderer(opts, stream);
}

/** Plain renderers with lines not written yet: written if the process exits in the same turn. */
const unflushed = new Set<() => void>();
let exitHooked = false;
function flushOnExit(flush: () => void): void {
  if (!exitHooked) process.on('exit', flushAll);
  exitHooked = true;
  unflushed.add(flush);
}
function flushAll(): void {
  for (const flush of [...unflushed]) flush();
}

function createPlainRenderer(opts: RendererOptions, stream: NodeJS.WriteStream): RunRenderer {
  const print = createPlainPrinter({ timeZone: opts.timeZone, level: opts.logLevel, stacks: opts.stacks });
  let state = initialViewState();
  // The lines of one turn of the event loop go out in one write: a no-op over a year of hourly data
  // prints 3,285 `skipped` lines, one write (a system call on a pipe or file) each otherwise.
  let pending = '';
  let flushing: NodeJS.Immediate | undefined;
  const flush = () => {
    if (flushing) clearImmediate(flushing);
    flushing = undefined;
    unflushed.delete(flush);
    if (pending) stream.write(pending);
    pending = '';
  };
  return {
    get state() {
      return state;
    },
    onEvent(event) {
      state = reduceView(state, event);
      const line = print(event);
      if (line === null) return;
      pending += line + '\n';
      if (!flushing) {
        flushing = setImmediate(flush);
        flushOnExit(flush);
      }
    },
    close: () => {
      flush();
      return Promise.resolve();
    },
  };
}

/**
 * Show a recorded run (`pipeline runs show ID`): on a TTY the final frame of the view, computed from
 * all events; otherwise the plain lines the run printed. Returns the final state.
 */
export async function replayRun(events: Iterable<RunEvent>, opts: RendererOptions): Promise<ViewState> {
  const stream = opts.stream ?? process.stdout;
  if (!opts.tty) {
    const renderer = createPlainRenderer(opts, stream);
    for (const event of events) renderer.onEvent(event);
    await renderer.close();
    return renderer.state;
  }
  const { replayFinalFrame } = await import('./ink-renderer.ts');
  const all = [...events];
  const state = replayFinalFrame(all, opts, stream);
  if (opts.stacks) stream.write(stackSection(all));
  return state;
}

/** Under the final frame of `runs show ID --verbose`: each failed unit's error and stack trace. */
function stackSection(events: RunEvent[]): string {
  const failed = events.filter((e) => e.type === 'failed');
  if (failed.length === 0) return 'No failed unit in this run.\n';
  const out: string[] = [];
  for (const e of failed) {
    out.push(`✗ ${e.asset}[${e.partition}] attempt=${e.attempt}: ${e.error}`);
    out.push(e.stack ? indentStack(e.stack) : '    (no stack trace in the run log)');
  }
  return out.join('\n') + '\n';
}
