/**
 * The live view of `pipeline upload`: files and bytes done with bars, the transfer rate, the files in
 * flight (multipart ones with their own bar), failures, and once finished a summary line. Presentational
 * only: it renders an `UploadState` from upload-reducer.ts.
 */
import { Box, Text } from 'ink';
import {
  firstLine,
  formatBytes,
  formatCount,
  formatDuration,
  formatProgress,
  padStartTo,
  padTo,
  percent,
  truncate,
} from './format.ts';
import {
  bytesPerSecond,
  elapsedMs,
  settledBytes,
  type InFlightFile,
  type UploadState,
} from './upload-reducer.ts';

export interface UploadViewProps {
  state: UploadState;
  /** Local folder being synced. */
  source: string;
  /** `s3://bucket/prefix`. */
  target: string;
  /** Wall clock (ms epoch) for the elapsed time and rate while running; omitted in tests. */
  now?: number;
  /** Terminal width; the layout fits 80 columns. */
  columns?: number;
  /** In-flight rows shown at most (the rest are counted). */
  maxInFlight?: number;
}

const LABEL_W = 8;
const FIGURES_W = 17;
const BIG_BAR_W = 20;
const FILE_BAR_W = 10;
// In-flight row: "  ⟳ " name " " state (bar + percent) " " bytes.
const STATE_W = FILE_BAR_W + 5;
const FILE_FIXED_W = 4 + 1 + STATE_W + 1 + FIGURES_W;

