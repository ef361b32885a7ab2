/** Small text formatters shared by the ink view and the plain logger (pure, locale-independent). */

const BYTE_UNITS = ['KB', 'MB', 'GB', 'TB'] as const;

/** Decimal (SI) units with one decimal, as the data sources quote sizes: 1234 → "1.2 KB", 999 → "999 B". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1000) return `${Math.max(0, Math.round(bytes || 0))} B`;
  let value = bytes;
  let unit = -1;
  while (value >= 999.95 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

/** "34 ms", "1.2 s", "2m 05s", "1h 02m". */
export function formatDuration(ms: number): string {
  const safe = Math.max(0, Math.round(ms));
  if (safe < 1000) return `${safe} ms`;
  if (safe < 60_000) return `${(safe / 1000).toFixed(1)} s`;
  const totalSeconds = Math.floor(safe / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours === 0) return `${minutes}m ${String(seconds).padStart(2, '0')}s`;
  return `${hours}h ${String(minutes).padStart(2, '0')}m`;
}

/** Thousands separated by a comma whatever the locale, so output and tests are stable: 12345 → "12,345". */
export function formatCount(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Cut to `max` characters, marking the cut with an ellipsis. */
export function truncate(text: string, max: number): string {
  if (max <= 0) return '';
  return text.length <= max ? text : text.slice(0, Math.max(0, max - 1)) + '…';
}

/** The first non-empty line of a (possibly multi-line, stack-bearing) message, trimmed. */
export function firstLine(text: string): string {
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed) return trimmed;
  }
  return '';
}

/**
 * All of a message on one line, so an error keeps its causes: lines trimmed and joined by a space;
 * stack frames (`at …` lines, kept in the run log's `stack`) left out.
 */
export function joinLines(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^at\s/.test(line))
    .join(' ');
}

/**
 * A unit's error when a blocking check failed it: the error as is when it already names the check
 * (the engine's `blocking check NAME failed: …`), else prefixed with `check NAME failed: `.
 */
export function checkFailure(check: string | undefined, error: string): string {
  if (check === undefined || error.includes(`check ${check}`)) return error;
  return `check ${check} failed: ${error}`;
}

/** Right-pad (or cut) to an exact width so columns line up. */
export function padTo(text: string, width: number): string {
  const cut = truncate(text, width);
  return cut + ' '.repeat(Math.max(0, width - cut.length));
}

/** Left-pad (or cut) to an exact width for right-aligned numeric columns. */
export function padStartTo(text: string, width: number): string {
  const cut = truncate(text, width);
  return ' '.repeat(Math.max(0, width - cut.length)) + cut;
}

/** `done/total` progress text; byte counters are shown in byte units. */
export function formatProgress(done: number, total: number, unit?: string): string {
  if (unit === 'bytes') return `${formatBytes(done)}/${formatBytes(total)}`;
  return `${formatCount(done)}/${formatCount(total)}${unit ? ` ${unit}` : ''}`;
}

/** Whole percent, clamped to 0..100 (0 when the total is unknown). */
export function percent(done: number, total: number): number {
  if (!(total > 0)) return 0;
  return Math.min(100, Math.max(0, Math.floor((done / total) * 100)));
}

/** The raw-input line of a run summary in S3 mode: what was listed, downloaded and served from the cache. */
export function formatRawInputStats(s: {
  listRequests: number;
  listed: number;
  downloaded: number;
  downloadedBytes: number;
  fromCache: number;
}): string {
  const n = formatCount;
  return (
    `Raw input from S3: ${n(s.listed)} objects listed (${n(s.listRequests)} LIST requests), ` +
    `${n(s.downloaded)} downloaded (${formatBytes(s.downloadedBytes)}), ${n(s.fromCache)} served from the cache`
  );
}
