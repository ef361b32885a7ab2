/**
 * The ink view of `pipeline upload` (TTY only), loaded on demand by upload-renderer.ts so plain runs never
 * load ink/react. Re-renders at most ~10 times a second, and every second for the clock and rate.
 */
import { createElement } from 'react';
import { finishEvent, initialUploadState, reduceUpload } from './upload-reducer.ts';
import type { UploadRenderer, UploadRendererOptions } from './upload-renderer.ts';
import { applyColorLevel } from './color.ts';
import { startLiveInk } from './live-ink.ts';
import { UploadView } from './UploadView.tsx';

export function createInkUploadRenderer(
  opts: UploadRendererOptions,
  stream: NodeJS.WriteStream,
): UploadRenderer {
  applyColorLevel(stream, opts.env);
  const clock = opts.clock ?? Date.now;
  const columns = opts.columns ?? Math.min(120, stream.columns || 80);
  let state = initialUploadState({ dryRun: opts.dryRun, startedAt: clock() });
  const view = (now: number | undefined) =>
    createElement(UploadView, { state, source: opts.source, target: opts.target, now, columns });
  const live = startLiveInk(stream, view, clock);
  let closing: Promise<void> | undefined;

  return {
    get state() {
      return state;
    },
    onEvent(event) {
      state = reduceUpload(state, event, clock());
      live.update();
    },
    close(error) {
      if (!closing) {
        state = reduceUpload(state, finishEvent(error), clock());
        // Finished: the view shows the summary with the sync's own duration.
        closing = live.close(() => view(undefined));
      }
      return closing;
    },
  };
}
