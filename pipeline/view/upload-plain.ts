/**
 * `pipeline upload` as plain lines (no TTY, CI, `--no-tui`): one line per settled file, in the format the
 * command has always printed, one per failed file, and a summary line at the end.
 */
import type { SyncEvent } from '../../io-managers/s3/upload.ts';
import { firstLine, truncate } from './format.ts';
import type { UploadState } from './upload-reducer.ts';

/** Failure messages are cut here so one file is always one line. */
const MESSAGE_MAX = 300;

/** The line for one sync event (no trailing newline), or null for steps not worth a line. */
export function uploadLine(event: SyncEvent, dryRun: boolean): string | null {
  switch (event.type) {
    case 'done':
      return `[${event.done}/${event.total}] ${dryRun ? 'would ' : ''}${event.action} ${event.key} (${event.reason})`;
    case 'error':
      return `[${event.done}/${event.total}] failed ${event.key}: ${truncate(firstLine(event.message), MESSAGE_MAX)}`;
    default:
      return null;
  }
}

/**
 * "Uploaded 3 files (1234 bytes), skipped 2 identical" (+ ", 1 failed"); exact byte counts for scripts.
 * Cancelled: "Upload cancelled: 3 of 10 files uploaded (1234 bytes), skipped 2 identical" (the files cut
 * off are neither: they are not on the server).
 */
export function uploadSummaryLine(state: UploadState): string {
  const failed = state.failed > 0 ? `, ${state.failed} failed` : '';
  if (state.status === 'cancelled') {
    const total = state.filesTotal ?? 0;
    return state.dryRun
      ? `Dry run cancelled after ${state.filesDone} of ${total} files: would upload ${state.uploaded} files (${state.uploadedBytes} bytes), skipped ${state.skipped} identical${failed}`
      : `Upload cancelled: ${state.uploaded} of ${total} files uploaded (${state.uploadedBytes} bytes), skipped ${state.skipped} identical${failed}`;
  }
  return `${state.dryRun ? 'Dry run: would upload' : 'Uploaded'} ${state.uploaded} files (${state.uploadedBytes} bytes), skipped ${state.skipped} identical${failed}`;
}
