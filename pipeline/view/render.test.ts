import { EventEmitter } from 'node:events';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadSampleRun } from './fixtures/sample-run.ts';
import { createPlainPrinter } from './plain.ts';
import { createRunRenderer, replayRun, shouldUseTui } from './render.ts';

const events = loadSampleRun();

/** A real writable-stream stand-in that records what is written (a terminal when `isTTY`). */
class CaptureStream extends EventEmitter {
  readonly chunks: string[] = [];
  columns = 80;
  rows = 40;
  constructor(readonly isTTY: boolean) {
    super();
  }
  write(chunk: string | Uint8Array): boolean {
    this.chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }
  get text(): string {
    return stripVTControlCharacters(this.chunks.join(''));
  }
  asStream(): NodeJS.WriteStream {
    return this as unknown as NodeJS.WriteStream;
  }
}

describe('shouldUseTui', () => {
  it.each([
    [{ isTTY: true }, true],
    [{ isTTY: false }, false],
    [{ isTTY: undefined }, false],
    [{ isTTY: true, noTui: true }, false],
    [{ isTTY: true, env: { CI: 'true' } }, false],
    [{ isTTY: true, env: { CI: '1' } }, false],
    [{ isTTY: true, env: { CI: 'false' } }, true],
    [{ isTTY: true, env: { CONTINUOUS_INTEGRATION: 'yes' } }, false],
    [{ isTTY: true, env: { CI: '0' } }, true],
  ])('%o → %s', (opts, expected) => {
    expect(shouldUseTui(opts)).toBe(expected);
  });
});

describe('createRunRenderer (plain)', () => {
  it('writes the plain lines of every event and keeps the folded state', async () => {
    const out = new CaptureStream(false);
    const renderer = await createRunRenderer({ tty: false, stream: out.asStream(), timeZone: 'UTC' });
    for (const e of events) renderer.onEvent(e);
    await renderer.close();
    const print = createPlainPrinter({ timeZone: 'UTC' });
    const expected = events.map(print).filter((l) => l !== null);
    expect(out.chunks.join('')).toBe(expected.join('\n') + '\n');
    expect(renderer.state.run).toMatchObject({ status: 'failed', materialized: 11, skipped: 3, failed: 1 });
  });
});

describe('createRunRenderer (ink)', () => {
  it('draws the view on a terminal and leaves the final frame on close', async () => {
    const out = new CaptureStream(true);
    const renderer = await createRunRenderer({ tty: true, stream: out.asStream() });
    const t0 = Date.now();
    for (const e of events) renderer.onEvent(e);
    await renderer.close();
    const text = out.text;
    expect(text).toContain('✓ 11 materialized  ↷ 3 skipped  ✗ 1 failed  ⟳ 1 retry · 15/15 units');
    expect(text).toContain('failed · 58.7 s · run 20251106T100000Z-7f3a');
    expect(text).toMatch(/◐ traffic_metrics\s+3\/3/);
    // 47 events in one burst are drawn as at most a few frames (first frame and final frame), not 47.
    const frames = out.chunks.filter((c) => c.includes('ASSET')).length;
    expect(frames).toBeGreaterThanOrEqual(1);
    expect(frames).toBeLessThanOrEqual(3);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});

describe('replayRun', () => {
  it('prints the final frame of a recorded run on a terminal', async () => {
    const out = new CaptureStream(true);
    const state = await replayRun(events, { tty: true, stream: out.asStream() });
    expect(state.run.status).toBe('failed');
    const text = out.text;
    expect(text).toContain('✓ 11 materialized  ↷ 3 skipped  ✗ 1 failed  ⟳ 1 retry · 15/15 units');
    expect(text).toMatch(/✓ comptages_metrics\s+3\/3\s+58\.1 s\s+10,210\s+19/);
    // One frame only: the header appears once.
    expect(text.split('ASSET').length - 1).toBe(1);
  });

  it('prints the stack traces kept in the run log under the final frame with `stacks`', async () => {
    const out = new CaptureStream(true);
    await replayRun(events, { tty: true, stream: out.asStream(), stacks: true });
    const after = out.text.slice(out.text.indexOf('15/15 units'));
    expect(after).toContain(
      '✗ traffic_metrics[2025-11-05] attempt=1: SyntaxError: traffic_data.json (dt=2025-11-05/hour=14) ' +
        'is not valid JSON: Unexpected end of JSON input\n' +
        '    SyntaxError: traffic_data.json (dt=2025-11-05/hour=14) is not valid JSON: Unexpected end of JSON input\n' +
        '        at JSON.parse (<anonymous>)\n' +
        '        at loadHour (assets/traffic/raw.ts:41:17)\n',
    );
    const plain = new CaptureStream(true);
    await replayRun(events, { tty: true, stream: plain.asStream() });
    expect(plain.text).not.toContain('at loadHour');
  });

  it('prints the plain lines of a recorded run elsewhere', async () => {
    const out = new CaptureStream(false);
    await replayRun(events, { tty: false, stream: out.asStream(), timeZone: 'UTC' });
    const lines = out.chunks.join('').trimEnd().split('\n');
    expect(lines).toHaveLength(events.length - 1); // one progress line thinned out
    expect(lines.at(-1)).toBe(
      '[10:00:58] ✗ run 20251106T100000Z-7f3a failed: materialized=11 skipped=3 failed=1 in 58.7 s',
    );
  });
});
