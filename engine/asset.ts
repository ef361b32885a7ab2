/** Asset and source definitions: `defineAsset`, `defineBatchAsset`, `defineSource`. */
import type { z } from 'zod';
import type { AssetCheck, AssetContext, BatchContext, NoData, RetryPolicy } from './asset-context.ts';
import { checkAutomation, type Automation } from './automation/declarations.ts';
import { captureDefiningModule, lazyCodeVersion, type CodeManifest } from './code-version.ts';
import { normalizeDeps, type DepInput, type Inputs, type NormalizedDep } from './deps.ts';
import type { FileSet, SourceLocation } from './io.ts';
import type { PartitionsDef } from './partitions.ts';
import type { StorageMeta } from './storage.ts';
import { isTableSchema } from './table.ts';

export * from './asset-context.ts';
export * from './deps.ts';
export * from './transient.ts';

export interface AssetDef<T> {
  readonly kind: 'asset' | 'source';
  readonly key: string;
  readonly group: string;
  readonly tags: readonly string[];
  readonly description?: string;
  readonly partitions?: PartitionsDef;
  readonly deps: readonly NormalizedDep[];
  /**
   * Name of the IO manager binding (e.g. "metrics", "reports", "intermediate"); default "default". A name
   * the definitions do not bind is an error when they load.
   */
  readonly io: string;
  /** Where in its IO manager the asset's units go (engine/storage.ts); checked when definitions load. */
  readonly storage?: StorageMeta;
  /**
   * Explicit, or computed on first read from the defining module, the project modules it reaches and
   * the packages they import (engine/code-version.ts).
   */
  readonly codeVersion: string;
  /** What an automatic code version covers (undefined for explicit versions and sources). */
  readonly codeManifest?: CodeManifest;
  readonly checks: readonly AssetCheck<T>[];
  readonly retry?: RetryPolicy;
  readonly schema?: z.ZodType<T>;
  readonly compute?: (inputs: Record<string, unknown>, ctx: AssetContext) => Promise<T | NoData> | T | NoData;
  readonly computeBatch?: (inputs: Record<string, unknown>, ctx: BatchContext<T>) => Promise<void>;
  /** Declared automation (eager, cron schedules, freshness), checked when defined (engine/automation). */
  readonly automation?: readonly Automation[];
  /** Sources only: where the raw files of a partition are. */
  readonly locate?: (partitionKey: string) => SourceLocation;
  /** Phantom field carrying T for inference. */
  readonly __type?: T;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAsset = AssetDef<any>;

const KEY_RE = /^[a-z][a-z0-9_]*$/;

function checkKey(key: string): void {
  if (!KEY_RE.test(key)) throw new Error(`Invalid asset key "${key}": use lower_snake_case (a-z, 0-9, _)`);
}

interface CommonOptions<T> {
  key: string;
  group?: string;
  tags?: string[];
  description?: string;
  partitions?: PartitionsDef;
  io?: string;
  /** Per-asset storage placement, by kind of store: `{ file: {...}, database: {...} }` (engine/storage.ts). */
  storage?: StorageMeta;
  codeVersion?: string;
  checks?: AssetCheck<T>[];
  retry?: RetryPolicy;
  /** `eager()`, `onCron(…)`, `freshness(…)` (engine/automation): what `pipeline daemon` does for it. */
  automation?: Automation | Automation[];
}

/**
 * The asset's storage placement; a table asset (`tableSchema`) is stored as Arrow
 * (`storage.file.format: 'arrow'`, set here when not declared), and only a table asset may be.
 */
function storageOf(def: { key: string; schema: z.ZodType; storage?: StorageMeta }): {
  storage?: StorageMeta;
} {
  const format = def.storage?.file?.format;
  if (isTableSchema(def.schema)) {
    if (format !== undefined && format !== 'arrow')
      throw new Error(
        `Asset "${def.key}": its schema is a tableSchema, stored as Arrow: storage.file.format must be 'arrow' (or left out), not '${format}'`,
      );
    return { storage: { ...def.storage, file: { ...def.storage?.file, format: 'arrow' } } };
  }
  if (format === 'arrow')
    throw new Error(
      `Asset "${def.key}": storage.file.format 'arrow' is for table values: declare its schema with tableSchema(…)`,
    );
  return def.storage !== undefined ? { storage: def.storage } : {};
}

/** The shared part of `defineAsset` and `defineBatchAsset`. */
function assetDef<T>(
  def: CommonOptions<T> & { schema: z.ZodType; deps?: Record<string, DepInput>; compute: unknown },
  run: Pick<AssetDef<T>, 'compute' | 'computeBatch'>,
): AssetDef<T> {
  checkKey(def.key);
  // The calling module is found now (from the stack); the version is computed when first read.
  const code = lazyCodeVersion(def.codeVersion, captureDefiningModule(), def.compute);
  return {
    kind: 'asset',
    key: def.key,
    group: def.group ?? 'default',
    tags: def.tags ?? [],
    description: def.description,
    partitions: def.partitions,
    deps: normalizeDeps(def.key, def.deps ?? {}),
    io: def.io ?? 'default',
    ...storageOf(def),
    ...(def.automation !== undefined && {
      automation: checkAutomation(def.key, def.partitions, def.automation),
    }),
    get codeVersion() {
      return code().version;
    },
    get codeManifest() {
      return code().manifest;
    },
    checks: def.checks ?? [],
    retry: def.retry,
    schema: def.schema as unknown as z.ZodType<T>,
    ...run,
  };
}

/**
 * Declares a typed asset. The types of `compute`'s inputs come from the deps' schemas, so a misspelled
 * input or a wrong input type is a compile error (see `asset.test-d.ts`).
 */
export function defineAsset<
  S extends z.ZodType,
  const D extends Record<string, DepInput> = Record<never, never>,
>(
  def: CommonOptions<z.output<S>> & {
    schema: S;
    deps?: D;
    compute: (
      inputs: Inputs<D, z.output<S>>,
      ctx: AssetContext,
    ) => Promise<z.output<S> | NoData> | z.output<S> | NoData;
  },
): AssetDef<z.output<S>> {
  return assetDef(def, { compute: def.compute as AssetDef<z.output<S>>['compute'] });
}

/** Like defineAsset, but one call computes every requested partition and emits them one by one. */
export function defineBatchAsset<
  S extends z.ZodType,
  const D extends Record<string, DepInput> = Record<never, never>,
>(
  def: CommonOptions<z.output<S>> & {
    schema: S;
    partitions: PartitionsDef;
    deps?: D;
    compute: (inputs: Inputs<D, z.output<S>>, ctx: BatchContext<z.output<S>>) => Promise<void>;
  },
): AssetDef<z.output<S>> {
  return assetDef(def, { computeBatch: def.compute as AssetDef<z.output<S>>['computeBatch'] });
}

/** A raw input: a set of files located by partition, read through the environment's SourceIO. */
export function defineSource(def: {
  key: string;
  group?: string;
  tags?: string[];
  description?: string;
  partitions?: PartitionsDef;
  locate: (partitionKey: string) => SourceLocation;
}): AssetDef<FileSet> {
  checkKey(def.key);
  captureDefiningModule(); // a module defining sources is not part of the assets' code versions
  return {
    kind: 'source',
    key: def.key,
    group: def.group ?? 'raw',
    tags: def.tags ?? [],
    description: def.description,
    partitions: def.partitions,
    deps: [],
    io: 'source',
    codeVersion: 'source',
    checks: [],
    locate: def.locate,
  };
}
