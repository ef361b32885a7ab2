/**
 * Units recorded as having no data (skipped `no_data`) in the run view and the plain lines: counted as
 * skips that needed nothing, shown as "no data" with the range of partitions, never as problems.
 */
import { stripVTControlCharacters } from 'node:util';
import { render, cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../engine/events.ts';
import { createPlainPrinter, eventLevel } from './plain.ts';
import { reduceAll } from './reducer.ts';
import { RunView } from './RunView.tsx';

const RUN = '20251106T100000Z-0d0d';
const at = (s: string) => `2025-11-06T10:00:${s}Z`;
const base = { runId: RUN };
const noData = (asset: string, partition: string, s: string): RunEvent => ({
  ...base,
  type: 'skipped',
  at: at(s),
  asset,
  partition,
  reason: 'no_data',
  detail: `no report for ${partition}: no bikes, traffic, weather, comptages data that day`,
});

const events: RunEvent[] = [
  {
    ...base,
    type: 'run_started',
    at: at('00.000'),
    command: 'materialize --all --from 2024-01-01 --to 2024-01-03',
    assets: ['daily_report', 'bikes_metrics'],
    units: 5,
    toRun: 5,
    concurrency: 2,
  },
  { ...base, type: 'asset_started', at: at('00.001'), asset: 'daily_report', partitions: 3 },
  { ...base, type: 'asset_started', at: at('00.001'), asset: 'bikes_metrics', partitions: 2 },
  noData('daily_report', '2024-01-02', '00.100'),
  noData('daily_report', '2024-01-01', '00.200'),
  noData('daily_report', '2024-01-03', '00.300'),
  {
    ...base,
    type: 'materialized',
    at: at('00.400'),
    asset: 'bikes_metrics',
    partition: '2024-01-01',
    metadata: { rows: 2, bytes: 100, durationMs: 5, location: '/x', dataVersion: 'abc' },
  },
  noData('bikes_metrics', '2024-01-02', '00.500'),
  {
    ...base,
    type: 'run_finished',
    at: at('00.600'),
    status: 'success',
    materialized: 1,
    skipped: 4,
    noData: 4,
    failed: 0,
    durationMs: 600,
  },
];

afterEach(() => cleanup());

describe('no data in the run view', () => {
  it('counts no-data units as benign skips, with their range', () => {
    const s = reduceAll(events);
    expect(s.run).toMatchObject({ materialized: 1, skipped: 4, noData: 4, status: 'success' });
    const report = s.assets.find((r) => r.asset === 'daily_report')!;
    expect(report).toMatchObject({
      status: 'skipped',
      skipReasons: { no_data: 3 },
      noDataRange: { first: '2024-01-01', last: '2024-01-03' },
    });
    expect(s.assets.find((r) => r.asset === 'bikes_metrics')).toMatchObject({
      status: 'done',
      noDataRange: { first: '2024-01-02', last: '2024-01-02' },
    });
    // Live (before run_finished) the run counts them too.
    expect(reduceAll(events.slice(0, -1)).run.noData).toBe(4);
  });

  it('renders "no data" rows, the range once, and the count in the totals', () => {
    const { lastFrame } = render(<RunView state={reduceAll(events)} columns={100} />);
    const text = stripVTControlCharacters(lastFrame() ?? '');
    expect(text).toMatch(/↷ daily_report +3\/3 no data/);
    expect(text).toContain('∅ no data 3 (2024-01-01 … 2024-01-03)');
    expect(text).toContain('∅ no data 1 (2024-01-02)');
    expect(text).toContain('↷ 4 skipped (4 no data)');
    expect(text).not.toMatch(/↷ skipped no_data/); // not listed as a problem
  });

  it('prints one info line per no-data unit, and the count in the summary line', () => {
    const print = createPlainPrinter({ timeZone: 'UTC' });
    const lines = events.map(print).filter((l): l is string => l !== null);
    expect(lines).toContain(
      '[10:00:00] ↷ skipped daily_report[2024-01-01] no_data: no report for 2024-01-01: no bikes, ' +
        'traffic, weather, comptages data that day',
    );
    expect(lines.at(-1)).toBe(
      `[10:00:00] ■ run ${RUN} success: materialized=1 skipped=4 (no_data=4) failed=0 in 600 ms`,
    );
    expect(eventLevel(events[3]!)).toBe('info');
  });
});
