/** Small building blocks of the metric checks (each dataset's checks sit next to its metrics). */
import type { AssetCheck, CheckResult } from '../../engine/index.ts';

export const pass = (message: string): CheckResult => ({ status: 'pass', message });
export const fail = (message: string): CheckResult => ({ status: 'fail', message });

export function duplicates(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  return [...new Set(ids.filter((id) => seen.size === seen.add(id).size))];
}

export const oneRowPer = <T>(name: string, what: string, ids: (v: T) => string[]): AssetCheck<T> => ({
  name,
  fn: (v) => {
    const d = duplicates(ids(v));
    return d.length
      ? fail(`${d.length} ${what} appear twice: ${d.slice(0, 5).join(', ')}`)
      : pass(`one row per ${what}`);
  },
});

export const closeTo = (a: number, b: number): boolean =>
  Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a), Math.abs(b));
