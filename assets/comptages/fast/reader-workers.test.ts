/**
 * ReaderWorkers: jobs run on kept worker threads; a job whose worker dies rejects with the error, and
 * the slot starts a new worker for the next job instead of waiting forever on a dead one.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { readLayout } from './layout.ts';
import { ReaderWorkers } from './reader-workers.ts';
import type { RangeResult, RangeTask } from './scan-range.ts';

const FIXTURE = fileURLToPath(
  new URL(
    '../../../test/fixtures/real/comptages-routiers-permanents/champs-elysees_arc4264_2023-2024_export.csv',
    import.meta.url,
  ),
);

async function scanTask(path: string): Promise<RangeTask> {
  const head = await readLayout(FIXTURE);
  if (head.ok !== true) throw new Error('fixture layout');
  const { layout } = head;
  return {
    path,
    key: 'f.csv',
    layout,
    start: layout.dataStart,
    end: layout.fileSize,
    days: null,
    maxRejects: 10,
  };
}

let workers: ReaderWorkers | null = null;
afterEach(() => workers?.close());

describe('ReaderWorkers', () => {
  it('runs several jobs on the same worker, in turn', async () => {
    workers = new ReaderWorkers();
    const task = await scanTask(FIXTURE);
    const first = await workers.run<RangeResult>(0, { kind: 'scan', task });
    const second = await workers.run<RangeResult>(0, { kind: 'scan', task });
    expect([first.rows, second.rows]).toEqual([1000, 1000]);
  });

  it('a worker that dies rejects its job; the next job on that slot gets a new worker', async () => {
    workers = new ReaderWorkers();
    const missing = await scanTask('/nonexistent/comptages.csv');
    await expect(workers.run(0, { kind: 'scan', task: missing })).rejects.toThrow(/ENOENT/);
    const ok = await workers.run<RangeResult>(0, { kind: 'scan', task: await scanTask(FIXTURE) });
    expect(ok.rows).toBe(1000);
  });
});
