/**
 * Folds `pipeline upload`'s sync events (io-managers/s3/upload.ts `SyncEvent`) into what the upload view
 * shows: file and byte counters, the files in flight with their bytes, failures. Pure: every event comes
 * with the time it was seen, so tests replay exact figures.
 */
import type { SyncEvent } from '../../io-managers/s3/upload.ts';

export interface InFlightFile {
  key: string;
  bytes: number;
  /** `checking`: hashing the local file to compare with the remote object; `uploading`: being sent. */
  phase: 'checking' | 'uploading';
  /** Bytes the server has acknowledged (multipart: after each part; a single PUT: at its end). */
  loaded: number;
  multipart: boolean;
}

export interface UploadFailure {
  key: string;
  message: string;
}

export type UploadStatus = 'listing' | 'syncing' | 'done' | 'failed' | 'cancelled';

export interface UploadState {
  dryRun: boolean;
  status: UploadStatus;
  startedAt: number;
  finishedAt: number | null;
  /**
   * Time spent sending: the rate is measured over it, not over hashing or skipping (a sync that checks
   * 1 GB and re-sends one small file would otherwise show a meaningless rate). `sendingSince` is the start
   * of the current stretch with at least one upload in flight, `sendingMs` the stretches before it.
   */
  sendingMs: number;
  sendingSince: number | null;
  /** Local files and their bytes, known once the sync has listed both sides. */
  filesTotal: number | null;
  bytesTotal: number;
  /** Files settled: uploaded (or would be, in a dry run), skipped or failed. */
  filesDone: number;
  uploaded: number;
  uploadedBytes: number;
  skipped: number;
  skippedBytes: number;
  failed: number;
  failedBytes: number;
  /** Bytes acknowledged by the server so far, finished files and parts of those in flight. */
  sentBytes: number;
  /** In the order they were picked up. */
  inFlight: InFlightFile[];
  /** The latest failures (at most `MAX_FAILURES_KEPT`); `failed` counts them all. */
  failures: UploadFailure[];
  /** What stopped the sync as a whole (listing failed, bad credentials…), if anything. */
  fatal: string | null;
}

/**
 * Events the view folds: the sync's own, and the end of the command (`error` when it threw, `cancelled`
 * when it was stopped on request: Ctrl-C).
 */
export type UploadViewEvent = SyncEvent | { type: 'finish'; error?: string; cancelled?: boolean };

export const MAX_FAILURES_KEPT = 5;

/** The `finish` event for the end of the command, given what the sync threw, if it did. */
export function finishEvent(error?: unknown): UploadViewEvent {
  if (error === undefined) return { type: 'finish' };
  // By name: importing upload.ts's SyncCancelled class would load the AWS SDK into the view.
  if (error instanceof Error && error.name === 'SyncCancelled') return { type: 'finish', cancelled: true };
  return { type: 'finish', error: error instanceof Error ? error.message : String(error) };
}

export function initialUploadState(opts: { dryRun: boolean; startedAt: number }): UploadState {
  return {
    dryRun: opts.dryRun,
    status: 'listing',
    startedAt: opts.startedAt,
    finishedAt: null,
    sendingMs: 0,
    sendingSince: null,
    filesTotal: null,
    bytesTotal: 0,
    filesDone: 0,
    uploaded: 0,
    uploadedBytes: 0,
    skipped: 0,
    skippedBytes: 0,
    failed: 0,
    failedBytes: 0,
    sentBytes: 0,
    inFlight: [],
    failures: [],
    fatal: null,
  };
}

const withoutKey = (list: InFlightFile[], key: string): InFlightFile[] => list.filter((f) => f.key !== key);

function updateInFlight(
  list: InFlightFile[],
  key: string,
  change: (f: InFlightFile) => InFlightFile,
): InFlightFile[] {
  return list.map((f) => (f.key === key ? change(f) : f));
}

const isUploading = (f: InFlightFile): boolean => f.phase === 'uploading';

/** Ends the current sending stretch when the last upload in flight has left `inFlight`. */
function afterLeaving(state: UploadState, inFlight: InFlightFile[], at: number): UploadState {
  if (state.sendingSince === null || inFlight.some(isUploading)) return { ...state, inFlight };
  return {
    ...state,
    inFlight,
    sendingMs: state.sendingMs + Math.max(0, at - state.sendingSince),
    sendingSince: null,
  };
}

