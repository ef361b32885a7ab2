/**
 * The ink view of `pipeline upload` (TTY only), loaded on demand by upload-renderer.ts so plain runs never
 * load ink/react. Re-renders at most ~10 times a second, and every second for the clock and rate.
 */
import { createElement } from 'react';
import { render, type Instance } from 'ink';
import { finishEvent, initialUploadState, reduceUpload } from './upload-reducer.ts';
import type { UploadRenderer, UploadRendererOptions } from './upload-renderer.ts';
import { UploadView } from './UploadView.tsx';

const FRAME_MS = 100;
const TICK_MS = 1000;

export function createInkUploadRenderer(
  opts: UploadRendererOptions,
  stream: NodeJS.WriteStream,
): UploadRenderer {
  const clock = opts.clock ?? Date.now;
  const columns = opts.columns ?? Math.min(120, stream.columns || 80);
  let state = initialUploadState({ dryRun: opts.dryRun, startedAt: clock() });
  let lastFrameAt = 0;
  let pending: NodeJS.Timeout | undefined;
  let closed = false;

  const view = (now: number | undefined) =>
    createElement(UploadView, { state, source: opts.source, target: opts.target, now, columns });

  const instance: Instance = render(view(clock()), {
    stdout: stream,
    exitOnCtrlC: false,
    patchConsole: false,
    maxFps: 1000 / FRAME_MS,
  });

  const flush = () => {
    pending = undefined;
    if (closed) return;
    lastFrameAt = clock();
    instance.rerender(view(lastFrameAt));
  };
  const tick = setInterval(flush, TICK_MS);
  tick.unref();

  return {
    get state() {
      return state;
    },
    onEvent(event) {
      state = reduceUpload(state, event, clock());
      if (closed || pending) return;
      pending = setTimeout(flush, Math.max(0, FRAME_MS - (clock() - lastFrameAt)));
    },
    async close(error) {
      if (closed) return;
      closed = true;
      clearInterval(tick);
      if (pending) clearTimeout(pending);
      state = reduceUpload(state, finishEvent(error), clock());
      // Finished: the view shows the summary with the sync's own duration.
      instance.rerender(view(undefined));
      instance.unmount();
      await instance.waitUntilExit();
    },
  };
}
