import { DirectedGraph } from 'graphology';
import { topologicalSort } from 'graphology-dag';
import type { AnyAsset, NormalizedDep } from './asset.ts';
import { DefinitionError } from './definition-error.ts';
import { fromUnpartitioned, identity, type PartitionMapping } from './partitions.ts';

export { DefinitionError } from './definition-error.ts';

export interface ResolvedDep extends NormalizedDep {
  mapping: PartitionMapping;
}

/** The validated asset graph: graphology DAG (edges upstream → downstream), topological order, resolved mappings. */
export class AssetGraph {
  readonly graph = new DirectedGraph();
  readonly assets = new Map<string, AnyAsset>();
  readonly order: string[];
  private readonly resolved = new Map<string, ResolvedDep[]>();

  constructor(assets: readonly AnyAsset[]) {
    for (const a of assets) {
      if (this.assets.has(a.key)) throw new DefinitionError(`Asset "${a.key}" is defined twice`);
      this.assets.set(a.key, a);
      this.graph.addNode(a.key);
    }
    for (const a of assets) {
      const deps: ResolvedDep[] = [];
      for (const d of a.deps) {
        const up = this.assets.get(d.assetKey);
        if (!up) {
          throw new DefinitionError(
            `Asset "${a.key}" depends on unknown asset "${d.assetKey}" (input "${d.name}"): add it to the definitions`,
          );
        }
        deps.push({
          ...d,
          mapping: d.mapping ? bindMapping(d.mapping, a, up, d) : defaultMapping(a, up, d.name),
        });
        if (!d.self && !this.graph.hasEdge(d.assetKey, a.key)) this.graph.addEdge(d.assetKey, a.key);
      }
      if (a.computeBatch && deps.some((d) => d.mapping.cardinality === 'many' || d.self)) {
        throw new DefinitionError(`Batch asset "${a.key}" may only depend on one-to-one inputs`);
      }
      this.resolved.set(a.key, deps);
    }
    const cycle = findCycle(this.graph);
    if (cycle) throw new DefinitionError(`Dependency cycle: ${cycle.join(' → ')}`);
    this.order = topologicalSort(this.graph);
  }

  get(key: string): AnyAsset {
    const a = this.assets.get(key);
    if (!a) throw new DefinitionError(`Unknown asset "${key}"`);
    return a;
  }

  depsOf(key: string): ResolvedDep[] {
    return this.resolved.get(key) ?? [];
  }

  upstream(key: string): string[] {
    return this.graph.inNeighbors(key);
  }

  downstream(key: string): string[] {
    return this.graph.outNeighbors(key);
  }

  /** All assets reachable upstream (ancestors) or downstream (descendants) of key. */
  closure(key: string, direction: 'up' | 'down'): Set<string> {
    const seen = new Set<string>();
    const stack = [key];
    while (stack.length) {
      const k = stack.pop()!;
      for (const n of direction === 'up' ? this.upstream(k) : this.downstream(k)) {
        if (!seen.has(n)) {
          seen.add(n);
          stack.push(n);
        }
      }
    }
    return seen;
  }
}

function defaultMapping(down: AnyAsset, up: AnyAsset, input: string): PartitionMapping {
  if (!up.partitions) return fromUnpartitioned();
  const same = identity().bind!(up.partitions, down.partitions, false);
  if (typeof same !== 'string') return same;
  throw new DefinitionError(
    `Asset "${down.key}" input "${input}": ${up.key} is partitioned ${up.partitions.id} but ${down.key} is ` +
      `${down.partitions?.id ?? 'unpartitioned'} (identity ${same}); declare a mapping with dep(asset, mapping)`,
  );
}

/** A declared mapping, checked against both assets' partitions and bound to them. */
function bindMapping(m: PartitionMapping, down: AnyAsset, up: AnyAsset, d: NormalizedDep): PartitionMapping {
  const bound = m.bind ? m.bind(up.partitions, down.partitions, d.self) : m;
  if (typeof bound === 'string')
    throw new DefinitionError(
      `Asset "${down.key}" input "${d.name}" (${up.key} → ${down.key}, mapping ${m.name}): ${bound}`,
    );
  return bound;
}

/** Depth-first search for a cycle; returns the path (first node repeated at the end) or null. */
function findCycle(graph: DirectedGraph): string[] | null {
  const state = new Map<string, 1 | 2>(); // 1 = on stack, 2 = done
  const path: string[] = [];
  const visit = (n: string): string[] | null => {
    state.set(n, 1);
    path.push(n);
    for (const m of graph.outNeighbors(n)) {
      const s = state.get(m);
      if (s === 1) return [...path.slice(path.indexOf(m)), m];
      if (!s) {
        const c = visit(m);
        if (c) return c;
      }
    }
    path.pop();
    state.set(n, 2);
    return null;
  };
  for (const n of graph.nodes()) {
    if (!state.has(n)) {
      const c = visit(n);
      if (c) return c;
    }
  }
  return null;
}
