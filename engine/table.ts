/**
 * Table values: an asset whose value is a large table returns an Apache Arrow `Table` and declares its
 * columns with `tableSchema`. File stores keep it as Arrow IPC (stream format, `.arrows`), not JSON;
 * the schema is checked on the columns (names, order, Arrow types, nulls where none are allowed), not
 * row by row. Small values stay JSON.
 *
 *   defineAsset({ key: 'counts', schema: tableSchema({ id: new Utf8(), n: { type: new Int32(), nullable: false } }), … })
 *
 * The engine knows nothing of what the columns mean; a downstream asset receives the `Table` and reads
 * its columns (`table.getChild('n')`), without per-row objects.
 */
import type * as Arrow from 'apache-arrow';
import type { DataType, Table, TypeMap } from 'apache-arrow';
import { z } from 'zod';
import { arrow, isArrowTable } from './arrow.ts';

/** A column: its Arrow type, and whether it may hold nulls (default true). */
export type ColumnSpec<T extends DataType = DataType> = T | { type: T; nullable?: boolean };

/**
 * A table's columns, or a function making them from the apache-arrow module: a project that declares
 * its tables this way does not load apache-arrow until a table is computed or read (≈ 20–30 ms of
 * every start otherwise). Such a schema checks asynchronously (`safeParseAsync`, as the engine does).
 */
export type TableColumns<C extends Record<string, ColumnSpec>> = C | ((arrow: typeof Arrow) => C);

const specOf = (c: ColumnSpec): { type: DataType; nullable: boolean } =>
  'type' in c && typeof (c as { typeId?: unknown }).typeId !== 'number'
    ? { type: (c as { type: DataType }).type, nullable: (c as { nullable?: boolean }).nullable ?? true }
    : { type: c as DataType, nullable: true };

/** The schemas made by `tableSchema`, with their columns (as declared: maybe a function). */
const tableSchemas = new WeakMap<z.ZodType, TableColumns<Record<string, ColumnSpec>>>();

/** True when values of this schema are tables (stored as Arrow IPC by file stores). */
export const isTableSchema = (schema: z.ZodType | undefined): boolean =>
  schema !== undefined && tableSchemas.has(schema);

/** The columns of a schema made by `tableSchema` (made when declared by a function), or undefined. */
export async function tableColumnsOf(
  schema: z.ZodType | undefined,
): Promise<Readonly<Record<string, ColumnSpec>> | undefined> {
  const columns = schema && tableSchemas.get(schema);
  return typeof columns === 'function' ? columns(await arrow()) : columns;
}

type TypesOf<C extends Record<string, ColumnSpec>> = {
  [K in keyof C]: C[K] extends ColumnSpec<infer T> ? T : never;
};

interface Spec {
  name: string;
  type: DataType;
  nullable: boolean;
}

/**
 * The schema of a table value: an Arrow `Table` with exactly these columns, in this order, of these
 * types (`String(type)`: `FixedSizeList[24]<Float64>`, `Dictionary<Int8, Utf8>`…); a column declared
 * `nullable: false` must hold no null. Errors name the column. `columns` may be a function of the
 * apache-arrow module (see `TableColumns`).
 */
export function tableSchema<const C extends Record<string, ColumnSpec>>(
  columns: TableColumns<C>,
): z.ZodType<Table<TypesOf<C> & TypeMap>> {
  const specsOf = (c: C): Spec[] => Object.entries(c).map(([name, spec]) => ({ name, ...specOf(spec) }));
  const base = z.custom<Table<TypesOf<C> & TypeMap>>();
  let schema: z.ZodType<Table<TypesOf<C> & TypeMap>>;
  if (typeof columns === 'function') {
    let specs: Spec[] | undefined;
    schema = base.superRefine(async (v, ctx) => {
      specs ??= specsOf(columns(await arrow()));
      checkTable(v, specs, ctx);
    });
  } else {
    const specs = specsOf(columns);
    schema = base.superRefine((v, ctx) => checkTable(v, specs, ctx));
  }
  tableSchemas.set(schema, columns);
  return schema;
}

function checkTable(v: unknown, specs: readonly Spec[], ctx: z.RefinementCtx): void {
  if (!isArrowTable(v)) {
    ctx.addIssue({ code: 'custom', message: `expected an Arrow Table, got ${describe(v)}` });
    return;
  }
  const fields = v.schema.fields;
  const names = fields.map((f) => f.name);
  if (names.join('\0') !== specs.map((s) => s.name).join('\0')) {
    ctx.addIssue({
      code: 'custom',
      message: `table columns are [${names.join(', ')}], expected [${specs.map((s) => s.name).join(', ')}]`,
    });
    return;
  }
  specs.forEach((s, i) => {
    const got = String(fields[i]!.type);
    if (got !== String(s.type))
      ctx.addIssue({
        code: 'custom',
        path: [s.name],
        message: `column type ${got}, expected ${String(s.type)}`,
      });
    else if (!s.nullable) {
      const nulls = v.getChildAt(i)?.nullCount ?? 0;
      if (nulls > 0)
        ctx.addIssue({
          code: 'custom',
          path: [s.name],
          message: `${nulls} nulls in a column without nulls`,
        });
    }
  });
}

const describe = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'an array'
      : typeof v === 'object'
        ? (v.constructor?.name ?? 'an object')
        : typeof v;
