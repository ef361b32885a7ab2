import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../engine/events.ts';
import { loadSampleRun } from './fixtures/sample-run.ts';
import { createPlainPrinter, formatPlainLine } from './plain.ts';

const events = loadSampleRun();
const UTC = { timeZone: 'UTC' };
const find = (pred: (e: RunEvent) => boolean): RunEvent => {
  const e = events.find(pred);
  if (!e) throw new Error('no such event in the sample run');
  return e;
};

describe('formatPlainLine', () => {
  it('prints the example line of the brief', () => {
    const e: RunEvent = {
      type: 'materialized',
      runId: 'r1',
      at: '2025-11-06T12:00:01.250Z',
      asset: 'bikes_metrics',
      partition: '2025-11-04',
      metadata: { rows: 95, bytes: 1234, durationMs: 34, location: 'output/x.json', dataVersion: 'abc' },
    };
    // 1234 B / 1000 = 1.234 → "1.2 KB".
    expect(formatPlainLine(e, UTC)).toBe(
      '[12:00:01] ✓ materialized bikes_metrics[2025-11-04] rows=95 1.2 KB 34 ms',
    );
  });

  it('prints sample-run events as exact lines', () => {
    const lines = [
      find((e) => e.type === 'run_started'),
      find((e) => e.type === 'materialized' && e.asset === 'bikes_metrics' && e.partition === '2025-11-04'),
      find((e) => e.type === 'retry'),
      find((e) => e.type === 'failed'),
      find((e) => e.type === 'skipped' && e.reason === 'upstream_failed'),
      find((e) => e.type === 'check' && e.status === 'warn'),
      find((e) => e.type === 'progress' && e.done === 3_300_000_000),
      find((e) => e.type === 'materialized' && e.asset === 'daily_report'),
      find((e) => e.type === 'run_finished'),
    ].map((e) => formatPlainLine(e, UTC));
    expect(lines).toEqual([
      '[10:00:00] ▶ run 20251106T100000Z-7f3a started: materialize --all --from 2025-11-03 --to 2025-11-05 · ' +
        '5 assets, 15 units (13 to run), concurrency=4',
      // 48877 B → 48.9 KB; quarantine total 1 + 3.
      '[10:00:00] ✓ materialized bikes_metrics[2025-11-04] rows=96 48.9 KB 286 ms quarantined=4 ' +
        '(negative_count=1, unparsable_date=3)',
      '[10:00:00] ⟳ retry bikes_metrics[2025-11-04] attempt=1 failed, retrying in 180 ms: read ECONNRESET',
      // Only the first line of the error (the stack trace stays in the run log).
      '[10:00:00] ✗ failed traffic_metrics[2025-11-05] attempt=1: SyntaxError: traffic_data.json ' +
        '(dt=2025-11-05/hour=14) is not valid JSON: Unexpected end of JSON input',
      '[10:00:58] ↷ skipped daily_report[2025-11-05] upstream_failed: traffic_metrics[2025-11-05] failed',
      '[10:00:00] ! check bikes_metrics[2025-11-05] failing_sensors warn: 7 of 94 counters reported 0 all day',
      // 3.3e9 / 6.2e9 = 53.2 % → 53.
      '[10:00:30] ⟳ progress comptages_metrics[2025-11-03] 3.3 GB/6.2 GB (53%)',
      // No rows in the report's metadata: no rows= field. 24576 B → 24.6 KB.
      '[10:00:58] ✓ materialized daily_report[2025-11-03] 24.6 KB 128 ms',
      '[10:00:58] ✗ run 20251106T100000Z-7f3a failed: materialized=11 skipped=3 failed=1 in 58.7 s',
    ]);
  });

  it('never dumps metadata objects, locations or versions', () => {
    for (const e of events) {
      const line = formatPlainLine(e, UTC);
      if (line === null) continue;
      expect(line).not.toContain('\n');
      expect(line).not.toMatch(/[{}]|\[object|output\/|dataVersion|local:/);
    }
  });

  it('stamps the time in the requested zone (Paris is UTC+1 in November)', () => {
    const e = find((x) => x.type === 'run_finished');
    expect(formatPlainLine(e, { timeZone: 'Europe/Paris' })).toMatch(/^\[11:00:58\] /);
  });

  it('names the run reasons of a started unit', () => {
    const e = find((x) => x.type === 'unit_started' && x.asset === 'comptages_metrics');
    expect(formatPlainLine(e, UTC)).toBe(
      '[10:00:00] ⟳ started comptages_metrics[2025-11-03] attempt=1 reasons: input_changed comptages_raw[all]',
    );
  });
});

describe('formatPlainLine: errors and checks', () => {
  const unitOf = { runId: 'r1', at: '2025-11-06T12:00:01.000Z', asset: 'x', partition: '2025-11-04' };

  it('prints a failed unit’s error whole, with its causes (no cut at 80 or 300 characters)', () => {
    const error =
      'Input "raw" could not be read: ' + 'EACCES: permission denied, open /srv/data/file.csv: '.repeat(8);
    const line = formatPlainLine({ ...unitOf, type: 'failed', error: error.trim(), attempt: 2 }, UTC);
    expect(line).toBe(`[12:00:01] ✗ failed x[2025-11-04] attempt=2: ${error.trim()}`);
    expect(line!.length).toBeGreaterThan(400);
  });

  it('names the blocking check that failed a unit, and prints failed and warned checks', () => {
    expect(
      formatPlainLine(
        { ...unitOf, type: 'failed', error: 'total is -3', attempt: 1, check: 'non_negative' },
        UTC,
      ),
    ).toBe('[12:00:01] ✗ failed x[2025-11-04] attempt=1: check non_negative failed: total is -3');
    // The engine's own message already names the check: not repeated.
    const engineError = 'blocking check non_negative failed: total is -3 (value stored as data abc; …)';
    expect(
      formatPlainLine(
        { ...unitOf, type: 'failed', error: engineError, attempt: 1, check: 'non_negative' },
        UTC,
      ),
    ).toBe(`[12:00:01] ✗ failed x[2025-11-04] attempt=1: ${engineError}`);
    expect(
      formatPlainLine(
        {
          ...unitOf,
          type: 'check',
          check: 'non_negative',
          status: 'fail',
          blocking: true,
          message: 'total is -3',
        },
        UTC,
      ),
    ).toBe('[12:00:01] ✗ check x[2025-11-04] non_negative fail (blocking): total is -3');
  });

  it('names the new run reasons', () => {
    const line = formatPlainLine(
      {
        ...unitOf,
        type: 'unit_started',
        attempt: 1,
        reasons: [
          { kind: 'check_failed', check: 'non_negative' },
          { kind: 'upstream_stale', input: 'raw', asset: 'y', partition: '2025-11-04' },
          { kind: 'blocked_by_check', input: 'raw', asset: 'y', partition: '2025-11-04', check: 'c' },
        ],
      },
      UTC,
    );
    expect(line).toBe(
      '[12:00:01] ⟳ started x[2025-11-04] attempt=1 reasons: check_failed non_negative, ' +
        'upstream_stale y[2025-11-04], blocked_by_check c on y[2025-11-04]',
    );
  });
});

describe('createPlainPrinter', () => {
  it('prints one line per event but thins progress to one per unit per 10 s (plus 100 %)', () => {
    const print = createPlainPrinter(UTC);
    const lines = events.map(print).filter((l): l is string => l !== null);
    const progress = lines.filter((l) => l.includes(' progress '));
    // 7 progress events at 00.5, 10, 20, 30, 40, 50, 55 s: 10 s is only 9.5 s after the 00.5 line,
    // 55 s is only 5 s after 50 s but is the 100 % line.
    expect(progress.map((l) => l.slice(0, 10))).toEqual([
      '[10:00:00]',
      '[10:00:20]',
      '[10:00:30]',
      '[10:00:40]',
      '[10:00:50]',
      '[10:00:55]',
    ]);
    expect(lines).toHaveLength(events.length - 1);
  });
});

describe('LOG_LEVEL', () => {
  const linesAt = (level: 'debug' | 'info' | 'warn' | 'error'): string[] =>
    events.map(createPlainPrinter({ ...UTC, level })).filter((l): l is string => l !== null);

  it('info (the default) prints what it always did', () => {
    expect(linesAt('info')).toEqual(events.map(createPlainPrinter(UTC)).filter((l) => l !== null));
  });

  it('warn prints only the problems and the summary', () => {
    expect(linesAt('warn')).toEqual([
      '[10:00:00] ⟳ retry bikes_metrics[2025-11-04] attempt=1 failed, retrying in 180 ms: read ECONNRESET',
      '[10:00:00] ! check bikes_metrics[2025-11-05] failing_sensors warn: 7 of 94 counters reported 0 all day',
      '[10:00:00] · log traffic_metrics[2025-11-05] warn: hour=14: file ends at byte 81920',
      '[10:00:00] ✗ failed traffic_metrics[2025-11-05] attempt=1: SyntaxError: traffic_data.json ' +
        '(dt=2025-11-05/hour=14) is not valid JSON: Unexpected end of JSON input',
      '[10:00:58] ↷ skipped daily_report[2025-11-05] upstream_failed: traffic_metrics[2025-11-05] failed',
      '[10:00:58] ✗ run 20251106T100000Z-7f3a failed: materialized=11 skipped=3 failed=1 in 58.7 s',
    ]);
  });

  it('error prints only the failures and the summary', () => {
    expect(linesAt('error').map((l) => l.slice(11, 30))).toEqual([
      '✗ failed traffic_me',
      '✗ run 20251106T1000',
    ]);
  });

  it('debug prints every progress event and more detail', () => {
    const debug = linesAt('debug');
    expect(debug).toHaveLength(events.length); // no progress line thinned out
    expect(debug).toContain(
      '[10:00:00] ↷ skipped weather_metrics[2025-11-03] up_to_date ' +
        '(code and every input unchanged since its last materialization)',
    );
    const bikes = debug.find((l) => l.includes('materialized bikes_metrics[2025-11-05]'));
    expect(bikes).toBe(
      '[10:00:00] ✓ materialized bikes_metrics[2025-11-05] rows=94 47.6 KB 680 ms ' +
        'data=b05a9c3f at output/metrics/bikes_metrics_2025-11-05.json',
    );
  });
});

describe('stack traces (runs show ID --verbose)', () => {
  it('prints the run log’s stack trace, indented, under the failed unit’s line', () => {
    const print = createPlainPrinter({ ...UTC, stacks: true });
    const failed = events.map(print).find((l) => l?.includes('✗ failed'));
    expect(failed!.split('\n')).toEqual([
      '[10:00:00] ✗ failed traffic_metrics[2025-11-05] attempt=1: SyntaxError: traffic_data.json ' +
        '(dt=2025-11-05/hour=14) is not valid JSON: Unexpected end of JSON input',
      '    SyntaxError: traffic_data.json (dt=2025-11-05/hour=14) is not valid JSON: Unexpected end of JSON input',
      '        at JSON.parse (<anonymous>)',
      '        at loadHour (assets/traffic/raw.ts:41:17)',
    ]);
    expect(events.map(createPlainPrinter(UTC)).find((l) => l?.includes('✗ failed'))).not.toContain('\n');
  });
});
