import type { RunReason } from '../engine/index.ts';

const short = (v: string | null): string => (v === null ? 'missing' : v.slice(0, 8));

/** One human sentence per planning reason (used by `plan` and `why`). */
export function describeReason(r: RunReason): string {
  switch (r.kind) {
    case 'missing':
      return 'never materialized (or its stored output is gone)';
    case 'code_changed':
      return `code version changed (${r.from || 'none'} → ${r.to})`;
    case 'input_changed':
      return `input ${r.input} [${r.partition}] changed (${short(r.from)} → ${short(r.to)})`;
    case 'last_failed':
      return `last run failed${r.runId ? ` (run ${r.runId})` : ''}`;
    case 'forced':
      return 'forced (--force)';
    case 'upstream_will_run':
      return `upstream ${r.input} [${r.partition}] will be rebuilt first (skipped if its data does not change)`;
  }
}
