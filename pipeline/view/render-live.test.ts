/**
 * The live (mid-run) ink frames. ink reads CI/CONTINUOUS_INTEGRATION once when it is loaded and then
 * draws only the final frame, so this file clears them before loading the renderer: the test runs,
 * and asserts, in CI too (vitest gives each test file its own module graph).
 */
import { expect, it } from 'vitest';
import { CaptureStream } from './fixtures/capture-stream.ts';
import { eventsUntil, loadSampleRun } from './fixtures/sample-run.ts';

delete process.env.CI;
delete process.env.CONTINUOUS_INTEGRATION;
const { createRunRenderer } = await import('./render.ts');

it('re-renders after events at ~10 fps while the run is live', async () => {
  const out = new CaptureStream();
  const renderer = await createRunRenderer({ tty: true, stream: out as unknown as NodeJS.WriteStream });
  const mid = eventsUntil(loadSampleRun(), (e) => e.type === 'progress' && e.done === 3_300_000_000);
  for (const e of mid) renderer.onEvent(e);
  await new Promise((resolve) => setTimeout(resolve, 250));
  // Before close, the throttled frame already shows the running bar (3.3 of 6.2 GB = 53 %).
  expect(out.text).toMatch(/⟳ comptages_metrics\s+0\/3 █████░░░░░\s+53%/);
  await renderer.close();
});
