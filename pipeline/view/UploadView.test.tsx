import { stripVTControlCharacters } from 'node:util';
import type { ReactElement } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render } from 'ink-testing-library';
import type { UploadState, UploadViewEvent } from './upload-reducer.ts';
import { fold, MiB, T0 } from './fixtures/upload-steps.ts';
import { UploadView } from './UploadView.tsx';

const BIG = 'raw/comptages/2025-11.csv';

afterEach(() => cleanup());

function frameOf(element: ReactElement): string[] {
  const { lastFrame } = render(element);
  return stripVTControlCharacters(lastFrame() ?? '').split('\n');
}

/** Lines squeezed to single spaces for readable assertions. */
const squeezed = (lines: string[]): string[] => lines.map((l) => l.replace(/ +/g, ' ').trim());

const view = (state: UploadState, now?: number) => (
  <UploadView state={state} source="/data/raw" target="s3://bucket/raw" now={now} />
);

/**
 * Four files, 20 MiB + 4500 B: a 20 MiB multipart file (parts 8, 8, 4 MiB) two parts in, a 1000 B file
 * being PUT, a 500 B identical file skipped, and a 3000 B file still being hashed.
 */
const midRun: Array<[number, UploadViewEvent]> = [
  [100, { type: 'plan', files: 4, bytes: 20 * MiB + 4500 }],
  [110, { type: 'check', key: BIG, bytes: 20 * MiB }],
  [120, { type: 'check', key: 'raw/a.csv', bytes: 1000 }],
  [130, { type: 'check', key: 'raw/same.csv', bytes: 500 }],
  [
    140,
    {
      type: 'done',
      key: 'raw/same.csv',
      action: 'skip',
      reason: 'same size and etag',
      bytes: 500,
      done: 1,
      total: 4,
    },
  ],
  [150, { type: 'check', key: 'raw/b.json', bytes: 3000 }],
  [500, { type: 'upload', key: BIG, bytes: 20 * MiB, reason: 'new', multipart: true }],
  [600, { type: 'upload', key: 'raw/a.csv', bytes: 1000, reason: 'size differs', multipart: false }],
  [1500, { type: 'bytes', key: BIG, loaded: 8 * MiB, total: 20 * MiB }],
  [2500, { type: 'bytes', key: BIG, loaded: 16 * MiB, total: 20 * MiB }],
];

/** The rest: a.csv and the big file complete; b.json fails (or goes up too) and the command ends. */
const rest = (bFails: boolean): Array<[number, UploadViewEvent]> => [
  [
    2600,
    bFails
      ? {
          type: 'error',
          key: 'raw/b.json',
          bytes: 3000,
          message: 'AccessDenied: Access Denied\n    at stack line',
          done: 2,
          total: 4,
        }
      : { type: 'done', key: 'raw/b.json', action: 'upload', reason: 'new', bytes: 3000, done: 2, total: 4 },
  ],
  [2700, { type: 'bytes', key: 'raw/a.csv', loaded: 1000, total: 1000 }],
  [
    2700,
    {
      type: 'done',
      key: 'raw/a.csv',
      action: 'upload',
      reason: 'size differs',
      bytes: 1000,
      done: 3,
      total: 4,
    },
  ],
  [3000, { type: 'bytes', key: BIG, loaded: 20 * MiB, total: 20 * MiB }],
  [3000, { type: 'done', key: BIG, action: 'upload', reason: 'new', bytes: 20 * MiB, done: 4, total: 4 }],
  [3100, bFails ? { type: 'finish', error: '1 of 4 files failed to upload' } : { type: 'finish' }],
];

