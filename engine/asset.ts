import type { z } from 'zod';
import { captureDefiningModule, lazyCodeVersion, type CodeManifest } from './code-version.ts';
import type { FileSet, SourceLocation } from './io.ts';
import type { PartitionMapping, PartitionsDef } from './partitions.ts';
import type { CheckStatus } from './events.ts';
import type { Reject } from './quarantine.ts';

/** What compute functions receive besides their inputs. */
export interface AssetContext {
  readonly assetKey: string;
  /** The partition being computed ("all" when unpartitioned). */
  readonly partitionKey: string;
  readonly runId: string;
  readonly signal: AbortSignal;
  readonly log: { info(msg: string): void; warn(msg: string): void; error(msg: string): void };
  /**
   * Report progress of a long computation in units of work; `unit` names them ('bytes' is shown in
   * byte units; e.g. 'days written'), and may change between the phases of one computation.
   */
  progress(done: number, total: number, unit?: string): void;
  /** Quarantine a bad input record (counted per reason, kept with file and line). */
  readonly reject: Reject;
  /** Extra metadata recorded with the materialization (e.g. `{ rows: 95 }`). */
  addMetadata(meta: Record<string, unknown>): void;
  /**
   * Says that this partition has no data (return it from compute, or emit it from a batch): nothing is
   * stored, the unit is recorded as having no data with this reason, and dependents see the input as
   * missing (undefined through an optional dependency; a required one makes them have no data too).
   */
  noData(reason: string): NoData;
}

/**
 * The data version recorded for a unit that has no data: a source partition without any file, a unit
 * whose compute returned `ctx.noData(…)`, or one whose required input has no data. Never a content hash.
 */
export const NO_DATA = 'no-data';

/** What `ctx.noData(reason)` returns: "this partition has no data", not an empty value. */
export class NoData {
  readonly noData = true;
  constructor(readonly reason: string) {}
}

export const isNoData = (value: unknown): value is NoData => value instanceof NoData;

/** Batch assets compute many partitions in one call (e.g. one pass over a 6 GB file for every day). */
export interface BatchContext<T> extends Omit<AssetContext, 'partitionKey'> {
  readonly partitionKeys: readonly string[];
  /** Store one partition's value as soon as it is ready (keeps memory flat); `ctx.noData(…)` for none. */
  emit(partitionKey: string, value: T | NoData, meta?: Record<string, unknown>): Promise<void>;
  /** Reject scoped to a partition, so quarantine outputs stay per partition. */
  rejectFor(partitionKey: string): Reject;
}

export interface CheckResult {
  status: CheckStatus;
  message?: string;
  /** Figures worth keeping with the result (e.g. `{ duplicates: 3 }`); stored and shown by `why`. */
  metadata?: Record<string, unknown>;
}

export interface AssetCheck<T> {
  name: string;
  /**
   * A failing blocking check (the default) fails the unit: its value is stored, but no dependent is built
   * from it, in this run or a later one, until a materialization passes the check. Warnings never block.
   */
  blocking?: boolean;
  fn: (value: T) => CheckResult | Promise<CheckResult>;
}

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
}

// ---------- dependency specs (carry types for inference) ----------

export interface DepSpec<
  A extends AnyAsset = AnyAsset,
  C extends 'one' | 'many' = 'one' | 'many',
  O extends boolean = boolean,
> {
  readonly __dep: true;
  readonly asset: A;
  readonly mapping: PartitionMapping<C>;
  readonly optional: O;
}

/** A dependency on this same asset under a mapping (e.g. `self(dayOffset(-7))`); missing → undefined. */
export interface SelfDep {
  readonly __self: true;
  readonly mapping: PartitionMapping<'one'>;
}

export function dep<A extends AnyAsset, C extends 'one' | 'many'>(
  asset: A,
  mapping: PartitionMapping<C>,
): DepSpec<A, C, false>;
export function dep<A extends AnyAsset, C extends 'one' | 'many'>(
  asset: A,
  mapping: PartitionMapping<C>,
  opts: { optional: true },
): DepSpec<A, C, true>;
export function dep(asset: AnyAsset, mapping: PartitionMapping, opts?: { optional?: boolean }): DepSpec {
  return { __dep: true, asset, mapping, optional: opts?.optional ?? false };
}

export const self = (mapping: PartitionMapping<'one'>): SelfDep => ({ __self: true, mapping });

export type DepInput = AnyAsset | DepSpec | SelfDep;

export interface Partitioned<T> {
  partitionKey: string;
  value: T;
}

export type ValueOf<A> = A extends AssetDef<infer T> ? T : never;

/** The type compute sees for one declared dependency. */
export type InputOf<D, Self> = D extends SelfDep
  ? Self | undefined
  : D extends DepSpec<infer A, infer C, infer O>
    ? C extends 'many'
      ? Partitioned<ValueOf<A>>[]
      : O extends true
        ? ValueOf<A> | undefined
        : ValueOf<A>
    : D extends AssetDef<infer T>
      ? T
      : never;

export type Inputs<Deps extends Record<string, DepInput>, Self> = {
  [K in keyof Deps]: InputOf<Deps[K], Self>;
};

// ---------- runtime definitions ----------

export interface NormalizedDep {
  name: string;
  /** Key of the upstream asset (this asset's own key for self deps). */
  assetKey: string;
  /** Undefined → decided from both sides' partitions when the graph is built. */
  mapping?: PartitionMapping;
  optional: boolean;
  self: boolean;
}

export interface AssetDef<T> {
  readonly kind: 'asset' | 'source';
  readonly key: string;
  readonly group: string;
  readonly tags: readonly string[];
  readonly description?: string;
  readonly partitions?: PartitionsDef;
  readonly deps: readonly NormalizedDep[];
  /** Name of the IO manager binding (e.g. "metrics", "reports", "intermediate"); default "default". */
  readonly io: string;
  readonly ioMeta?: Record<string, unknown>;
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
  /** Sources only: where the raw files of a partition are. */
  readonly locate?: (partitionKey: string) => SourceLocation;
  /** Phantom field carrying T for inference. */
  readonly __type?: T;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAsset = AssetDef<any>;

const KEY_RE = /^[a-z][a-z0-9_]*$/;

function normalizeDeps(key: string, deps: Record<string, DepInput>): NormalizedDep[] {
  return Object.entries(deps).map(([name, d]) => {
    if ('__self' in d) return { name, assetKey: key, mapping: d.mapping, optional: true, self: true };
    if ('__dep' in d)
      return { name, assetKey: d.asset.key, mapping: d.mapping, optional: d.optional, self: false };
    return { name, assetKey: d.key, optional: false, self: false };
  });
}

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
  ioMeta?: Record<string, unknown>;
  codeVersion?: string;
  checks?: AssetCheck<T>[];
  retry?: RetryPolicy;
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
    ioMeta: def.ioMeta,
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

/** Errors worth retrying (network blips, throttling). Anything else fails at once. */
export class TransientError extends Error {
  readonly transient = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientError';
  }
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/** Looks through `cause` chains too: storage adapters wrap driver errors with a clearer message. */
export function isTransient(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 5) return false;
  const e = err as { transient?: unknown; code?: unknown; $retryable?: unknown; cause?: unknown };
  if (e.transient === true || !!e.$retryable || (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)))
    return true;
  return isTransient(e.cause, depth + 1);
}
