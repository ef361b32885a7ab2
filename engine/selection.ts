import type { AssetGraph } from './graph.ts';

/**
 * The selection language (dbt/Dagster style):
 *   key        the asset          +key   with everything upstream     key+  with everything downstream
 *   +key+      both               group:NAME   tag:NAME   status:stale|missing|failed   *  everything
 * Terms separated by commas or spaces are unioned.
 */
export type SelectionTerm =
  | { kind: 'key'; key: string; up: boolean; down: boolean }
  | { kind: 'group'; name: string }
  | { kind: 'tag'; name: string }
  | { kind: 'status'; status: 'stale' | 'missing' | 'failed' }
  | { kind: 'all' };

export class SelectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectionError';
  }
}

const KEY_TERM = /^(\+?)([a-z][a-z0-9_]*)(\+?)$/;

export function parseSelection(expr: string): SelectionTerm[] {
  const parts = expr.split(/[\s,]+/).filter(Boolean);
  if (!parts.length)
    throw new SelectionError('Empty selection: give asset keys, +key, key+, group:, tag: or status:');
  return parts.map((p): SelectionTerm => {
    if (p === '*') return { kind: 'all' };
    const colon = p.indexOf(':');
    if (colon > 0) {
      const [prefix, value] = [p.slice(0, colon), p.slice(colon + 1)];
      if (!value) throw new SelectionError(`"${p}": missing a name after "${prefix}:"`);
      if (prefix === 'group') return { kind: 'group', name: value };
      if (prefix === 'tag') return { kind: 'tag', name: value };
      if (prefix === 'status') {
        if (value !== 'stale' && value !== 'missing' && value !== 'failed') {
          throw new SelectionError(`"${p}": status must be stale, missing or failed`);
        }
        return { kind: 'status', status: value };
      }
      throw new SelectionError(`"${p}": unknown selector "${prefix}:" (use group:, tag: or status:)`);
    }
    const m = KEY_TERM.exec(p);
    if (!m) throw new SelectionError(`"${p}" is not a valid selection term`);
    return { kind: 'key', key: m[2]!, up: m[1] === '+', down: m[3] === '+' };
  });
}

/** Status of an asset, needed only for status: terms. */
export type StatusOf = (assetKey: string) => { stale: boolean; missing: boolean; failed: boolean };

export function resolveSelection(
  terms: SelectionTerm[],
  graph: AssetGraph,
  statusOf?: StatusOf,
): Set<string> {
  const out = new Set<string>();
  for (const t of terms) {
    switch (t.kind) {
      case 'all':
        for (const k of graph.order) out.add(k);
        break;
      case 'key': {
        if (!graph.assets.has(t.key))
          throw new SelectionError(`Unknown asset "${t.key}" (see \`pipeline list\`)`);
        out.add(t.key);
        if (t.up) for (const k of graph.closure(t.key, 'up')) out.add(k);
        if (t.down) for (const k of graph.closure(t.key, 'down')) out.add(k);
        break;
      }
      case 'group':
      case 'tag': {
        const hits = graph.order.filter((k) => {
          const a = graph.get(k);
          return t.kind === 'group' ? a.group === t.name : a.tags.includes(t.name);
        });
        if (!hits.length) throw new SelectionError(`No asset has ${t.kind} "${t.name}"`);
        for (const k of hits) out.add(k);
        break;
      }
      case 'status': {
        if (!statusOf) throw new SelectionError('status: selection needs the materialization state');
        for (const k of graph.order) if (statusOf(k)[t.status]) out.add(k);
        break;
      }
    }
  }
  return out;
}
