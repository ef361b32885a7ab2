/**
 * The live run view: one row per asset (in first-seen order; finished rows stay), detail lines under
 * rows that failed, warned or were blocked, and a footer with the run totals. Presentational only: it
 * renders a `ViewState` from the reducer and never talks to the engine.
 */
import { Box, Text } from 'ink';
import type { SkipReason } from '../../engine/events.ts';
import {
  checkFailure,
  formatBytes,
  formatCount,
  formatDuration,
  padStartTo,
  padTo,
  percent,
  truncate,
} from './format.ts';
import {
  assetDurationMs,
  runElapsedMs,
  unitsSettled,
  type AssetRow,
  type AssetStatus,
  type RunStatus,
  type ViewState,
} from './reducer.ts';

export interface RunViewProps {
  state: ViewState;
  /** Wall clock (ms epoch) for the elapsed time of running work; omitted in replays and tests. */
  now?: number;
  /** Terminal width; the layout fits 80 columns and gives extra width to asset names. */
  columns?: number;
}

export const STATUS_ICON: Record<AssetStatus, string> = {
  done: '✓',
  failed: '✗',
  running: '⟳',
  pending: '·',
  skipped: '↷',
  partial: '◐',
};

const STATUS_COLOR: Record<AssetStatus, string> = {
  done: 'green',
  failed: 'red',
  running: 'cyan',
  pending: 'gray',
  skipped: 'blue',
  partial: 'yellow',
};

const RUN_STATUS_COLOR: Record<RunStatus, string> = {
  pending: 'gray',
  running: 'cyan',
  success: 'green',
  failed: 'red',
  cancelled: 'yellow',
};

// Column widths (characters). Name width is what is left of the terminal, within bounds.
const PARTS_W = 7;
const PROGRESS_W = 15;
const BAR_W = 10;
const TIME_W = 8;
const ROWS_W = 10;
const QUAR_W = 7;
const SIZE_W = 9;
const FIXED_W = 2 + 1 + PARTS_W + 1 + PROGRESS_W + 1 + TIME_W + 1 + ROWS_W + 1 + QUAR_W;
/** From this width on, a SIZE column (bytes written) follows QUAR. */
const SIZE_FROM_COLUMNS = 100;

const BENIGN_SKIPS: ReadonlySet<string> = new Set<SkipReason>(['up_to_date', 'early_cutoff', 'no_data']);

const showSize = (columns: number): boolean => columns >= SIZE_FROM_COLUMNS;

export function nameWidth(columns: number): number {
  const fixed = FIXED_W + (showSize(columns) ? 1 + SIZE_W : 0);
  return Math.min(40, Math.max(12, columns - fixed - 1));
}

function progressBar(done: number, total: number): string {
  const pct = percent(done, total);
  const filled = Math.round((pct / 100) * BAR_W);
  return `${'█'.repeat(filled)}${'░'.repeat(BAR_W - filled)} ${padStartTo(`${pct}%`, 4)}`;
}

/** What the progress column says: a bar while running with progress, else a short state word. */
function progressCell(row: AssetRow): string {
  if (row.status === 'running') {
    if (row.progress) return progressBar(row.progress.done, row.progress.total);
    return row.running.length > 1 ? `${row.running.length} running` : 'running';
  }
  if (row.status === 'skipped') {
    const reasons = Object.keys(row.skipReasons);
    return reasons.length === 1 ? reasons[0]!.replaceAll('_', ' ') : 'skipped';
  }
  if (row.status === 'pending') return 'pending';
  return '';
}

/** Σ rows of the materializations that reported a row count; blank when none did (never a size). */
function rowsCell(row: AssetRow): string {
  return row.rowsReported > 0 ? formatCount(row.rows) : '';
}

interface DetailLine {
  text: string;
  color: string;
  /** Errors and check messages wrap to the terminal width (their causes matter); notes are cut. */
  wrap?: boolean;
}

/** Lines under a row: the last error, the last warn/fail check, blocked skips and retries. */
function detailLines(row: AssetRow): DetailLine[] {
  const lines: DetailLine[] = [];
  const error = row.lastError;
  if (error) {
    const count = row.failed > 1 ? `${row.failed} failed, last ` : '';
    const text = `✗ ${count}${error.partition}: ${checkFailure(error.check, error.summary)}`;
    lines.push({ text, color: 'red', wrap: true });
  }
  const issue = row.lastCheckIssue;
  // The failed blocking check the error line already names is not repeated.
  const shownAsError =
    issue !== null &&
    error?.check === issue.check &&
    error.partition === issue.partition &&
    issue.status === 'fail';
  if (issue && !shownAsError) {
    // Counts only when there is more than the one issue shown.
    const counts =
      row.checks.warn + row.checks.fail > 1
        ? `(${[row.checks.warn && `${row.checks.warn} warn`, row.checks.fail && `${row.checks.fail} fail`]
            .filter(Boolean)
            .join(', ')}; last) `
        : '';
    const msg = issue.message ? `: ${issue.message}` : '';
    lines.push({
      text: `! ${counts}check ${issue.check} ${issue.status} ${issue.partition}${msg}`,
      color: issue.status === 'fail' ? 'red' : 'yellow',
      wrap: true,
    });
  }
  const notes: string[] = [];
  const reasons = Object.entries(row.skipReasons);
  if (reasons.some(([reason]) => !BENIGN_SKIPS.has(reason))) {
    notes.push(`↷ skipped ${reasons.map(([reason, n]) => `${reason} ${n}`).join(', ')}`);
  }
  const nd = row.skipReasons.no_data;
  if (nd && row.noDataRange) {
    const { first, last } = row.noDataRange;
    notes.push(`∅ no data ${formatCount(nd)} (${first === last ? first : `${first} … ${last}`})`);
  }
  if (row.retries > 0) notes.push(`⟳ ${row.retries} ${row.retries === 1 ? 'retry' : 'retries'}`);
  if (notes.length > 0) lines.push({ text: notes.join(' · '), color: 'gray' });
  return lines;
}

