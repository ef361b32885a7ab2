/**
 * One grep-friendly line per run event, for non-TTY output, `--no-tui` and CI. Lines name the unit as
 * `asset[partition]` and carry `key=value` figures; only chosen fields are printed, never whole objects.
 */
import type { MaterializedMetadata, RunEvent, RunReason, SkipReason } from '../../engine/events.ts';
import { shows, type LogLevel } from '../log.ts';
import {
  checkFailure,
  firstLine,
  formatBytes,
  formatCount,
  formatDuration,
  formatProgress,
  joinLines,
  percent,
  truncate,
} from './format.ts';

export interface PlainOptions {
  /** IANA zone for the `[HH:MM:SS]` stamp; the process's local zone by default. */
  timeZone?: string;
  /** `debug` lines carry more detail (locations, data versions, changed files, check metadata). */
  level?: LogLevel;
}

/** Log messages and skip details are cut here so one event is always one readable line. */
const MESSAGE_MAX = 300;

const timeFormats = new Map<string, Intl.DateTimeFormat>();
const two = (n: number): string => String(n).padStart(2, '0');

function clock(at: string, timeZone: string | undefined): string {
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return '--:--:--';
  // The machine's own zone needs no ICU formatter (building one costs ~15 ms of a no-op run's start).
  if (timeZone === undefined)
    return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
  let fmt = timeFormats.get(timeZone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    timeFormats.set(timeZone, fmt);
  }
  return fmt.format(date);
}

