/**
 * apache-arrow, loaded the first time a table value is encoded or decoded: a project without table
 * values never loads it (≈ 40 ms of every start, docs/performance.md).
 */
import type * as Arrow from 'apache-arrow';

let loading: Promise<typeof Arrow> | undefined;

/** The apache-arrow module (imported once, on first use). */
export const arrow = (): Promise<typeof Arrow> => (loading ??= import('apache-arrow'));

/** The brand apache-arrow puts on its tables' prototype (what its own `Table.isTable` checks). */
const TABLE_BRAND = Symbol.for('apache-arrow/Table');

/** True for an Arrow `Table`, whichever copy of apache-arrow made it, without loading apache-arrow. */
export const isArrowTable = (v: unknown): v is Arrow.Table =>
  typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[TABLE_BRAND] === true;
