import { join } from 'node:path';
import type { QuarantineRecord, Reject } from '../../engine/quarantine.ts';

/** The bad-input corpus (built from the real fixtures by test/fixtures/bad/build-corpus.ts). */
export const BAD = join(import.meta.dirname, '..', 'fixtures', 'bad');

/** A corpus file as the parsers see it: absolute path plus the key quoted in rejects. */
export const badFile = (rel: string): { path: string; key: string } => ({ path: join(BAD, rel), key: rel });

/** Collects rejects; `summary()` is `reason@line` in emission order, the easiest form to compare. */
export function collector(): {
  reject: Reject;
  rejects: QuarantineRecord[];
  summary: () => string[];
  counts: () => Record<string, number>;
} {
  const rejects: QuarantineRecord[] = [];
  return {
    reject: (r) => rejects.push(r),
    rejects,
    summary: () => rejects.map((r) => `${r.reason}@${r.line}`),
    counts: () => {
      const c: Record<string, number> = {};
      for (const r of rejects) c[r.reason] = (c[r.reason] ?? 0) + 1;
      return c;
    },
  };
}
