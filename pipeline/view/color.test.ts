import chalk from 'chalk';
import { afterEach, describe, expect, it } from 'vitest';
import { CaptureStream } from './fixtures/capture-stream.ts';
import { loadSampleRun } from './fixtures/sample-run.ts';
import { colorLevel } from './color.ts';
import { createRunRenderer, replayRun } from './render.ts';

/** A terminal that says it has 256 colours, like an xterm-256color. */
class ColorTerminal extends CaptureStream {
  getColorDepth(): number {
    return 8;
  }
}
const terminal = (): NodeJS.WriteStream => new ColorTerminal() as unknown as NodeJS.WriteStream;
/** Select Graphic Rendition sequences (colours, bold, dim): ESC [ … m. */
const SGR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const sgrCount = (text: string): number => text.match(SGR)?.length ?? 0;
const events = loadSampleRun();

const initialLevel = chalk.level;
afterEach(() => {
  chalk.level = initialLevel;
});

describe('colorLevel', () => {
  it.each([
    [{}, 2],
    [{ NO_COLOR: '1' }, 0],
    [{ NO_COLOR: 'anything' }, 0],
    [{ NO_COLOR: '' }, 2], // an empty NO_COLOR is unset (no-color.org)
    [{ FORCE_COLOR: '0' }, 0],
    [{ FORCE_COLOR: 'false' }, 0],
    [{ FORCE_COLOR: '3' }, 3],
    [{ FORCE_COLOR: '1', NO_COLOR: '1' }, 1], // FORCE_COLOR wins, as in Node and chalk
    [{ FORCE_COLOR: '' }, 2],
    [{ TERM: 'dumb' }, 0],
  ])('%o on a 256-colour terminal → %i', (env, level) => {
    expect(colorLevel(terminal(), env)).toBe(level);
  });

  it('is 0 on a pipe unless FORCE_COLOR says otherwise', () => {
    const pipe = { isTTY: false } as unknown as NodeJS.WriteStream;
    expect(colorLevel(pipe, {})).toBe(0);
    expect(colorLevel(pipe, { FORCE_COLOR: '1' })).toBe(1);
  });
});

describe('the ink view honours NO_COLOR', () => {
  // chalk decides its level once, from stdout, when loaded: as on a colour terminal here.
  it('replays a run without a single colour code under NO_COLOR, with them otherwise', async () => {
    for (const [env, colored] of [
      [{ NO_COLOR: '1' }, false],
      [{ FORCE_COLOR: '0' }, false],
      [{}, true],
      [{ NO_COLOR: '1', FORCE_COLOR: '1' }, true],
    ] as const) {
      chalk.level = 3;
      const out = terminal();
      await replayRun(events, { tty: true, stream: out, env });
      const raw = (out as unknown as CaptureStream).chunks.join('');
      expect(raw).toContain('comptages_metrics');
      if (colored) expect(sgrCount(raw), JSON.stringify(env)).toBeGreaterThan(10);
      else expect(sgrCount(raw), JSON.stringify(env)).toBe(0);
    }
  });

  it('draws the live view without colour codes under NO_COLOR', async () => {
    chalk.level = 3;
    const out = terminal();
    const renderer = await createRunRenderer({ tty: true, stream: out, env: { NO_COLOR: '1' } });
    for (const e of events) renderer.onEvent(e);
    await renderer.close();
    const raw = (out as unknown as CaptureStream).chunks.join('');
    expect(raw).toContain('15/15 units');
    expect(sgrCount(raw)).toBe(0);
  });
});
