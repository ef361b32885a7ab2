import { describe, expect, it } from 'vitest';
import { forEachLimited } from './pool.ts';

const tick = () => new Promise<void>((r) => setTimeout(r, 1));

describe('forEachLimited', () => {
  it('runs every item once, never more than the limit at a time', async () => {
    const seen: number[] = [];
    let running = 0;
    let peak = 0;
    await forEachLimited(
      Array.from({ length: 50 }, (_, i) => i),
      4,
      async (i) => {
        peak = Math.max(peak, ++running);
        await tick();
        seen.push(i);
        running--;
      },
    );
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(peak).toBe(4);
  });

  it('after a failure starts nothing new and throws the first error once the running items end', async () => {
    const started: number[] = [];
    let running = 0;
    const run = forEachLimited([0, 1, 2, 3, 4, 5, 6, 7], 2, async (i) => {
      started.push(i);
      running++;
      await tick();
      running--;
      if (i === 1) throw new Error('one');
      if (i === 2) throw new Error('two');
    });
    await expect(run).rejects.toThrow('one');
    expect(running).toBe(0);
    expect(started).toEqual([0, 1, 2]);
  });

  it('an empty list does nothing', async () => {
    await forEachLimited([], 16, () => Promise.reject(new Error('never')));
  });
});
