/**
 * The ink view of a run (TTY only), loaded on demand by render.ts so plain runs never load ink/react.
 */
import { createElement } from 'react';
import { render, renderToString, type Instance } from 'ink';
import type { RunEvent } from '../../engine/events.ts';
import { initialViewState, reduceAll, reduceView, type ViewState } from './reducer.ts';
import type { RendererOptions, RunRenderer } from './render.ts';
import { RunView } from './RunView.tsx';

/** Interval between two ink re-renders (~10 fps), and of the clock tick when no event comes. */
const FRAME_MS = 100;
const TICK_MS = 1000;

function layoutColumns(opts: RendererOptions, stream: NodeJS.WriteStream): number {
  return opts.columns ?? Math.min(120, stream.columns || 80);
}

export function createInkRenderer(opts: RendererOptions, stream: NodeJS.WriteStream): RunRenderer {
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

/** The final frame of a recorded run, computed from all its events. */
export function replayFinalFrame(
  events: Iterable<RunEvent>,
  opts: RendererOptions,
  stream: NodeJS.WriteStream,
): ViewState {
  const state = reduceAll(events);
  const columns = layoutColumns(opts, stream);
  stream.write(renderToString(createElement(RunView, { state, columns }), { columns }) + '\n');
  return state;
}
