import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../engine/events.ts';
import { eventsUntil, loadBatchRun, loadSampleRun } from './fixtures/sample-run.ts';
import {
  ERROR_SUMMARY_MAX,
  assetDurationMs,
  initialViewState,
  reduceAll,
  reduceView,
  runElapsedMs,
  unitsSettled,
  type AssetRow,
  type ViewState,
} from './reducer.ts';

const events = loadSampleRun();
const final = reduceAll(events);
const row = (s: ViewState, asset: string): AssetRow => {
  const r = s.assets.find((a) => a.asset === asset);
  if (!r) throw new Error(`no row ${asset}`);
  return r;
};
/** Snapshot just after comptages_metrics reported 3.3 GB of 6.2 GB (10:00:30). */
const midRun = reduceAll(eventsUntil(events, (e) => e.type === 'progress' && e.done === 3_300_000_000));

const RUN = '20251106T100000Z-7f3a';
const at = (s: string) => `2025-11-06T10:00:${s}Z`;
const base = { runId: RUN };

describe('reduceView over the sample run log', () => {
  it('keeps the run info and the totals', () => {
    expect(final.run).toMatchObject({
      id: RUN,
      command: 'materialize --all --from 2025-11-03 --to 2025-11-05',
      status: 'failed',
      startedAt: at('00.000'),
      finishedAt: at('58.700'),
      durationMs: 58_700,
      units: 15,
      toRun: 13,
      concurrency: 4,
      // materialized: weather 1 + bikes 3 + traffic 2 + comptages 3 + report 2 = 11;
      // skipped: weather 2 up_to_date + report 1 upstream_failed = 3; one failure, one retry (bikes 11-04).
      materialized: 11,
      skipped: 3,
      failed: 1,
      retries: 1,
    });
    expect(unitsSettled(final)).toBe(15);
    expect(runElapsedMs(final)).toBe(58_700);
  });

  it('counts the same totals live, before run_finished overrides them with the engine figures', () => {
    const live = reduceAll(events.filter((e) => e.type !== 'run_finished'));
    expect(live.run).toMatchObject({
      status: 'running',
      materialized: 11,
      skipped: 3,
      failed: 1,
      retries: 1,
    });
  });

  it('lists one row per asset in first-seen order', () => {
    expect(final.assets.map((a) => a.asset)).toEqual([
      'bikes_metrics',
      'weather_metrics',
      'traffic_metrics',
      'comptages_metrics',
      'daily_report',
    ]);
    expect(final.assets.map((a) => a.status)).toEqual(['done', 'done', 'partial', 'done', 'partial']);
  });

  it('sums rows, bytes and quarantine counts of bikes_metrics and keeps its check warn and retry', () => {
    const bikes = row(final, 'bikes_metrics');
    expect(bikes).toMatchObject({
      partitionsTotal: 3,
      partitionsDone: 3,
      materialized: 3,
      rows: 285, // 95 + 96 + 94
      bytes: 144_680, // 48213 + 48877 + 47590
      quarantined: { invalid_json: 2, negative_count: 1, unparsable_date: 3 },
      quarantinedTotal: 6, // 2 + 1 + 3
      retries: 1,
      checks: { pass: 2, warn: 1, fail: 0 },
      lastCheckIssue: {
        partition: '2025-11-05',
        check: 'failing_sensors',
        status: 'warn',
        blocking: false,
        message: '7 of 94 counters reported 0 all day',
      },
      running: [],
      progress: null,
      lastError: null,
    });
    // First unit_started 10:00:00.020 → last materialized 10:00:00.702.
    expect(assetDurationMs(bikes, final)).toBe(682);
  });

  it('marks traffic_metrics partial with the first line of its error', () => {
    const traffic = row(final, 'traffic_metrics');
    expect(traffic).toMatchObject({ materialized: 2, failed: 1, partitionsDone: 3, rows: 78 }); // 37 + 41
    expect(traffic.lastError).toEqual({
      partition: '2025-11-05',
      attempt: 1,
      summary:
        'SyntaxError: traffic_data.json (dt=2025-11-05/hour=14) is not valid JSON: Unexpected end of JSON input',
    });
  });

  it('counts skip reasons: weather is done (up_to_date skips are fine), the report partial (upstream_failed)', () => {
    expect(row(final, 'weather_metrics')).toMatchObject({
      status: 'done',
      materialized: 1,
      skipped: 2,
      skipReasons: { up_to_date: 2 },
    });
    const report = row(final, 'daily_report');
    expect(report).toMatchObject({
      status: 'partial',
      materialized: 2,
      skipped: 1,
      skipReasons: { upstream_failed: 1 },
      rows: 0, // the report is one object: no `rows` in its metadata
      bytes: 49_286, // 24576 + 24710
    });
  });

  it('sums comptages quarantine reasons across the partitions of its batch', () => {
    expect(row(final, 'comptages_metrics')).toMatchObject({
      rows: 10_210, // 3402 + 3398 + 3410
      quarantined: { unparsable_date: 12, negative_flow: 7 }, // negative_flow 4 + 3
      quarantinedTotal: 19,
    });
    // unit_started 10:00:00.410 → last materialized 10:00:58.500.
    expect(assetDurationMs(row(final, 'comptages_metrics'), final)).toBe(58_090);
  });

  it('shows running units and their progress mid-run', () => {
    const comptages = row(midRun, 'comptages_metrics');
    expect(comptages.status).toBe('running');
    expect(comptages.partitionsDone).toBe(0);
    expect(comptages.running.map((u) => u.partition)).toEqual(['2025-11-03', '2025-11-04', '2025-11-05']);
    expect(comptages.progress).toEqual({ done: 3_300_000_000, total: 6_200_000_000, unit: 'bytes' });
    expect(row(midRun, 'daily_report').status).toBe('pending');
    expect(row(midRun, 'traffic_metrics').status).toBe('partial');
    // Bikes 3 + weather 1 + traffic 2 materialized; 2 weather skips; 1 traffic failure.
    expect(midRun.run).toMatchObject({ status: 'running', materialized: 6, skipped: 2, failed: 1 });
    expect(unitsSettled(midRun)).toBe(9);
    // Without a clock the elapsed time stops at the last event (10:00:30); with one it runs on.
    expect(runElapsedMs(midRun)).toBe(30_000);
    expect(runElapsedMs(midRun, Date.parse(at('31.000')))).toBe(31_000);
    // comptages started at 00.410: 30.000 − 0.410.
    expect(assetDurationMs(comptages, midRun)).toBe(29_590);
  });

  it('is pure: earlier states are never modified', () => {
    let state = initialViewState();
    const snapshots: string[] = [];
    const states: ViewState[] = [];
    for (const e of events) {
      state = reduceView(state, e);
      states.push(state);
      snapshots.push(JSON.stringify(state));
    }
    states.forEach((s, i) => expect(JSON.stringify(s)).toBe(snapshots[i]));
    expect(JSON.stringify(reduceAll(events))).toBe(snapshots.at(-1));
  });
});

