import type { RunReason } from '../engine/index.ts';

const short = (v: string | null): string => (v === null ? 'missing' : v.slice(0, 8));

/** One human sentence per planning reason (used by `plan` and `why`). */
export function describeReason(r: RunReason): string {
  switch (r.kind) {
    case 'missing':
      return 'never materialized (or its stored output is gone)';
    case 'code_changed':
      return `code version changed (${r.from || 'none'} → ${r.to})${r.changed?.length ? `: ${r.changed.join(', ')}` : ''}`;
    case 'input_changed':
      return `input ${r.input} [${r.partition}] changed (${short(r.from)} → ${short(r.to)})`;
    case 'last_failed':
      return `last run failed${r.runId ? ` (run ${r.runId})` : ''}`;
    case 'forced':
      return 'forced (--force)';
    case 'upstream_will_run':
      return r.failedCheck
        ? `blocked by check ${r.failedCheck.check} on ${r.failedCheck.asset}[${r.partition}] unless its rebuild, first in the run, passes it`
        : `upstream ${r.input} [${r.partition}] will be rebuilt first (skipped if its data does not change)`;
    case 'check_failed':
      return `last materialization failed blocking check ${r.check}${r.message ? ` (${r.message})` : ''}`;
    case 'upstream_stale':
      return `upstream ${r.asset} [${r.partition}] (input ${r.input}) is stale and not selected`;
    case 'blocked_by_check':
      return `blocked by check ${r.check} on ${r.asset}[${r.partition}]`;
  }
}