describe('UploadView', () => {
  it('mid-sync: file and byte bars, rate, counts and the files in flight', () => {
    const lines = squeezed(frameOf(view(fold(midRun), T0 + 2500)));
    expect(lines[0]).toBe('upload /data/raw → s3://bucket/raw');
    // 1 of 4 files settled = 25 % → 5 of 20 cells.
    expect(lines[1]).toBe('Files 1/4 █████░░░░░░░░░░░░░░░ 25%');
    // Settled 500 B skipped + 16 MiB acknowledged = 16,777,716 B of 20,976,020 B = 79.99 % → 79 %,
    // 16 of 20 cells; 16.8 MB / 21.0 MB in decimal units. Rate: 16 MiB acknowledged (a.csv not yet) between the
    // first upload (t=0.5 s) and now (t=2.5 s) = 16,777,216 / 2 = 8.39 MB/s.
    expect(lines[2]).toBe('Bytes 16.8 MB/21.0 MB ████████████████░░░░ 79% 8.4 MB/s');
    expect(lines[3]).toBe('✓ 0 uploaded (0 B) ↷ 1 identical ✗ 0 failed · 2.5 s');
    expect(lines[4]).toBe('In flight');
    // Multipart: its own bar, 16 of 20 MiB = 80 %; the single PUT and the file being hashed: their size.
    expect(lines[5]).toBe(`⟳ ${BIG} ████████░░ 80% 16.8 MB/21.0 MB`);
    expect(lines[6]).toBe('⟳ raw/a.csv uploading 1.0 KB');
    expect(lines[7]).toBe('· raw/b.json checking 3.0 KB');
    expect(lines).toHaveLength(8);
  });

  it('finished: full bars, no in-flight rows, and the summary line left on screen', () => {
    const lines = squeezed(frameOf(view(fold([...midRun, ...rest(false)]))));
    expect(lines).toEqual([
      'upload /data/raw → s3://bucket/raw',
      'Files 4/4 ████████████████████ 100%',
      // 20 MiB + 4000 B sent while uploads were in flight, t=0.5 s to 3.0 s: 20,975,520 B / 2.5 s = 8.39 MB/s.
      'Bytes 21.0 MB/21.0 MB ████████████████████ 100% 8.4 MB/s',
      // 3 files: 20 MiB + 1000 + 3000 B = 20,975,520 B ≈ 21.0 MB; 3.1 s from the start.
      '✓ Uploaded 3 files (21.0 MB) · 1 identical skipped · 3.1 s · 8.4 MB/s',
    ]);
  });

  it('a failed file: listed with the first line of its message, and a failed summary', () => {
    const lines = squeezed(frameOf(view(fold([...midRun, ...rest(true)]))));
    expect(lines).toContain('Failed');
    expect(lines).toContain('✗ raw/b.json: AccessDenied: Access Denied');
    expect(lines.join('\n')).not.toContain('stack line');
    // 2 uploaded: 20 MiB + 1000 B ≈ 21.0 MB.
    expect(lines.at(-1)).toBe('✗ 1 of 4 files failed · 2 uploaded (21.0 MB) · 1 identical skipped · 3.1 s');
  });

  it('cancelled: the files done before it, no in-flight rows, and a cancelled summary', () => {
    // a.csv completes (t=2.7 s), then Ctrl-C at t=2.8 s cuts off the big file and b.json.
    const state = fold([...midRun, ...rest(false).slice(1, 3), [2800, { type: 'finish', cancelled: true }]]);
    const lines = squeezed(frameOf(view(state)));
    expect(lines).toEqual([
      'upload /data/raw → s3://bucket/raw',
      // 2 of 4 files settled (same.csv skipped, a.csv uploaded) = 50 % → 10 of 20 cells.
      'Files 2/4 ██████████░░░░░░░░░░ 50%',
      // Settled 500 + 1000 B of 20,976,020 B (the big file's acknowledged parts are dropped: it is not on the
      // server) = 0 %. Rate: 16 MiB + 1000 B sent from t=0.5 s to the cancel at 2.8 s = 7.29 MB/s.
      'Bytes 1.5 KB/21.0 MB ░░░░░░░░░░░░░░░░░░░░ 0% 7.3 MB/s',
      // a.csv: 1000 B = 1.0 KB; 2.8 s from the start.
      '■ Upload cancelled: 1 of 4 files uploaded (1.0 KB) · 1 skipped · 2.8 s',
    ]);
  });

  it('dry run: "Checked" bytes, no rate, and a would-upload summary', () => {
    const state = fold(
      [
        [10, { type: 'plan', files: 2, bytes: 2_500_000 }],
        [20, { type: 'check', key: 'raw/x.csv', bytes: 2_000_000 }],
        [
          30,
          {
            type: 'done',
            key: 'raw/x.csv',
            action: 'upload',
            reason: 'new',
            bytes: 2_000_000,
            done: 1,
            total: 2,
          },
        ],
        [40, { type: 'check', key: 'raw/y.csv', bytes: 500_000 }],
        [
          50,
          {
            type: 'done',
            key: 'raw/y.csv',
            action: 'skip',
            reason: 'same size and etag',
            bytes: 500_000,
            done: 2,
            total: 2,
          },
        ],
        [60, { type: 'finish' }],
      ],
      true,
    );
    expect(squeezed(frameOf(view(state)))).toEqual([
      'Dry run: upload /data/raw → s3://bucket/raw',
      'Files 2/2 ████████████████████ 100%',
      'Checked 2.5 MB/2.5 MB ████████████████████ 100%',
      '✓ Dry run: would upload 1 file (2.0 MB) · 1 identical skipped · nothing sent',
    ]);
  });

  it('while listing: says so, with the time spent', () => {
    const lines = squeezed(frameOf(view(fold([]), T0 + 300)));
    expect(lines).toEqual([
      'upload /data/raw → s3://bucket/raw',
      'Files listing the local files and the bucket… 300 ms',
    ]);
  });

  it('a sync stopped before listing ended: the reason only', () => {
    const state = fold([
      [1200, { type: 'finish', error: 'NoSuchBucket: The specified bucket does not exist' }],
    ]);
    expect(squeezed(frameOf(view(state)))).toEqual([
      'upload /data/raw → s3://bucket/raw',
      '✗ Upload stopped after 1.2 s: NoSuchBucket: The specified bucket does not exist',
    ]);
  });

  it('shows at most maxInFlight rows and counts the rest', () => {
    const steps: Array<[number, UploadViewEvent]> = [[0, { type: 'plan', files: 5, bytes: 500 }]];
    for (let i = 1; i <= 5; i++) steps.push([i, { type: 'check', key: `raw/f${i}.csv`, bytes: 100 }]);
    const { lastFrame } = render(
      <UploadView state={fold(steps)} source="d" target="s3://b/p" now={T0 + 10} maxInFlight={3} />,
    );
    const lines = squeezed(stripVTControlCharacters(lastFrame() ?? '').split('\n'));
    expect(lines.filter((l) => l.startsWith('· raw/f'))).toHaveLength(3);
    expect(lines.at(-1)).toBe('… 2 more files');
  });

  it('fits 80 columns and cuts a long key with an ellipsis', () => {
    const long = `raw/${'very-long-folder-name/'.repeat(6)}file.csv`;
    const state = fold([
      [0, { type: 'plan', files: 1, bytes: 30 * MiB }],
      [1, { type: 'check', key: long, bytes: 30 * MiB }],
      [2, { type: 'upload', key: long, bytes: 30 * MiB, reason: 'new', multipart: true }],
      [1002, { type: 'bytes', key: long, loaded: 8 * MiB, total: 30 * MiB }],
    ]);
    const lines = frameOf(view(state, T0 + 1002));
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    const row = lines.find((l) => l.startsWith('  ⟳ '));
    // 8 of 30 MiB = 26 % → 3 of 10 cells; 8.4 MB/31.5 MB.
    expect(row).toMatch(/^ {2}⟳ raw\/very-long-folder-name\/.*… ███░░░░░░░ {2}26% +8\.4 MB\/31\.5 MB$/);
  });
});
