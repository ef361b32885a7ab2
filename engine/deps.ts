/** Dependency specs: how an asset names its inputs, and the input types compute sees. */
import type { AnyAsset, AssetDef } from './asset.ts';
import type { PartitionMapping } from './partitions.ts';

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

export interface NormalizedDep {
  name: string;
  /** Key of the upstream asset (this asset's own key for self deps). */
  assetKey: string;
  /** Undefined → decided from both sides' partitions when the graph is built. */
  mapping?: PartitionMapping;
  optional: boolean;
  self: boolean;
}

export function normalizeDeps(key: string, deps: Record<string, DepInput>): NormalizedDep[] {
  return Object.entries(deps).map(([name, d]) => {
    if ('__self' in d) return { name, assetKey: key, mapping: d.mapping, optional: true, self: true };
    if ('__dep' in d)
      return { name, assetKey: d.asset.key, mapping: d.mapping, optional: d.optional, self: false };
    return { name, assetKey: d.key, optional: false, self: false };
  });
}
