/**
 * The ink view of a run (TTY only), loaded on demand by render.ts so plain runs never load ink/react.
 */
import { createElement } from 'react';
import { renderToString } from 'ink';
import type { RunEvent } from '../../engine/events.ts';
import { initialViewState, reduceAll, reduceView, type ViewState } from './reducer.ts';
import type { RendererOptions, RunRenderer } from './render.ts';
import { applyColorLevel } from './color.ts';
import { startLiveInk } from './live-ink.ts';
import { RunView } from './RunView.tsx';

function layoutColumns(opts: RendererOptions, stream: NodeJS.WriteStream): number {
  return opts.columns ?? Math.min(120, stream.columns || 80);
}

export function createInkRenderer(opts: RendererOptions, stream: NodeJS.WriteStream): RunRenderer {
  applyColorLevel(stream, opts.env);
  let state = initialViewState();
  const view = (now: number | undefined) =>
    createElement(RunView, { state, now, columns: layoutColumns(opts, stream) });
  const live = startLiveInk(stream, view);
  return {
    get state() {
      return state;
    },
    onEvent(event) {
      state = reduceView(state, event);
      live.update();
    },
    // A finished run shows its own duration; an interrupted one the time until now.
    close: () => live.close(() => view(state.run.finishedAt ? undefined : Date.now())),
  };
}

/** The final frame of a recorded run, computed from all its events. */
export function replayFinalFrame(
  events: Iterable<RunEvent>,
  opts: RendererOptions,
  stream: NodeJS.WriteStream,
): ViewState {
  applyColorLevel(stream, opts.env);
  const state = reduceAll(events);
  const columns = layoutColumns(opts, stream);
  stream.write(renderToString(createElement(RunView, { state, columns }), { columns }) + '\n');
  return state;
}
