import { stripVTControlCharacters } from 'node:util';
import type { ReactElement } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render } from 'ink-testing-library';
import { eventsUntil, loadSampleRun } from './fixtures/sample-run.ts';
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
    // The report has no rows: its size (24576 + 24710 B = 49.3 KB) stands in.
    expect(rowLine(lines, '◐', 'daily_report')).toBe('◐ daily_report 3/3 145 ms 49.3 KB');

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
    expect(text).toContain('    ✗ 2025-11-05: SyntaxError: traffic_data.json (dt=2025-11-05/hour=14) is not');
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
