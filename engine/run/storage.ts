import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { AnyAsset } from '../asset.ts';
import { writeFileAtomic } from '../atomic.ts';
import type { IOContext } from '../io.ts';
import type { QuarantineCollector } from '../quarantine.ts';

/** What the asset's IO manager is told about one of its units. */
export const ioContext = (asset: AnyAsset, partition: string): IOContext => ({
  assetKey: asset.key,
  partitionKey: partition,
  ...(asset.storage !== undefined && { storage: asset.storage }),
});

/** Writes a unit's quarantined records (`<dir>/<asset>/<partition>.ndjson`); returns where, if any. */
export async function writeQuarantine(
  dir: string | undefined,
  asset: string,
  partition: string,
  q: QuarantineCollector,
): Promise<string | undefined> {
  if (!dir) return undefined;
  const path = join(dir, asset, `${partition}.ndjson`);
  if (!q.total) {
    await rm(path, { force: true }); // a clean re-run replaces an older quarantine
    return undefined;
  }
  await writeFileAtomic(path, q.records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return path;
}
