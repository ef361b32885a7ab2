import { z } from 'zod';
import { daily, defineAsset, type AnyAsset } from '../engine/index.ts';

/**
 * The benches' synthetic graph: layers of 100 daily assets, each depending on 3 assets of the layer
 * before; each layer is a group of its own (`g<layer>`).
 */
export function syntheticAssets(n: number): AnyAsset[] {
  const out: AnyAsset[] = [];
  for (let i = 0; i < n; i++) {
    const layer = Math.floor(i / 100);
    const deps: Record<string, AnyAsset> = {};
    if (layer > 0) for (let k = 0; k < 3; k++) deps[`d${k}`] = out[(layer - 1) * 100 + ((i + k * 37) % 100)]!;
    out.push(
      defineAsset({
        key: `a${i}`,
        group: `g${layer}`,
        partitions: daily(),
        schema: z.number(),
        deps,
        codeVersion: 'v1',
        compute: () => 1,
      }),
    );
  }
  return out;
}