describe('reduceView edge cases', () => {
  const started: RunEvent = {
    ...base,
    type: 'run_started',
    at: at('00.000'),
    command: 'materialize x',
    assets: ['x'],
    units: 2,
    toRun: 2,
    concurrency: 2,
  };
  const assetStarted: RunEvent = {
    ...base,
    type: 'asset_started',
    at: at('00.001'),
    asset: 'x',
    partitions: 2,
  };
  const fail = (partition: string, error = 'boom'): RunEvent => ({
    ...base,
    type: 'failed',
    at: at('01.000'),
    asset: 'x',
    partition,
    error,
    attempt: 3,
  });
  const skip = (partition: string, reason: 'up_to_date' | 'upstream_failed'): RunEvent => ({
    ...base,
    type: 'skipped',
    at: at('01.000'),
    asset: 'x',
    partition,
    reason,
  });

  it('an asset whose units all failed is failed; all skipped is skipped', () => {
    const failed = reduceAll([started, assetStarted, fail('2025-11-01'), fail('2025-11-02')]);
    expect(failed.assets[0]!.status).toBe('failed');
    const upToDate = reduceAll([
      started,
      assetStarted,
      skip('2025-11-01', 'up_to_date'),
      skip('2025-11-02', 'up_to_date'),
    ]);
    expect(upToDate.assets[0]!.status).toBe('skipped');
    const blocked = reduceAll([
      started,
      assetStarted,
      skip('2025-11-01', 'upstream_failed'),
      skip('2025-11-02', 'upstream_failed'),
    ]);
    expect(blocked.assets[0]!.status).toBe('skipped');
  });

  it('an asset is running while some units are settled and others are not', () => {
    const s = reduceAll([started, assetStarted, skip('2025-11-01', 'up_to_date')]);
    expect(s.assets[0]).toMatchObject({ status: 'running', partitionsDone: 1, partitionsTotal: 2 });
  });

  it('does not count a repeated outcome twice', () => {
    const s = reduceAll([started, assetStarted, fail('2025-11-01'), fail('2025-11-01')]);
    expect(s.run.failed).toBe(1);
    expect(s.assets[0]).toMatchObject({ failed: 1, partitionsDone: 1, status: 'running' });
  });

  it('keeps a long error whole, with its causes, on one line (cut only past ERROR_SUMMARY_MAX)', () => {
    const withCauses =
      'Input "raw" (comptages_raw [all]) could not be read: ' +
      'EACCES: permission denied, open data/comptages.csv: ' +
      'the road-count export must be readable by the user running the pipeline';
    const s = reduceAll([started, fail('2025-11-01', withCauses)]);
    expect(s.assets[0]!.lastError!.summary).toBe(withCauses);
    const multiLine = reduceAll([started, fail('2025-11-01', 'first line\n  caused by: second line')]);
    expect(multiLine.assets[0]!.lastError!.summary).toBe('first line caused by: second line');
    const runaway = reduceAll([started, fail('2025-11-01', 'E'.repeat(ERROR_SUMMARY_MAX * 2))]);
    const summary = runaway.assets[0]!.lastError!.summary;
    expect(summary).toHaveLength(ERROR_SUMMARY_MAX);
    expect(summary.endsWith('…')).toBe(true);
  });

  it('creates a row for an asset seen without asset_started, and counts its seen units', () => {
    const s = reduceAll([started, fail('2025-11-01')]);
    expect(s.assets[0]).toMatchObject({
      asset: 'x',
      partitionsTotal: 1,
      partitionsDone: 1,
      status: 'failed',
    });
  });

  it('starts a fresh view when another run starts in the same stream', () => {
    const s = reduceAll([started, assetStarted, fail('2025-11-01'), { ...started, runId: 'other' }]);
    expect(s.run).toMatchObject({ id: 'other', failed: 0 });
    expect(s.assets).toEqual([]);
  });
});

