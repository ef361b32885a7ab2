/**
 * The upload renderer on both paths: plain lines (the format `pipeline upload` has always printed) and
 * the live ink view on a fake TTY. ink reads CI/CONTINUOUS_INTEGRATION once when loaded and then draws
 * only the final frame, so they are cleared before loading it (vitest gives each file its own modules).
 */
import { describe, expect, it } from 'vitest';
import { CaptureStream } from './fixtures/capture-stream.ts';
import { SyncCancelled, type SyncEvent } from '../../io-managers/s3/upload.ts';

delete process.env.CI;
delete process.env.CONTINUOUS_INTEGRATION;
const { createUploadRenderer } = await import('./upload-renderer.ts');

const MiB = 1024 * 1024;

const asStream = (s: CaptureStream) => s as unknown as NodeJS.WriteStream;

/** A manual clock so the rate and elapsed time are exact. */
function manualClock(start: number) {
  let t = start;
  return { now: () => t, set: (ms: number) => void (t = start + ms) };
}

/** The plain renderer writing to a capture stream. */
async function plainRenderer(dryRun: boolean) {
  const out = new CaptureStream();
  const r = await createUploadRenderer({
    tty: false,
    dryRun,
    source: 'd',
    target: 's3://b/raw',
    stream: asStream(out),
  });
  return { out, r };
}

/** The ink renderer on a fake terminal, with a manual clock started at 5,000,000 ms. */
async function inkRenderer() {
  const out = new CaptureStream();
  const clock = manualClock(5_000_000);
  const r = await createUploadRenderer({
    tty: true,
    dryRun: false,
    source: '/data/raw',
    target: 's3://b/raw',
    stream: asStream(out),
    clock: clock.now,
  });
  return { out, clock, r };
}

const events: SyncEvent[] = [
  { type: 'plan', files: 3, bytes: 12 * MiB + 15 },
  { type: 'check', key: 'raw/big.bin', bytes: 12 * MiB },
  { type: 'check', key: 'raw/a.csv', bytes: 7 },
  { type: 'upload', key: 'raw/big.bin', bytes: 12 * MiB, reason: 'new', multipart: true },
  {
    type: 'done',
    key: 'raw/a.csv',
    action: 'skip',
    reason: 'same size and etag',
    bytes: 7,
    done: 1,
    total: 3,
  },
  { type: 'check', key: 'raw/b.csv', bytes: 8 },
  {
    type: 'error',
    key: 'raw/b.csv',
    bytes: 8,
    message: 'injected: connection reset\nat x',
    done: 2,
    total: 3,
  },
  { type: 'bytes', key: 'raw/big.bin', loaded: 8 * MiB, total: 12 * MiB },
];
/** What syncToS3 throws when cancelled after `events`: a.csv skipped, b.csv failed, big.bin cut off. */
const cancelledAfterEvents = () =>
  new SyncCancelled(
    { uploaded: 0, skipped: 1, bytes: 0 },
    [{ key: 'raw/b.csv', message: 'injected: connection reset' }],
    3,
  );
const last: SyncEvent[] = [
  { type: 'bytes', key: 'raw/big.bin', loaded: 12 * MiB, total: 12 * MiB },
  { type: 'done', key: 'raw/big.bin', action: 'upload', reason: 'new', bytes: 12 * MiB, done: 3, total: 3 },
];

describe('plain lines', () => {
  it('one line per settled or failed file, then the summary line', async () => {
    const { out, r } = await plainRenderer(false);
    for (const e of [...events, ...last]) r.onEvent(e);
    await r.close(new Error('1 of 3 files failed to upload'));
    expect(out.text.split('\n')).toEqual([
      '[1/3] skip raw/a.csv (same size and etag)',
      '[2/3] failed raw/b.csv: injected: connection reset',
      '[3/3] upload raw/big.bin (new)',
      // 12 MiB = 12,582,912 bytes, exact for scripts.
      'Uploaded 1 files (12582912 bytes), skipped 1 identical, 1 failed',
      '',
    ]);
    expect(r.state.status).toBe('failed');
  });

  it('dry run: "would" lines and the dry-run summary', async () => {
    const { out, r } = await plainRenderer(true);
    r.onEvent({ type: 'plan', files: 1, bytes: 7 });
    r.onEvent({ type: 'check', key: 'raw/a.csv', bytes: 7 });
    r.onEvent({
      type: 'done',
      key: 'raw/a.csv',
      action: 'upload',
      reason: 'new',
      bytes: 7,
      done: 1,
      total: 1,
    });
    await r.close();
    expect(out.text).toBe(
      '[1/1] would upload raw/a.csv (new)\nDry run: would upload 1 files (7 bytes), skipped 0 identical\n',
    );
  });

  it('cancelled: the lines so far, then a cancelled summary (the cut-off file counted nowhere)', async () => {
    const { out, r } = await plainRenderer(false);
    for (const e of events) r.onEvent(e);
    await r.close(cancelledAfterEvents());
    expect(out.text.split('\n')).toEqual([
      '[1/3] skip raw/a.csv (same size and etag)',
      '[2/3] failed raw/b.csv: injected: connection reset',
      'Upload cancelled: 0 of 3 files uploaded (0 bytes), skipped 1 identical, 1 failed',
      '',
    ]);
    expect(r.state.status).toBe('cancelled');
    expect(r.state.fatal).toBeNull();
  });

  it('no summary when the sync was stopped as a whole (the caller reports the error)', async () => {
    const { out, r } = await plainRenderer(false);
    await r.close(new Error('NoSuchBucket'));
    expect(out.text).toBe('');
    expect(r.state.fatal).toBe('NoSuchBucket');
  });
});

describe('ink view on a TTY', () => {
  it('re-renders live with the in-flight file, and leaves the summary frame on close', async () => {
    const { out, clock, r } = await inkRenderer();
    clock.set(1000);
    for (const e of events) r.onEvent(e);
    await new Promise((resolve) => setTimeout(resolve, 250));
    // Throttled frame before close: 8 of 12 MiB = 66 % (6.6 → 7 of 10 cells) for the multipart file.
    expect(out.text).toMatch(/⟳ raw\/big\.bin\s+███████░░░\s+66%\s+8\.4 MB\/12\.6 MB/);
    expect(out.text).toContain('✗ raw/b.csv: injected: connection reset');
    expect(out.text).toContain('Files   2/3');
    clock.set(3000);
    for (const e of last) r.onEvent(e);
    await r.close(new Error('1 of 3 files failed to upload'));
    const final = out.text.slice(out.text.lastIndexOf('upload /data/raw → s3://b/raw'));
    // 12 MiB = 12.6 MB uploaded; 3.0 s from the start.
    expect(final).toContain('✗ 1 of 3 files failed · 1 uploaded (12.6 MB) · 1 identical skipped · 3.0 s');
    expect(final).not.toContain('In flight');
    expect(r.state.uploaded).toBe(1);
  });

  it('cancelled: the final frame says so, without the in-flight rows', async () => {
    const { out, clock, r } = await inkRenderer();
    clock.set(1000);
    for (const e of events) r.onEvent(e);
    clock.set(2500);
    await r.close(cancelledAfterEvents());
    const final = out.text.slice(out.text.lastIndexOf('upload /data/raw → s3://b/raw'));
    // Nothing uploaded (big.bin was cut off), a.csv skipped, b.csv failed; 2.5 s from the start.
    expect(final).toContain('■ Upload cancelled: 0 of 3 files uploaded (0 B) · 1 skipped · 1 failed · 2.5 s');
    expect(final).not.toContain('In flight');
    expect(r.state.status).toBe('cancelled');
  });
});
