import type { AnyAsset } from './asset.ts';
import { AssetGraph } from './graph.ts';
import type { IOManager, SourceIO } from './io.ts';

/** Everything a run needs: the assets and the storage bindings the environment chose for them. */
export interface Definitions {
  graph: AssetGraph;
  /** IO managers by binding name (assets name theirs with `io`); "default" is required. */
  io: Record<string, IOManager>;
  sources: SourceIO;
}

export function defineDefinitions(opts: {
  assets: readonly AnyAsset[];
  io: Record<string, IOManager>;
  sources: SourceIO;
}): Definitions {
  const graph = new AssetGraph(opts.assets);
  if (!opts.io.default) throw new Error('Definitions need a "default" IO manager');
  for (const a of opts.assets) {
    if (a.kind === 'asset' && !opts.io[a.io] && !opts.io.default)
      throw new Error(`No IO manager "${a.io}" for asset ${a.key}`);
  }
  return { graph, io: opts.io, sources: opts.sources };
}

export function ioFor(defs: Definitions, asset: AnyAsset): IOManager {
  return defs.io[asset.io] ?? defs.io.default!;
}
