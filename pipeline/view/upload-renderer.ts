/**
 * Wires `pipeline upload`'s sync events to a terminal: the ink view (UploadView) on a TTY, throttled,
 * with its final frame left on screen; plain lines otherwise (upload-plain.ts). Like render.ts, ink and
 * react are loaded only for the TTY view (upload-ink-renderer.ts).
 */
import type { SyncEvent } from '../../io-managers/s3/upload.ts';
import { uploadLine, uploadSummaryLine } from './upload-plain.ts';
import { finishEvent, initialUploadState, reduceUpload, type UploadState } from './upload-reducer.ts';

export interface UploadRendererOptions {
  /** The ink view (true) or plain lines (false); decide with render.ts `shouldUseTui`. */
  tty: boolean;
  dryRun: boolean;
  /** Local folder being synced. */
  source: string;
  /** `s3://bucket/prefix`. */
  target: string;
  /** Where to write; process.stdout by default. */
  stream?: NodeJS.WriteStream;
  /** Layout width of the ink view; the stream's width (at most 120) or 80 by default. */
  columns?: number;
  /** Time source (ms epoch); Date.now by default. */
  clock?: () => number;
  /** Environment for NO_COLOR / FORCE_COLOR (see color.ts); process.env by default. */
  env?: NodeJS.ProcessEnv;
}

export interface UploadRenderer {
  onEvent(event: SyncEvent): void;
  /**
   * Ends the view: the final frame, or the plain summary line. `error` is what the sync threw, if it did:
   * a SyncError (some files failed) still gets its summary; any other error stopped the sync and is the
   * caller's to report.
   */
  close(error?: unknown): Promise<void>;
  readonly state: UploadState;
}

export async function createUploadRenderer(opts: UploadRendererOptions): Promise<UploadRenderer> {
  const stream = opts.stream ?? process.stdout;
  if (!opts.tty) return createPlainUploadRenderer(opts, stream);
  const { createInkUploadRenderer } = await import('./upload-ink-renderer.ts');
  return createInkUploadRenderer(opts, stream);
}

function createPlainUploadRenderer(opts: UploadRendererOptions, stream: NodeJS.WriteStream): UploadRenderer {
  const clock = opts.clock ?? Date.now;
  let state = initialUploadState({ dryRun: opts.dryRun, startedAt: clock() });
  let closed = false;
  return {
    get state() {
      return state;
    },
    onEvent(event) {
      state = reduceUpload(state, event, clock());
      const line = uploadLine(event, opts.dryRun);
      if (line !== null) stream.write(line + '\n');
    },
    close(error) {
      if (closed) return Promise.resolve();
      closed = true;
      state = reduceUpload(state, finishEvent(error), clock());
      if (state.fatal === null) stream.write(uploadSummaryLine(state) + '\n');
      return Promise.resolve();
    },
  };
}