describe('a batch asset (one compute call for all its days), from a recorded run', () => {
  const batch = loadBatchRun();
  const arc = (s: ViewState): AssetRow => row(s, 'comptages_arc_days');

  it('ends done 8/8 after run_finished, not running 8/9', () => {
    const s = reduceAll(batch);
    expect(arc(s)).toMatchObject({
      status: 'done',
      partitionsDone: 8,
      partitionsTotal: 8,
      materialized: 8,
      running: [],
      progress: null,
      rows: 24, // 3 arc-days per day
    });
    // Already before run_finished: every day is settled once the last "days written" event is in.
    const beforeEnd = reduceAll(batch.filter((e) => e.type !== 'run_finished'));
    expect(arc(beforeEnd)).toMatchObject({ status: 'done', partitionsDone: 8, partitionsTotal: 8 });
  });

  it('shows the days written while the batch still runs, reported on its first (settled) day', () => {
    const mid = reduceAll(eventsUntil(batch, (e) => e.type === 'progress' && e.done === 3 && e.total === 8));
    expect(arc(mid)).toMatchObject({
      status: 'running',
      partitionsDone: 3,
      partitionsTotal: 8,
      progress: { done: 3, total: 8, unit: 'days written' },
    });
    expect(arc(mid).running).toHaveLength(5);
  });

  it('run_finished leaves nothing running, even for a unit that never got an outcome', () => {
    const noOutcome = batch.filter(
      (e) => !(e.type === 'materialized' && e.partition === '2025-11-04') && e.type !== 'progress',
    );
    const s = reduceAll(noOutcome);
    expect(arc(s)).toMatchObject({ status: 'done', partitionsDone: 7, partitionsTotal: 8, running: [] });
  });
});

describe('blocking checks in the view', () => {
  const RUN2 = 'r-check';
  const ev = <T extends RunEvent['type']>(e: Extract<RunEvent, { type: T }>): RunEvent => e;
  const startedX = ev<'run_started'>({
    type: 'run_started',
    runId: RUN2,
    at: at('00.000'),
    command: 'materialize x',
    assets: ['x'],
    units: 1,
    toRun: 1,
    concurrency: 1,
  });
  const unit = { runId: RUN2, asset: 'x', partition: '2025-11-01' };
  const check = ev<'check'>({
    ...unit,
    type: 'check',
    at: at('00.500'),
    check: 'non_negative',
    status: 'fail',
    blocking: true,
    message: 'total is -3',
  });
  const failedByCheck = ev<'failed'>({
    ...unit,
    type: 'failed',
    at: at('00.600'),
    error: 'blocking check non_negative failed: total is -3',
    attempt: 1,
    check: 'non_negative',
  });
  const materialized = ev<'materialized'>({
    ...unit,
    type: 'materialized',
    at: at('00.550'),
    metadata: { rows: 4, bytes: 100, durationMs: 5, location: 'x', dataVersion: 'v' },
  });

  it('a failed event naming a check fails the unit and keeps the check', () => {
    const s = reduceAll([startedX, check, failedByCheck]);
    expect(s.assets[0]).toMatchObject({
      status: 'failed',
      failed: 1,
      materialized: 0,
      checks: { pass: 0, warn: 0, fail: 1 },
      lastError: {
        partition: '2025-11-01',
        check: 'non_negative',
        summary: failedByCheck.type === 'failed' ? failedByCheck.error : '',
      },
    });
    expect(s.run.failed).toBe(1);
  });

  it('turns a unit already counted as materialized into a failure when its blocking check fails', () => {
    const s = reduceAll([startedX, check, materialized, failedByCheck, failedByCheck]);
    expect(s.assets[0]).toMatchObject({
      status: 'failed',
      failed: 1,
      materialized: 0,
      partitionsDone: 1,
      rows: 4,
    });
    expect(s.run).toMatchObject({ materialized: 0, failed: 1 });
  });
});