function bar(done: number, total: number, width: number): string {
  const pct = percent(done, total);
  const filled = Math.round((pct / 100) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${padStartTo(`${pct}%`, 4)}`;
}

const plural = (n: number, word: string): string => `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;

function Totals({ state, now }: { state: UploadState; now?: number }) {
  if (state.filesTotal === null) {
    // Stopped before the listing ended: the summary line says why.
    if (state.finishedAt !== null) return null;
    return (
      <Text color="cyan">
        {padTo('Files', LABEL_W)}listing the local files and the bucket…{' '}
        {formatDuration(elapsedMs(state, now))}
      </Text>
    );
  }
  const rate = bytesPerSecond(state, now);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        {padTo('Files', LABEL_W)}
        {padTo(formatProgress(state.filesDone, state.filesTotal), FIGURES_W)}{' '}
        {bar(state.filesDone, state.filesTotal, BIG_BAR_W)}
      </Text>
      <Text wrap="truncate-end">
        {padTo(state.dryRun ? 'Checked' : 'Bytes', LABEL_W)}
        {padTo(formatProgress(settledBytes(state), state.bytesTotal, 'bytes'), FIGURES_W)}{' '}
        {bar(settledBytes(state), state.bytesTotal, BIG_BAR_W)}
        <Text color="cyan">{rate === null ? '' : `  ${formatBytes(rate)}/s`}</Text>
      </Text>
    </Box>
  );
}

function Counts({ state, now }: { state: UploadState; now?: number }) {
  return (
    <Text wrap="truncate-end">
      <Text color="green">
        ✓ {formatCount(state.uploaded)} {state.dryRun ? 'to upload' : 'uploaded'} (
        {formatBytes(state.uploadedBytes)})
      </Text>
      <Text color="blue">{`  ↷ ${formatCount(state.skipped)} identical`}</Text>
      <Text color={state.failed > 0 ? 'red' : undefined}>{`  ✗ ${formatCount(state.failed)} failed`}</Text>
      <Text dimColor>{`  · ${formatDuration(elapsedMs(state, now))}`}</Text>
    </Text>
  );
}

function fileState(f: InFlightFile): string {
  if (f.phase === 'checking') return 'checking';
  if (f.multipart) return bar(f.loaded, f.bytes, FILE_BAR_W);
  return 'uploading';
}

function InFlightRows({ state, columns, max }: { state: UploadState; columns: number; max: number }) {
  if (state.inFlight.length === 0) return null;
  const nameW = Math.max(12, columns - FILE_FIXED_W);
  const shown = state.inFlight.slice(0, max);
  const more = state.inFlight.length - shown.length;
  return (
    <Box flexDirection="column">
      <Text dimColor>In flight</Text>
      {shown.map((f) => (
        <Text key={f.key} wrap="truncate-end">
          <Text color={f.phase === 'uploading' ? 'cyan' : 'gray'}>
            {f.phase === 'uploading' ? '  ⟳ ' : '  · '}
          </Text>
          <Text bold={f.phase === 'uploading'}>{padTo(f.key, nameW)}</Text>{' '}
          <Text color={f.phase === 'uploading' ? 'cyan' : 'gray'}>{padTo(fileState(f), STATE_W)}</Text>{' '}
          {padStartTo(
            f.multipart ? formatProgress(f.loaded, f.bytes, 'bytes') : formatBytes(f.bytes),
            FIGURES_W,
          )}
        </Text>
      ))}
      {more > 0 && <Text dimColor>{`  … ${plural(more, 'more file')}`}</Text>}
    </Box>
  );
}

function Failures({ state, columns }: { state: UploadState; columns: number }) {
  if (state.failures.length === 0) return null;
  const hidden = state.failed - state.failures.length;
  return (
    <Box flexDirection="column">
      <Text color="red">
        {hidden > 0 ? `Failed (latest ${state.failures.length} of ${state.failed})` : 'Failed'}
      </Text>
      {state.failures.map((f) => (
        <Text key={f.key} color="red" wrap="truncate-end">
          {truncate(`  ✗ ${f.key}: ${firstLine(f.message)}`, columns)}
        </Text>
      ))}
    </Box>
  );
}

/** The closing line left on screen. */
export function summaryText(state: UploadState): string {
  const took = formatDuration(elapsedMs(state));
  if (state.fatal !== null) return `✗ Upload stopped after ${took}: ${firstLine(state.fatal)}`;
  const rate = bytesPerSecond(state);
  const bytes = `(${formatBytes(state.uploadedBytes)})`;
  const skipped = `${formatCount(state.skipped)} identical skipped`;
  if (state.status === 'cancelled') {
    const total = plural(state.filesTotal ?? 0, 'file');
    const failed = state.failed > 0 ? [`${formatCount(state.failed)} failed`] : [];
    const head = state.dryRun
      ? `■ Dry run cancelled after ${formatCount(state.filesDone)} of ${total}: would upload ${plural(state.uploaded, 'file')} ${bytes}`
      : `■ Upload cancelled: ${formatCount(state.uploaded)} of ${total} uploaded ${bytes}`;
    // Shorter than `skipped` above: the line already says more and should fit 80 columns.
    return [head, `${formatCount(state.skipped)} skipped`, ...failed, took].join(' · ');
  }
  const parts = state.dryRun
    ? [`✓ Dry run: would upload ${plural(state.uploaded, 'file')} ${bytes}`, skipped, 'nothing sent']
    : state.failed > 0
      ? [
          `✗ ${formatCount(state.failed)} of ${plural(state.filesTotal ?? state.filesDone, 'file')} failed`,
          `${formatCount(state.uploaded)} uploaded ${bytes}`,
          skipped,
          took,
        ]
      : [`✓ Uploaded ${plural(state.uploaded, 'file')} ${bytes}`, skipped, took];
  if (rate !== null && !state.dryRun && state.failed === 0) parts.push(`${formatBytes(rate)}/s`);
  return parts.join(' · ');
}

const SUMMARY_COLOR: Record<UploadState['status'], string> = {
  listing: 'cyan',
  syncing: 'cyan',
  done: 'green',
  failed: 'red',
  cancelled: 'yellow',
};

export function UploadView({ state, source, target, now, columns = 80, maxInFlight = 8 }: UploadViewProps) {
  const finished = state.finishedAt !== null;
  return (
    <Box flexDirection="column" width={columns}>
      <Text bold wrap="truncate-end">
        {state.dryRun ? 'Dry run: ' : ''}upload {source} → {target}
      </Text>
      <Totals state={state} now={now} />
      {finished || state.filesTotal === null ? null : <Counts state={state} now={now} />}
      {finished ? null : <InFlightRows state={state} columns={columns} max={maxInFlight} />}
      <Failures state={state} columns={columns} />
      {finished && (
        <Text color={SUMMARY_COLOR[state.status]} wrap="truncate-end">
          {truncate(summaryText(state), columns)}
        </Text>
      )}
    </Box>
  );
}