/** Bytes of a file acknowledged before it settled (to count only the rest when it completes). */
const loadedOf = (list: InFlightFile[], key: string): number => list.find((f) => f.key === key)?.loaded ?? 0;

export function reduceUpload(state: UploadState, event: UploadViewEvent, at: number): UploadState {
  switch (event.type) {
    case 'plan':
      return { ...state, status: 'syncing', filesTotal: event.files, bytesTotal: event.bytes };
    case 'check':
      return {
        ...state,
        inFlight: [
          ...withoutKey(state.inFlight, event.key),
          { key: event.key, bytes: event.bytes, phase: 'checking', loaded: 0, multipart: false },
        ],
      };
    case 'upload':
      return {
        ...state,
        sendingSince: state.sendingSince ?? at,
        inFlight: updateInFlight(state.inFlight, event.key, (f) => ({
          ...f,
          phase: 'uploading',
          multipart: event.multipart,
        })),
      };
    case 'bytes': {
      const before = loadedOf(state.inFlight, event.key);
      const loaded = Math.max(before, event.loaded);
      return {
        ...state,
        sentBytes: state.sentBytes + (loaded - before),
        inFlight: updateInFlight(state.inFlight, event.key, (f) => ({ ...f, loaded })),
      };
    }
    case 'done': {
      const base = {
        ...afterLeaving(state, withoutKey(state.inFlight, event.key), at),
        filesDone: state.filesDone + 1,
      };
      if (event.action === 'skip')
        return { ...base, skipped: state.skipped + 1, skippedBytes: state.skippedBytes + event.bytes };
      // A sent file counts whole once done, whatever its last byte event said.
      const sent = state.dryRun ? 0 : event.bytes - loadedOf(state.inFlight, event.key);
      return {
        ...base,
        uploaded: state.uploaded + 1,
        uploadedBytes: state.uploadedBytes + event.bytes,
        sentBytes: state.sentBytes + sent,
      };
    }
    case 'error':
      return {
        ...afterLeaving(state, withoutKey(state.inFlight, event.key), at),
        filesDone: state.filesDone + 1,
        failed: state.failed + 1,
        failedBytes: state.failedBytes + event.bytes,
        failures: [...state.failures, { key: event.key, message: event.message }].slice(-MAX_FAILURES_KEPT),
      };
    case 'finish': {
      // Cancelled: the counts are what was done before; the files cut off leave the in-flight list.
      if (event.cancelled)
        return { ...afterLeaving(state, [], at), status: 'cancelled', finishedAt: at, fatal: null };
      // A SyncError only sums up the per-file failures already listed; anything else stopped the sync.
      const fatal = event.error !== undefined && state.failed === 0 ? event.error : null;
      return {
        ...afterLeaving(state, [], at),
        status: event.error !== undefined || state.failed > 0 ? 'failed' : 'done',
        finishedAt: at,
        fatal,
      };
    }
  }
}

/** Local bytes dealt with so far: files settled (any outcome) plus acknowledged bytes of those in flight. */
export function settledBytes(state: UploadState): number {
  const inFlight = state.inFlight.reduce((sum, f) => sum + f.loaded, 0);
  return state.uploadedBytes + state.skippedBytes + state.failedBytes + inFlight;
}

/** Time since the start, up to the end once finished (or `now` while running; the start when unknown). */
export function elapsedMs(state: UploadState, now?: number): number {
  const end = state.finishedAt ?? now ?? state.startedAt;
  return Math.max(0, end - state.startedAt);
}

/** Bytes per second over the time spent sending; null before any byte is acknowledged or in a dry run. */
export function bytesPerSecond(state: UploadState, now?: number): number | null {
  if (state.sentBytes === 0) return null;
  const current = state.sendingSince === null ? 0 : (now ?? state.sendingSince) - state.sendingSince;
  const ms = state.sendingMs + Math.max(0, current);
  return ms > 0 ? (state.sentBytes * 1000) / ms : null;
}
