import { stripVTControlCharacters } from 'node:util';
import type { ReactElement } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render } from 'ink-testing-library';
import type { RunEvent } from '../../engine/events.ts';
import { eventsUntil, loadBatchRun, loadSampleRun } from './fixtures/sample-run.ts';
import { reduceAll } from './reducer.ts';
import { RunView } from './RunView.tsx';

const events = loadSampleRun();
const final = reduceAll(events);
const midRun = reduceAll(eventsUntil(events, (e) => e.type === 'progress' && e.done === 3_300_000_000));

afterEach(() => cleanup());

function frameOf(element: ReactElement): string[] {
  const { lastFrame } = render(element);
  return stripVTControlCharacters(lastFrame() ?? '').split('\n');
}

/** The line that starts with `icon name`, squeezed to single spaces for readable assertions. */
function rowLine(lines: string[], icon: string, asset: string): string {
  const line = lines.find((l) => l.startsWith(`${icon} ${asset} `));
  if (!line) throw new Error(`no row "${icon} ${asset}" in:\n${lines.join('\n')}`);
  return line.replace(/ +/g, ' ').trim();
}

describe('RunView', () => {
  it('renders the final frame: every asset with its icon, figures, details and the totals', () => {
    const lines = frameOf(<RunView state={final} />);
    // icon name parts time rows quarantined (bikes: 00.020 → 00.702 = 682 ms, 285 rows, 6 quarantined).
    expect(rowLine(lines, '✓', 'bikes_metrics')).toBe('✓ bikes_metrics 3/3 682 ms 285 6');
    expect(rowLine(lines, '✓', 'weather_metrics')).toBe('✓ weather_metrics 3/3 109 ms 1');
    expect(rowLine(lines, '◐', 'traffic_metrics')).toBe('◐ traffic_metrics 3/3 595 ms 78');
    expect(rowLine(lines, '✓', 'comptages_metrics')).toBe('✓ comptages_metrics 3/3 58.1 s 10,210 19');
    // The report reports no rows: its ROWS cell stays blank (a size is no row count).
    expect(rowLine(lines, '◐', 'daily_report')).toBe('◐ daily_report 3/3 145 ms');

    const text = lines.join('\n');
    // Finished rows stay, in first-seen order.
    const order = [
      'bikes_metrics',
      'weather_metrics',
      'traffic_metrics',
      'comptages_metrics',
      'daily_report',
    ];
    const positions = order.map((a) => text.indexOf(a));
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    // Details under rows: the failure, the check warning, the blocked skip and the retry.
    // The error wraps to the width instead of being cut: its end is on the next line.
    expect(text).toContain(
      '    ✗ 2025-11-05: SyntaxError: traffic_data.json (dt=2025-11-05/hour=14) is not\n' +
        '    valid JSON: Unexpected end of JSON input',
    );
    expect(text).toContain(
      '    ! check failing_sensors warn 2025-11-05: 7 of 94 counters reported 0 all day',
    );
    expect(text).toContain('    ↷ skipped upstream_failed 1');
    expect(text).toContain('    ⟳ 1 retry');
    // Footer.
    expect(text).toContain('failed · 58.7 s · run 20251106T100000Z-7f3a · materialize --all');
    expect(text).toContain('✓ 11 materialized  ↷ 3 skipped  ✗ 1 failed  ⟳ 1 retry · 15/15 units');
  });

  it('renders a mid-run frame with a progress bar for the running asset and the pending one', () => {
    const lines = frameOf(<RunView state={midRun} />);
    // 3.3 GB of 6.2 GB = 53 % → 5 of 10 cells; running since 00.410, last event at 30.000 → 29.6 s.
    expect(rowLine(lines, '⟳', 'comptages_metrics')).toBe('⟳ comptages_metrics 0/3 █████░░░░░ 53% 29.6 s');
    expect(rowLine(lines, '·', 'daily_report')).toBe('· daily_report 0/3 pending');
    expect(rowLine(lines, '✓', 'bikes_metrics')).toBe('✓ bikes_metrics 3/3 682 ms 285 6');
    const text = lines.join('\n');
    expect(text).toContain('running · 30.0 s · run 20251106T100000Z-7f3a');
    expect(text).toContain('✓ 6 materialized  ↷ 2 skipped  ✗ 1 failed  ⟳ 1 retry · 9/15 units');
  });

  it('runs the clocks on the renderer’s `now` while the run is live', () => {
    const now = Date.parse('2025-11-06T10:00:31.000Z');
    const lines = frameOf(<RunView state={midRun} now={now} />);
    // comptages: 31.000 − 0.410 = 30.59 s → "30.6 s"; run: 31.0 s.
    expect(rowLine(lines, '⟳', 'comptages_metrics')).toContain(' 30.6 s');
    expect(lines.join('\n')).toContain('running · 31.0 s ·');
  });

  it('fits 80 columns, and cuts long names with an ellipsis', () => {
    const long = reduceAll([
      ...events.slice(0, 1),
      {
        type: 'asset_started',
        runId: '20251106T100000Z-7f3a',
        at: '2025-11-06T10:00:00.002Z',
        asset: 'a_really_long_asset_name_that_does_not_fit_in_the_column',
        partitions: 24,
      },
    ]);
    for (const state of [final, midRun, long]) {
      for (const line of frameOf(<RunView state={state} columns={80} />)) {
        expect(line.length).toBeLessThanOrEqual(80);
      }
    }
    const lines = frameOf(<RunView state={long} columns={80} />);
    // Name column at 80 columns: 80 − 54 fixed − 1 = 25 characters, the last one an ellipsis.
    expect(rowLine(lines, '·', 'a_really_long_asset_name…')).toBe('· a_really_long_asset_name… 0/24 pending');
  });
});

