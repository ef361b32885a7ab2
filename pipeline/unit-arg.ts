/**
 * One unit named as runs, plans and `why` print it (engine `unitId`): `asset[partition]`. Accepted where
 * the CLI takes an asset and a partition, so that a unit can be copied from a run's output.
 */
import { UsageError } from './days.ts';

const UNIT = /^([^[\]\s,]+)\[([^[\]\s,]+)\]$/;

export interface UnitArg {
  asset: string;
  partition: string;
}

/** The asset and partition of `asset[partition]`; null for anything else. */
export function parseUnit(text: string): UnitArg | null {
  const m = UNIT.exec(text);
  return m ? { asset: m[1]!, partition: m[2]! } : null;
}

/** The unit's partition, checked against one also given with --partition (the same, or a usage error). */
export function unitPartition(text: string, unit: UnitArg, partitionOption: string | undefined): string {
  if (partitionOption !== undefined && partitionOption !== unit.partition)
    throw new UsageError(
      `${text} names partition ${unit.partition}, --partition says ${partitionOption}: give the partition once`,
    );
  return unit.partition;
}
