/**
 * Per-asset storage placement, typed. An asset says *which* IO manager binding stores it (`io: 'metrics'`)
 * and, when the default placement does not suit it, *where* in that store its units go, in one section
 * per kind of store:
 *
 *   storage: { database: { table: 'reports', id: 'daily_report_{partition}' }, file: { format: 'json' } }
 *
 * A binding can stand for different stores in different environments (local files on a laptop, a
 * database in production), so an asset may declare several sections; each IO manager reads its own
 * (`IOManager.accepts`) and ignores the others. Sections are type-checked here and validated when the
 * definitions load (engine/storage-check.ts): the section's shape, then what the bound manager knows
 * (e.g. that the table exists).
 */
import { z } from 'zod';

/** File stores (local files): how a unit's value is written. */
export interface FileStorage {
  /**
   * 'json' (default): the value as canonical JSON. 'text': the value must be a string, stored as it
   * is. 'arrow': the value is an Arrow Table stored as an Arrow IPC stream (set for assets whose schema
   * is a `tableSchema`, engine/table.ts).
   */
  format?: 'json' | 'text' | 'arrow';
  /** The file name extension, without dot; default `json` for json, `txt` for text, `arrows` for arrow. */
  extension?: string;
}

/** Database stores (DynamoDB, MongoDB): which table and which record a unit is. */
export interface DatabaseStorage {
  /** The logical name of one of the manager's tables (MongoDB: collections); default its first. */
  table?: string;
  /**
   * The record's id (the table's id attribute; the partition key is the other half of the key): a
   * template where `{asset}` and `{partition}` are replaced, e.g. `daily_report_{partition}`. Default
   * `{asset}`. Two assets with the same id in one table share records.
   */
  id?: string;
}

/** The sections an asset's `storage` may have, by kind of store. Extend it by declaration merging. */
export interface StorageSections {
  file: FileStorage;
  database: DatabaseStorage;
}

/** An asset's storage placement: at most one section per kind of store. */
export type StorageMeta = { readonly [K in keyof StorageSections]?: StorageSections[K] };

const PLACEHOLDER = /\{([^{}]*)\}/g;
const PLACEHOLDERS = new Set(['asset', 'partition']);

export const idTemplateSchema = z
  .string()
  .min(1)
  .superRefine((t, ctx) => {
    for (const [, name] of t.matchAll(PLACEHOLDER))
      if (!PLACEHOLDERS.has(name!))
        ctx.addIssue({
          code: 'custom',
          message: `unknown placeholder {${name}} (use {asset} or {partition})`,
        });
    if (/[{}]/.test(t.replace(PLACEHOLDER, '')))
      ctx.addIssue({
        code: 'custom',
        message: 'unbalanced { or } (placeholders are {asset} and {partition})',
      });
  });

export const fileStorageSchema = z.strictObject({
  format: z.enum(['json', 'text', 'arrow']).optional(),
  extension: z
    .string()
    .regex(/^[A-Za-z0-9]+$/, 'an extension is letters and digits, without dot')
    .optional(),
});

export const databaseStorageSchema = z.strictObject({
  table: z.string().min(1).optional(),
  id: idTemplateSchema.optional(),
});

/** The schema of each standard section, whatever is bound (an environment may bind another store). */
export const standardSections: Readonly<Record<string, z.ZodType>> = {
  file: fileStorageSchema,
  database: databaseStorageSchema,
};

/** What an IO manager declares about the storage metadata it reads. */
export interface StorageSpec {
  /** The section of an asset's `storage` it reads, e.g. 'file' or 'database'. */
  readonly section: string;
  /** Validates that section with what the manager knows (e.g. its tables); run when definitions load. */
  readonly schema: z.ZodType;
}

/** `{asset}` and `{partition}` of an id template replaced by the unit's. */
export function fillIdTemplate(template: string, unit: { assetKey: string; partitionKey: string }): string {
  return template.replace(PLACEHOLDER, (_, name: string) =>
    name === 'asset' ? unit.assetKey : name === 'partition' ? unit.partitionKey : `{${name}}`,
  );
}