describe('RunView: rows, sizes, errors and checks', () => {
  it('shows Σ metadata.rows under ROWS, and the bytes written in a SIZE column from 100 columns', () => {
    const lines = frameOf(<RunView state={final} columns={110} />);
    expect(lines[0]).toMatch(/ROWS\s+QUAR\.\s+SIZE$/);
    // bikes: 95 + 96 + 94 rows, 144,680 B; the report: no rows, 49,286 B.
    expect(rowLine(lines, '✓', 'bikes_metrics')).toBe('✓ bikes_metrics 3/3 682 ms 285 6 144.7 KB');
    expect(rowLine(lines, '◐', 'daily_report')).toBe('◐ daily_report 3/3 145 ms 49.3 KB');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(110);
  });

  it('ends a batch asset run done 8/8 with its 24 rows', () => {
    // First unit_started 17:03:17.906 → last materialized 17:03:17.999.
    const lines = frameOf(<RunView state={reduceAll(loadBatchRun())} />);
    expect(rowLine(lines, '✓', 'comptages_arc_days')).toBe('✓ comptages_arc_days 8/8 93 ms 24');
  });

  const RUN = 'r-view';
  const started: RunEvent = {
    type: 'run_started',
    runId: RUN,
    at: '2025-11-06T10:00:00.000Z',
    command: 'materialize x',
    assets: ['x'],
    units: 2,
    toRun: 2,
    concurrency: 1,
  };
  const unit = (partition: string) => ({ runId: RUN, asset: 'x', partition });

  it('wraps a long error with its causes to the terminal width, whole', () => {
    const error =
      'Input "raw" (comptages_raw [all]) could not be read: EACCES: permission denied, open ' +
      "'/srv/data/comptages-routiers-permanents.csv': the road-count export must be readable by the " +
      'user running the pipeline (cause: mounted read-only for another uid)';
    const state = reduceAll([
      started,
      { ...unit('2025-11-01'), type: 'failed', at: '2025-11-06T10:00:01.000Z', error, attempt: 1 },
    ]);
    const lines = frameOf(<RunView state={state} columns={80} />);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    const start = lines.findIndex((l) => l.startsWith('    ✗ 2025-11-01: '));
    const detail = lines
      .slice(start, start + 5)
      .filter((l) => l.startsWith('    '))
      .map((l) => l.trim())
      .join(' ');
    expect(detail).toBe(`✗ 2025-11-01: ${error}`);
  });

  it('shows a unit failed by a blocking check as "check NAME failed" with its message, once', () => {
    const state = reduceAll([
      started,
      {
        ...unit('2025-11-01'),
        type: 'check',
        at: '2025-11-06T10:00:00.500Z',
        check: 'non_negative',
        status: 'fail',
        blocking: true,
        message: 'total is -3',
      },
      {
        ...unit('2025-11-01'),
        type: 'failed',
        at: '2025-11-06T10:00:00.600Z',
        error: 'total is -3',
        attempt: 1,
        check: 'non_negative',
      },
      {
        ...unit('2025-11-02'),
        type: 'check',
        at: '2025-11-06T10:00:00.700Z',
        check: 'coverage',
        status: 'warn',
        blocking: false,
        message: 'only 20 of 24 hours',
      },
      {
        ...unit('2025-11-02'),
        type: 'materialized',
        at: '2025-11-06T10:00:00.800Z',
        metadata: { rows: 4, bytes: 10, durationMs: 1, location: 'x', dataVersion: 'v' },
      },
    ]);
    const text = frameOf(<RunView state={state} />).join('\n');
    expect(text).toContain('    ✗ 2025-11-01: check non_negative failed: total is -3');
    expect(text).toContain(
      '    ! (1 warn, 1 fail; last) check coverage warn 2025-11-02: only 20 of 24 hours',
    );
  });
});
