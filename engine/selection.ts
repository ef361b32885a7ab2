import type { AssetGraph } from './graph.ts';

/**
 * The selection language, as dbt's (https://docs.getdbt.com/reference/node-selection/syntax):
 *   key            the asset                      *               every asset
 *   group:NAME     tag:NAME     key:NAME          status:stale|missing|failed
 *   +X  X+         X with all its ancestors / descendants (any of the above as X)
 *   2+X  X+1       ancestors up to 2 levels / descendants 1 level
 *   @X             X, its descendants and all the ancestors of those
 *   A B            union (a space)                A,B             intersection (a comma)
 * `--exclude` takes the same language; what it selects is removed.
 */
export type SelectionBase =
  | { kind: 'key'; key: string }
  | { kind: 'group'; name: string }
  | { kind: 'tag'; name: string }
  | { kind: 'status'; status: 'stale' | 'missing' | 'failed' }
  | { kind: 'all' };

export type SelectionTerm = SelectionBase & {
  /** Ancestor levels (0 none, Infinity all) and descendant levels. */
  up: number;
  down: number;
  /** `@X`: the ancestors of every descendant too. */
  at: boolean;
  /** Index of the space-separated union member this term belongs to (its comma-intersection). */
  set: number;
  /** The term as written (for messages). */
  text: string;
};

export class SelectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectionError';
  }
}

const TERM = /^(?:(@)|(\d*)\+)?(.+?)(?:\+(\d*))?$/;
const KEY = /^[a-z][a-z0-9_]*$/;
const levels = (digits: string | undefined, plus: boolean): number =>
  !plus ? 0 : digits ? Number(digits) : Infinity;

function parseBase(body: string, term: string): SelectionBase {
  if (body === '*') return { kind: 'all' };
  const colon = body.indexOf(':');
  if (colon > 0) {
    const [method, value] = [body.slice(0, colon), body.slice(colon + 1)];
    if (!value) throw new SelectionError(`"${term}": missing a name after "${method}:"`);
    if (method === 'group') return { kind: 'group', name: value };
    if (method === 'tag') return { kind: 'tag', name: value };
    if (method === 'key' && KEY.test(value)) return { kind: 'key', key: value };
    if (method === 'status') {
      if (value !== 'stale' && value !== 'missing' && value !== 'failed')
        throw new SelectionError(`"${term}": status must be stale, missing or failed`);
      return { kind: 'status', status: value };
    }
    throw new SelectionError(`"${term}": unknown selector "${method}:" (use group:, tag:, key: or status:)`);
  }
  if (!KEY.test(body)) throw new SelectionError(`"${term}" is not a valid selection term`);
  return { kind: 'key', key: body };
}

export function parseSelection(expr: string): SelectionTerm[] {
  const members = expr.split(/\s+/).filter(Boolean);
  if (!members.length)
    throw new SelectionError('Empty selection: give asset keys, +key, key+, group:, tag: or status:');
  return members.flatMap((member, set) => {
    const parts = member.split(',');
    if (parts.some((p) => !p)) {
      throw new SelectionError(
        `"${member}": a comma joins terms into an intersection (as in dbt) and needs a term on each side; ` +
          'for a union, separate the terms with spaces (e.g. "a b")',
      );
    }
    return parts.map((text): SelectionTerm => {
      const m = TERM.exec(text);
      if (!m || (m[1] && m[4] !== undefined))
        throw new SelectionError(`"${text}" is not a valid selection term (@X cannot be combined with X+)`);
      const up = levels(m[2], m[2] !== undefined);
      const down = levels(m[4], m[4] !== undefined);
      return { ...parseBase(m[3]!, text), up, down, at: !!m[1], set, text };
    });
  });
}

/** Status of an asset, needed only for status: terms. */
export type StatusOf = (assetKey: string) => { stale: boolean; missing: boolean; failed: boolean };

/** Assets within `depth` levels of `from` (exclusive) upstream or downstream. */
function around(
  graph: AssetGraph,
  from: Iterable<string>,
  direction: 'up' | 'down',
  depth: number,
): Set<string> {
  const seen = new Set<string>();
  let frontier = [...from];
  for (let level = 0; level < depth && frontier.length; level++) {
    const next: string[] = [];
    for (const k of frontier)
      for (const n of direction === 'up' ? graph.upstream(k) : graph.downstream(k))
        if (!seen.has(n)) {
          seen.add(n);
          next.push(n);
        }
    frontier = next;
  }
  return seen;
}

function baseSet(t: SelectionBase, graph: AssetGraph, statusOf?: StatusOf): Set<string> {
  switch (t.kind) {
    case 'all':
      return new Set(graph.order);
    case 'key':
      if (!graph.assets.has(t.key))
        throw new SelectionError(`Unknown asset "${t.key}" (see \`pipeline list\`)`);
      return new Set([t.key]);
    case 'group':
    case 'tag': {
      const hits = graph.order.filter((k) => {
        const a = graph.get(k);
        return t.kind === 'group' ? a.group === t.name : a.tags.includes(t.name);
      });
      if (!hits.length) throw new SelectionError(`No asset has ${t.kind} "${t.name}"`);
      return new Set(hits);
    }
    case 'status':
      if (!statusOf) throw new SelectionError('status: selection needs the materialization state');
      return new Set(graph.order.filter((k) => statusOf(k)[t.status]));
  }
}

function termSet(t: SelectionTerm, graph: AssetGraph, statusOf?: StatusOf): Set<string> {
  const base = baseSet(t, graph, statusOf);
  const out = new Set(base);
  if (t.at) {
    const down = around(graph, base, 'down', Infinity);
    for (const k of down) out.add(k);
    for (const k of around(graph, out, 'up', Infinity)) out.add(k);
    return out;
  }
  if (t.up) for (const k of around(graph, base, 'up', t.up)) out.add(k);
  if (t.down) for (const k of around(graph, base, 'down', t.down)) out.add(k);
  return out;
}

/** The union of the intersections; an empty intersection without status: terms is an error (old comma meaning). */
function resolveTerms(terms: SelectionTerm[], graph: AssetGraph, statusOf?: StatusOf): Set<string> {
  const out = new Set<string>();
  const sets = new Map<number, SelectionTerm[]>();
  for (const t of terms) sets.set(t.set, [...(sets.get(t.set) ?? []), t]);
  for (const members of sets.values()) {
    let acc: Set<string> | undefined;
    for (const t of members) {
      const s = termSet(t, graph, statusOf);
      acc = acc ? new Set([...acc].filter((k) => s.has(k))) : s;
    }
    if (!acc!.size && members.length > 1 && !members.some((t) => t.kind === 'status')) {
      const text = members.map((t) => t.text);
      throw new SelectionError(
        `"${text.join(',')}" selects no asset: a comma means intersection (assets matching every term), as in dbt. ` +
          `For the union of these terms (what a comma meant before), separate them with spaces: "${text.join(' ')}"`,
      );
    }
    for (const k of acc!) out.add(k);
  }
  return out;
}

/** What `terms` select, minus what `exclude` selects. */
export function resolveSelection(
  terms: SelectionTerm[],
  graph: AssetGraph,
  statusOf?: StatusOf,
  exclude: SelectionTerm[] = [],
): Set<string> {
  const out = resolveTerms(terms, graph, statusOf);
  if (exclude.length) for (const k of resolveTerms(exclude, graph, statusOf)) out.delete(k);
  return out;
}
