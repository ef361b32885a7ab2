/**
 * A layered layout of the asset DAG (left to right): an asset's layer is its longest path from a source;
 * inside a layer, assets are ordered by the mean position of their upstream assets (one barycentre
 * pass), which keeps most edges short without a layout library.
 */
export interface LaidOut {
  x: number;
  y: number;
  layer: number;
  row: number;
}

export const NODE_W = 184;
export const NODE_H = 46;
const GAP_X = 56;
const GAP_Y = 18;

/** `order` is topological (the graph's order); `deps` gives each key's upstream keys. */
export function layout(
  order: string[],
  deps: (k: string) => string[],
): { pos: Map<string, LaidOut>; layers: string[][]; width: number; height: number } {
  const layerOf = new Map<string, number>();
  for (const k of order) {
    const ups = deps(k).filter((d) => layerOf.has(d) && d !== k);
    layerOf.set(k, ups.length ? Math.max(...ups.map((d) => layerOf.get(d)!)) + 1 : 0);
  }
  const layers: string[][] = [];
  for (const k of order) (layers[layerOf.get(k)!] ??= []).push(k);
  const rowOf = new Map<string, number>();
  layers[0]?.forEach((k, i) => rowOf.set(k, i));
  for (let l = 1; l < layers.length; l++) {
    const bary = (k: string) => {
      const ups = deps(k).filter((d) => rowOf.has(d) && d !== k);
      return ups.length ? ups.reduce((s, d) => s + rowOf.get(d)!, 0) / ups.length : 0;
    };
    layers[l]!.sort((a, b) => bary(a) - bary(b));
    layers[l]!.forEach((k, i) => rowOf.set(k, i));
  }
  const tallest = Math.max(1, ...layers.map((l) => l.length));
  const pos = new Map<string, LaidOut>();
  layers.forEach((keys, l) => {
    const offset = ((tallest - keys.length) * (NODE_H + GAP_Y)) / 2;
    keys.forEach((k, row) =>
      pos.set(k, { x: l * (NODE_W + GAP_X) + 20, y: offset + row * (NODE_H + GAP_Y) + 20, layer: l, row }),
    );
  });
  return {
    pos,
    layers,
    width: layers.length * (NODE_W + GAP_X) + 40,
    height: tallest * (NODE_H + GAP_Y) + 40,
  };
}
