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
import type { DataType, Table, TypeMap } from 'apache-arrow';
import { z } from 'zod';
import { isArrowTable } from './arrow.ts';

/** A column: its Arrow type, and whether it may hold nulls (default true). */
export type ColumnSpec<T extends DataType = DataType> = T | { type: T; nullable?: boolean };

const specOf = (c: ColumnSpec): { type: DataType; nullable: boolean } =>
  'type' in c && typeof (c as { typeId?: unknown }).typeId !== 'number'
    ? { type: (c as { type: DataType }).type, nullable: (c as { nullable?: boolean }).nullable ?? true }
    : { type: c as DataType, nullable: true };

/** The schemas made by `tableSchema`, with their columns. */
const tableSchemas = new WeakMap<z.ZodType, Readonly<Record<string, ColumnSpec>>>();

/** The columns of a schema made by `tableSchema`, or undefined for any other schema. */
export const tableColumnsOf = (
  schema: z.ZodType | undefined,
): Readonly<Record<string, ColumnSpec>> | undefined => (schema ? tableSchemas.get(schema) : undefined);

/** True when values of this schema are tables (stored as Arrow IPC by file stores). */
export const isTableSchema = (schema: z.ZodType | undefined): boolean => tableColumnsOf(schema) !== undefined;

type TypesOf<C extends Record<string, ColumnSpec>> = {
  [K in keyof C]: C[K] extends ColumnSpec<infer T> ? T : never;
};

/**
 * The schema of a table value: an Arrow `Table` with exactly these columns, in this order, of these
 * types (`String(type)`: `FixedSizeList[24]<Float64>`, `Dictionary<Int8, Utf8>`…); a column declared
 * `nullable: false` must hold no null. Errors name the column.
 */
export function tableSchema<const C extends Record<string, ColumnSpec>>(
  columns: C,
): z.ZodType<Table<TypesOf<C> & TypeMap>> {
  const specs = Object.entries(columns).map(([name, c]) => ({ name, ...specOf(c) }));
  const schema = z.custom<Table<TypesOf<C> & TypeMap>>().superRefine((v, ctx) => {
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
  });
  tableSchemas.set(schema, columns);
  return schema;
}

const describe = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'an array'
      : typeof v === 'object'
        ? (v.constructor?.name ?? 'an object')
        : typeof v;