function AssetLine({
  row,
  state,
  now,
  columns,
}: {
  row: AssetRow;
  state: ViewState;
  now?: number;
  columns: number;
}) {
  const nameW = nameWidth(columns);
  const color = STATUS_COLOR[row.status];
  const parts = row.partitionsTotal > 0 ? `${row.partitionsDone}/${row.partitionsTotal}` : '';
  const started = row.startedAt !== null;
  const time = started ? formatDuration(assetDurationMs(row, state, now)) : '';
  const quarantined = row.quarantinedTotal > 0 ? formatCount(row.quarantinedTotal) : '';
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        <Text color={color}>{STATUS_ICON[row.status]} </Text>
        <Text bold={row.status === 'running'}>{padTo(row.asset, nameW)}</Text>
        <Text> {padStartTo(parts, PARTS_W)} </Text>
        <Text color={row.status === 'running' ? 'cyan' : 'gray'}>{padTo(progressCell(row), PROGRESS_W)}</Text>
        <Text> {padStartTo(time, TIME_W)}</Text>
        <Text> {padStartTo(rowsCell(row), ROWS_W)}</Text>
        <Text color="yellow"> {padStartTo(quarantined, QUAR_W)}</Text>
        {showSize(columns) && <Text> {padStartTo(row.bytes > 0 ? formatBytes(row.bytes) : '', SIZE_W)}</Text>}
      </Text>
      {detailLines(row).map((line, i) =>
        line.wrap ? (
          <Box key={i} paddingLeft={4} width={columns}>
            <Text color={line.color} wrap="wrap">
              {line.text}
            </Text>
          </Box>
        ) : (
          <Text key={i} color={line.color} wrap="truncate-end">
            {'    ' + truncate(line.text, columns - 4)}
          </Text>
        ),
      )}
    </Box>
  );
}

function Header({ columns }: { columns: number }) {
  const text =
    '  ' +
    padTo('ASSET', nameWidth(columns)) +
    ' ' +
    padStartTo('PARTS', PARTS_W) +
    ' ' +
    padTo('PROGRESS', PROGRESS_W) +
    ' ' +
    padStartTo('TIME', TIME_W) +
    ' ' +
    padStartTo('ROWS', ROWS_W) +
    ' ' +
    padStartTo('QUAR.', QUAR_W) +
    (showSize(columns) ? ' ' + padStartTo('SIZE', SIZE_W) : '');
  return (
    <Text dimColor wrap="truncate-end">
      {text}
    </Text>
  );
}

function Footer({ state, now, columns }: { state: ViewState; now?: number; columns: number }) {
  const { run } = state;
  // Status and time first: a long command line is what gets cut at narrow widths.
  const title = [
    run.status,
    formatDuration(runElapsedMs(state, now)),
    `run ${run.id ?? '(not started)'}`,
    run.command ?? undefined,
  ]
    .filter(Boolean)
    .join(' · ');
  const units = run.units > 0 ? ` · ${unitsSettled(state)}/${run.units} units` : '';
  return (
    <Box flexDirection="column">
      <Text dimColor>{'─'.repeat(Math.max(10, Math.min(columns, 120)))}</Text>
      <Text color={RUN_STATUS_COLOR[run.status]} wrap="truncate-end">
        {truncate(title, columns)}
      </Text>
      <Text wrap="truncate-end">
        <Text color="green">✓ {formatCount(run.materialized)} materialized</Text>
        <Text color="blue">
          {`  ↷ ${formatCount(run.skipped)} skipped${run.noData ? ` (${formatCount(run.noData)} no data)` : ''}`}
        </Text>
        <Text color={run.failed > 0 ? 'red' : undefined}>{`  ✗ ${formatCount(run.failed)} failed`}</Text>
        <Text color={run.retries > 0 ? 'yellow' : undefined}>
          {`  ⟳ ${formatCount(run.retries)} ${run.retries === 1 ? 'retry' : 'retries'}`}
        </Text>
        <Text dimColor>{units}</Text>
      </Text>
    </Box>
  );
}

export function RunView({ state, now, columns = 80 }: RunViewProps) {
  return (
    <Box flexDirection="column" width={columns}>
      <Header columns={columns} />
      {state.assets.map((row) => (
        <AssetLine key={row.asset} row={row} state={state} now={now} columns={columns} />
      ))}
      <Footer state={state} now={now} columns={columns} />
    </Box>
  );
}
