import { unitId, type IOManager } from '../engine/index.ts';

/**
 * An IO manager whose storage is a map (unit id → data version) the test edits: a unit absent from it
 * is a lost output. Values are not kept (plans only check what is stored).
 */
export function mapStorageIO(storage: ReadonlyMap<string, string>): IOManager {
  return {
    name: 'test',
    load: async () => undefined,
    store: async () => ({ bytes: 0, location: 'x' }),
    stat: async ({ assetKey, partitionKey }) => {
      const v = storage.get(unitId(assetKey, partitionKey));
      return v ? { dataVersion: v, bytes: 1 } : null;
    },
  };
}
