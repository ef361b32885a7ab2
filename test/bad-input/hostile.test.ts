/**
 * Issue 12, "slow or crashing on hostile input": each case is linear and ends with a record naming the
 * file and line (or a result), in well under a second. Figures are printed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBikesFile } from '../../assets/bikes/parse.ts';
import { metroLinesInText, parseTrafficFile } from '../../assets/traffic/parse.ts';
import { parseWeatherFile } from '../../assets/weather/parse.ts';
import { collector } from './helpers.ts';

const timed = <T>(label: string, f: () => T): { value: T; ms: number } => {
  const t0 = performance.now();
  const value = f();
  const ms = performance.now() - t0;
  console.log(`${label}: ${ms.toFixed(1)} ms`);
  return { value, ms };
};

describe('a run of `<` in a disruption message', () => {
  it('100,000 `<` without `>`: linear (was 13 s, quadratic)', () => {
    const small = timed('10k <', () => metroLinesInText('Métro 4 ' + '<'.repeat(10_000)));
    const big = timed('100k <', () => metroLinesInText('Métro 4 ' + '<'.repeat(100_000) + ' M14'));
    expect(small.value).toEqual(['4']);
    expect(big.value).toEqual(['4', '14']);
    expect(big.ms).toBeLessThan(500);
  });

  it('same result as the tag regex on mixed text', () => {
    const cases = [
      '<p>Métro 14 : Travaux</p>',
      'a < b <b>M7</b> <<x>Métro 3bis',
      '<<<M1',
      'M2<br>M3>',
      '<a\n href>Metro 9',
    ];
    for (const c of cases) {
      const viaRegex = metroLinesInText(c.replace(/<[^>]*>/g, ' '));
      expect(metroLinesInText(c)).toEqual(viaRegex);
    }
  });
});

describe('deeply nested JSON', () => {
  it.each([
    ['traffic', parseTrafficFile],
    ['bikes', parseBikesFile],
    ['weather', parseWeatherFile],
  ] as const)(
    '%s: one too_deeply_nested record naming the file and line (was: Maximum call stack size exceeded)',
    async (_, parser) => {
      const dir = await mkdtemp(join(tmpdir(), 'cityflow-deep-'));
      try {
        const n = 200_000;
        const path = join(dir, 'deep.json');
        await writeFile(path, '[\n{"a": 1},\n' + '{"a":'.repeat(n) + '1' + '}'.repeat(n) + ']');
        const c = collector();
        const t0 = performance.now();
        await (parser as (f: { path: string; key: string }, r: typeof c.reject) => Promise<unknown[]>)(
          { path, key: 'api/x/deep.json' },
          c.reject,
        );
        console.log(`${_}: 200,000 levels: ${(performance.now() - t0).toFixed(0)} ms`);
        expect(c.summary()).toEqual(['too_deeply_nested@3']);
        expect(c.rejects[0]!.file).toBe('api/x/deep.json');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