const unit = (e: { asset: string; partition: string }): string => `${e.asset}[${e.partition}]`;
const message = (text: string): string => truncate(firstLine(text), MESSAGE_MAX);
/** Errors and check messages whole, on one line: the terminal wraps them, and their causes stay. */
const whole = (text: string): string => joinLines(text);
const plural = (n: number, word: string): string => `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;

function reasonText(r: RunReason, debug = false): string {
  switch (r.kind) {
    case 'missing':
    case 'forced':
      return r.kind;
    case 'code_changed':
      return `code_changed ${r.from}→${r.to}${debug && r.changed?.length ? ` (${r.changed.join(' ')})` : ''}`;
    case 'input_changed':
      return `input_changed ${r.input}[${r.partition}]`;
    case 'last_failed':
      return 'last_failed';
    case 'upstream_will_run':
      return `upstream_will_run ${r.input}[${r.partition}]`;
    case 'check_failed':
      return `check_failed ${r.check}`;
    case 'upstream_stale':
      return `upstream_stale ${r.asset}[${r.partition}]`;
    case 'blocked_by_check':
      return `blocked_by_check ${r.check} on ${r.asset}[${r.partition}]`;
  }
}

function quarantineText(q: MaterializedMetadata['quarantined']): string {
  const entries = Object.entries(q ?? {}).filter(([, n]) => n > 0);
  if (entries.length === 0) return '';
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  const detail = entries.map(([reason, n]) => `${reason}=${n}`).join(', ');
  return ` quarantined=${total} (${detail})`;
}

/** Skips that mean nothing needed doing; the others are problems (shown from LOG_LEVEL=warn). */
const BENIGN_SKIPS: ReadonlySet<SkipReason> = new Set<SkipReason>([
  'up_to_date',
  'early_cutoff',
  'no_data',
  'cancelled',
]);

const SKIP_EXPLAINED: Record<SkipReason, string> = {
  up_to_date: 'code and every input unchanged since its last materialization',
  early_cutoff: 'its rebuilt inputs have the same data versions as before',
  no_data: 'its partition has no data: nothing stored, recorded as such until an input changes',
  upstream_failed: 'an input unit failed in this run',
  blocked_by_check: 'an input unit failed a blocking check',
  cancelled: 'the run was cancelled before this unit could finish',
};

/**
 * The LOG_LEVEL from which an event's line is printed: failures and errors `error`; retries, warnings,
 * failed or warned checks and blocked skips `warn`; the rest `info`. The run's summary line is always
 * printed (`null`).
 */
export function eventLevel(event: RunEvent): LogLevel | null {
  switch (event.type) {
    case 'run_finished':
      return null;
    case 'failed':
      return 'error';
    case 'retry':
      return 'warn';
    case 'log':
      return event.level;
    case 'check':
      return event.status === 'pass' ? 'info' : event.status === 'fail' && event.blocking ? 'error' : 'warn';
    case 'skipped':
      return BENIGN_SKIPS.has(event.reason) ? 'info' : 'warn';
    default:
      return 'info';
  }
}

const kv = (o: Record<string, unknown>): string =>
  Object.entries(o)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');

/** The line for one event (without a trailing newline), or null for events not worth a line. */
export function formatPlainLine(event: RunEvent, opts: PlainOptions = {}): string | null {
  const t = `[${clock(event.at, opts.timeZone)}]`;
  const debug = opts.level === 'debug';
  switch (event.type) {
    case 'run_started':
      return (
        `${t} ▶ run ${event.runId} started: ${event.command} · ${plural(event.assets.length, 'asset')}, ` +
        `${plural(event.units, 'unit')} (${formatCount(event.toRun)} to run), concurrency=${event.concurrency}`
      );
    case 'asset_started':
      return `${t} · asset ${event.asset} started (${plural(event.partitions, 'partition')})`;
    case 'unit_started': {
      const reasons = event.reasons.map((r) => reasonText(r, debug)).join(', ');
      return `${t} ⟳ started ${unit(event)} attempt=${event.attempt}${reasons ? ` reasons: ${reasons}` : ''}`;
    }
    case 'progress':
      return (
        `${t} ⟳ progress ${unit(event)} ${formatProgress(event.done, event.total, event.unit)} ` +
        `(${percent(event.done, event.total)}%)`
      );
    case 'log':
      return `${t} · log ${unit(event)} ${event.level}: ${message(event.message)}`;
    case 'materialized': {
      const m = event.metadata;
      const rows = m.rows === undefined ? '' : ` rows=${m.rows}`;
      return (
        `${t} ✓ materialized ${unit(event)}${rows} ${formatBytes(m.bytes)} ${formatDuration(m.durationMs)}` +
        quarantineText(m.quarantined) +
        (debug
          ? ` data=${m.dataVersion} at ${m.location}${m.sources?.length ? ` from ${m.sources.join(', ')}` : ''}`
          : '')
      );
    }
    case 'skipped':
      return (
        `${t} ↷ skipped ${unit(event)} ${event.reason}${event.detail ? `: ${message(event.detail)}` : ''}` +
        (debug ? ` (${SKIP_EXPLAINED[event.reason]})` : '')
      );
    case 'retry':
      return (
        `${t} ⟳ retry ${unit(event)} attempt=${event.attempt} failed, retrying in ` +
        `${formatDuration(event.delayMs)}: ${whole(event.error)}`
      );
    case 'failed':
      return (
        `${t} ✗ failed ${unit(event)} attempt=${event.attempt}: ` +
        whole(checkFailure(event.check, event.error))
      );
    case 'check': {
      const icon = event.status === 'pass' ? '✓' : event.status === 'warn' ? '!' : '✗';
      const blocking = event.blocking ? ' (blocking)' : '';
      const msg = event.message ? `: ${whole(event.message)}` : '';
      const meta =
        debug && event.metadata && Object.keys(event.metadata).length ? ` {${kv(event.metadata)}}` : '';
      return `${t} ${icon} check ${unit(event)} ${event.check} ${event.status}${blocking}${msg}${meta}`;
    }
    case 'run_finished': {
      const icon = event.status === 'success' ? '■' : '✗';
      return (
        `${t} ${icon} run ${event.runId} ${event.status}: materialized=${event.materialized} ` +
        `skipped=${event.skipped}${event.noData ? ` (no_data=${event.noData})` : ''} failed=${event.failed} ` +
        `in ${formatDuration(event.durationMs)}`
      );
    }
  }
}

export interface PlainPrinterOptions extends PlainOptions {
  /**
   * Least time between two progress lines of the same unit, measured on event stamps (default 10 s;
   * 0 at LOG_LEVEL=debug).
   */
  progressEveryMs?: number;
  /** With `runs show ID --verbose`: the stack trace kept in the run log under a failed unit's line. */
  stacks?: boolean;
}

/**
 * Turns a stream of events into lines, thinning `progress` events (which can come many times a second)
 * to one line per unit per interval, plus the final 100% line. Throttled on event `at` stamps, so a
 * replayed log prints exactly what the live run printed.
 */
export function createPlainPrinter(opts: PlainPrinterOptions = {}): (event: RunEvent) => string | null {
  const level = opts.level ?? 'info';
  const every = opts.progressEveryMs ?? (level === 'debug' ? 0 : 10_000);
  const lastProgressAt = new Map<string, number>();
  return (event) => {
    const eventAt = eventLevel(event);
    if (eventAt !== null && !shows(level, eventAt)) return null;
    if (event.type === 'progress') {
      const key = unit(event);
      const at = Date.parse(event.at);
      const last = lastProgressAt.get(key);
      const complete = event.total > 0 && event.done >= event.total;
      if (!complete && last !== undefined && at - last < every) return null;
      lastProgressAt.set(key, at);
    } else if (event.type === 'materialized' || event.type === 'failed' || event.type === 'skipped') {
      lastProgressAt.delete(unit(event));
    }
    const line = formatPlainLine(event, opts);
    if (opts.stacks && line !== null && event.type === 'failed' && event.stack) {
      return line + '\n' + indentStack(event.stack);
    }
    return line;
  };
}

/** A stack trace under its line, indented, its blank lines dropped. */
export function indentStack(stack: string): string {
  return stack
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .map((l) => `    ${l.trimEnd()}`)
    .join('\n');
}
