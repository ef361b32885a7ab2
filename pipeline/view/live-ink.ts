/**
 * A live ink frame on a terminal: re-rendered at most ~10 times a second after updates, and every
 * second so clocks and rates move while nothing happens; closed with a final frame left on screen.
 * Shared by the run view and the upload view (both load it, and ink, only on a TTY).
 */
import type { ReactElement } from 'react';
import { render, type Instance } from 'ink';

const FRAME_MS = 100;
const TICK_MS = 1000;

export interface LiveInk {
  /** Something changed: re-render soon (throttled). */
  update(): void;
  /** Renders `final` one last time and unmounts (idempotent). */
  close(final: () => ReactElement): Promise<void>;
}

/** `frame(now)` draws the view at clock time `now`. */
export function startLiveInk(
  stream: NodeJS.WriteStream,
  frame: (now: number) => ReactElement,
  clock: () => number = Date.now,
): LiveInk {
  let lastFrameAt = 0;
  let pending: NodeJS.Timeout | undefined;
  let closed = false;
  const instance: Instance = render(frame(clock()), {
    stdout: stream,
    // The CLI owns SIGINT (it aborts the work and lets the view print its last frame).
    exitOnCtrlC: false,
    patchConsole: false,
    maxFps: 1000 / FRAME_MS,
  });
  const flush = () => {
    pending = undefined;
    if (closed) return;
    lastFrameAt = clock();
    instance.rerender(frame(lastFrameAt));
  };
  const tick = setInterval(flush, TICK_MS);
  tick.unref();
  return {
    update() {
      if (closed || pending) return;
      pending = setTimeout(flush, Math.max(0, FRAME_MS - (clock() - lastFrameAt)));
    },
    async close(final) {
      if (closed) return;
      closed = true;
      clearInterval(tick);
      if (pending) clearTimeout(pending);
      instance.rerender(final());
      instance.unmount();
      await instance.waitUntilExit();
    },
  };
}
