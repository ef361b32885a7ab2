/**
 * Wires the run event stream to a terminal: the ink view on a TTY (throttled re-renders, final frame on
 * close), plain lines otherwise. `replayRun` shows a recorded run log through the same view.
 */
import { createElement } from 'react';
import { render, renderToString, type Instance } from 'ink';
import type { RunEvent } from '../../engine/events.ts';
import { createPlainPrinter } from './plain.ts';
import { initialViewState, reduceAll, reduceView, type ViewState } from './reducer.ts';
import { RunView } from './RunView.tsx';

export interface RendererOptions {
  /** Use the ink view (true) or plain lines (false); see `shouldUseTui`. */
  tty: boolean;
  /** Where to write; process.stdout by default. */
  stream?: NodeJS.WriteStream;
  /** Layout width for the ink view; the stream's width (at most 120) or 80 by default. */
  columns?: number;
  /** Time zone of plain-line stamps; local by default. */
  timeZone?: string;
}

export interface RunRenderer {
  onEvent(event: RunEvent): void;
  close(): Promise<void>;
  /** The folded view state so far (also for the caller's exit code or summary). */
  readonly state: ViewState;
}

/** Interval between two ink re-renders (~10 fps), and of the clock tick when no event comes. */
const FRAME_MS = 100;
const TICK_MS = 1000;

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

function layoutColumns(opts: RendererOptions, stream: NodeJS.WriteStream): number {
  return opts.columns ?? Math.min(120, stream.columns || 80);
}

export function createRunRenderer(opts: RendererOptions): RunRenderer {
  const stream = opts.stream ?? process.stdout;
  return opts.tty ? createInkRenderer(opts, stream) : createPlainRenderer(opts, stream);
}

function createPlainRenderer(opts: RendererOptions, stream: NodeJS.WriteStream): RunRenderer {
  const print = createPlainPrinter({ timeZone: opts.timeZone });
  let state = initialViewState();
  return {
    get state() {
      return state;
    },
    onEvent(event) {
      state = reduceView(state, event);
      const line = print(event);
      if (line !== null) stream.write(line + '\n');
    },
    close: () => Promise.resolve(),
  };
}

function createInkRenderer(opts: RendererOptions, stream: NodeJS.WriteStream): RunRenderer {
  let state = initialViewState();
  let lastFrameAt = 0;
  let pending: NodeJS.Timeout | undefined;
  let closed = false;

  const view = (now: number | undefined) =>
    createElement(RunView, { state, now, columns: layoutColumns(opts, stream) });

  const instance: Instance = render(view(Date.now()), {
    stdout: stream,
    // The CLI owns SIGINT (it aborts the run and lets the view print its last frame).
    exitOnCtrlC: false,
    patchConsole: false,
    maxFps: 1000 / FRAME_MS,
  });

  const flush = () => {
    pending = undefined;
    if (closed) return;
    lastFrameAt = Date.now();
    instance.rerender(view(lastFrameAt));
  };

  // Keeps the elapsed time moving while a long unit emits nothing.
  const tick = setInterval(flush, TICK_MS);
  tick.unref();

  return {
    get state() {
      return state;
    },
    onEvent(event) {
      state = reduceView(state, event);
      if (closed || pending) return;
      pending = setTimeout(flush, Math.max(0, FRAME_MS - (Date.now() - lastFrameAt)));
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(tick);
      if (pending) clearTimeout(pending);
      // A finished run shows its own duration; an interrupted one the time until now.
      instance.rerender(view(state.run.finishedAt ? undefined : Date.now()));
      instance.unmount();
      await instance.waitUntilExit();
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
  const state = reduceAll(events);
  const columns = layoutColumns(opts, stream);
  stream.write(renderToString(createElement(RunView, { state, columns }), { columns }) + '\n');
  return state;
}
