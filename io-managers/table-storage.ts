/** The `storage.database` section a database IO manager accepts: a table, if named, must be one of its own. */
import { databaseStorageSchema, type StorageSpec } from '../engine/storage.ts';

export function tableStorageSpec(tables: Record<string, unknown>): StorageSpec {
  const names = Object.keys(tables);
  return {
    section: 'database',
    schema: databaseStorageSchema.refine((s) => s.table === undefined || names.includes(s.table), {
      message: `not one of the tables of this IO manager (${names.join(', ')})`,
      path: ['table'],
    }),
  };
}
