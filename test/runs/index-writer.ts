/**
 * A child process for test/runs/run-index.test.ts: writes run logs through the real StateStore appender
 * (which keeps the run index), as a run's process does.
 *   argv: STATE_DIR PREFIX COUNT [hang]
 * Writes COUNT runs (start, one materialized unit, end). With `hang`, writes one run's start and a
 * unit, prints "started", and waits to be killed.
 */
import { StateStore } from '../../engine/state.ts';

const [dir, prefix, countText, mode] = process.argv.slice(2) as [string, string, string, string?];
const state = new StateStore(dir);
const at = () => new Date().toISOString();

function write(runId: string, end: boolean): void {
  const log = state.openRunLog(runId);
  log({
    type: 'run_started',
    runId,
    at: at(),
    command: `test ${prefix}`,
    assets: ['a'],
    units: 1,
    toRun: 1,
    concurrency: 1,
  });
  log({
    type: 'materialized',
    runId,
    at: at(),
    asset: 'a',
    partition: 'all',
    metadata: { bytes: 1, durationMs: 1, location: 'x', dataVersion: 'v' },
  });
  if (end)
    log({
      type: 'run_finished',
      runId,
      at: at(),
      status: 'success',
      materialized: 1,
      skipped: 0,
      failed: 0,
      durationMs: 1,
    });
}

if (mode === 'hang') {
  write(`${prefix}-0`, false);
  console.log('started');
  setInterval(() => {}, 1000);
} else {
  for (let i = 0; i < Number(countText); i++) write(`${prefix}-${String(i).padStart(4, '0')}`, true);
  console.log('done');
}
