import { NoData, type AnyAsset, type AssetContext } from '../asset.ts';
import type { UnitHooks, UnitJob } from '../executor.ts';
import { maskSecrets } from '../redact.ts';

type Level = 'info' | 'warn' | 'error';

/** What compute sees of the run, besides its partition(s) and quarantine. */
export function baseContext(
  job: UnitJob,
  hooks: UnitHooks,
  asset: AnyAsset,
  partition: string,
  meta: Record<string, unknown>,
): Omit<AssetContext, 'partitionKey' | 'reject'> {
  const at = (): string => new Date().toISOString();
  const { runId } = job;
  // Log lines go to the terminal and the run log: credentials masked.
  const log = (level: Level) => (message: string) =>
    hooks.event({
      type: 'log',
      runId,
      at: at(),
      asset: asset.key,
      partition,
      level,
      message: maskSecrets(message),
    });
  return {
    assetKey: asset.key,
    noData: (reason: string) => new NoData(reason),
    runId,
    signal: hooks.signal,
    log: { info: log('info'), warn: log('warn'), error: log('error') },
    progress: (done: number, total: number, u?: string) =>
      hooks.event({
        type: 'progress',
        runId,
        at: at(),
        asset: asset.key,
        partition,
        done,
        total,
        ...(u ? { unit: u } : {}),
      }),
    addMetadata: (m: Record<string, unknown>) => Object.assign(meta, m),
  };
}
