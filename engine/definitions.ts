import type { AnyAsset } from './asset.ts';
import { AssetGraph } from './graph.ts';
import type { IOManager, SourceIO } from './io.ts';
import { boundManager, checkStorage } from './storage-check.ts';

/** Everything a run needs: the assets and the storage bindings the environment chose for them. */
export interface Definitions {
  graph: AssetGraph;
  /** IO managers by binding name (assets name theirs with `io`); "default" is required. */
  io: Record<string, IOManager>;
  sources: SourceIO;
}

/**
 * Builds the graph and checks the bindings: every asset's `io` names a bound IO manager (never a silent
 * fallback to the default store) and its `storage` is valid for it (engine/storage-check.ts).
 */
export function defineDefinitions(opts: {
  assets: readonly AnyAsset[];
  io: Record<string, IOManager>;
  sources: SourceIO;
}): Definitions {
  const graph = new AssetGraph(opts.assets);
  if (!opts.io.default) throw new Error('Definitions need a "default" IO manager');
  for (const a of opts.assets) if (a.kind === 'asset') checkStorage(a, opts.io);
  return { graph, io: opts.io, sources: opts.sources };
}

/** The IO manager bound to an asset's `io` name (checked when the definitions loaded). */
export function ioFor(defs: Definitions, asset: AnyAsset): IOManager {
  return boundManager(asset, defs.io);
}
