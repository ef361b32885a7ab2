/**
 * Checks, when definitions load, that every asset names a bound IO manager and that its `storage`
 * sections are well formed and make sense to the manager bound to it. Errors name the asset.
 */
import type { z } from 'zod';
import type { AnyAsset } from './asset.ts';
import { DefinitionError } from './definition-error.ts';
import type { IOManager } from './io.ts';
import { standardSections, type StorageMeta } from './storage.ts';

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function issues(schema: z.ZodType, value: unknown, at: string): string[] {
  const r = schema.safeParse(value);
  if (r.success) return [];
  return r.error.issues.map((i) => {
    const path = [at, ...i.path.map(String)].join('.');
    return `${path}: ${i.message}`;
  });
}

/** The IO manager an asset names; a DefinitionError naming the asset and the bound names if there is none. */
export function boundManager(asset: AnyAsset, io: Readonly<Record<string, IOManager>>): IOManager {
  const manager = Object.hasOwn(io, asset.io) ? io[asset.io] : undefined;
  if (!manager)
    throw new DefinitionError(
      `Asset "${asset.key}" is stored with io: '${asset.io}', but no IO manager has that name ` +
        `(the definitions bind: ${Object.keys(io).join(', ')})`,
    );
  return manager;
}

/** Throws a DefinitionError listing what is wrong with an asset's `storage`, if anything. */
export function checkStorage(asset: AnyAsset, io: Readonly<Record<string, IOManager>>): void {
  const manager = boundManager(asset, io);
  if ((asset.storage as StorageMeta | undefined)?.file?.format === 'arrow' && !manager.storesTables)
    throw new DefinitionError(
      `Asset "${asset.key}" returns a table (Arrow), but IO manager "${asset.io}" (${manager.name}) does not store tables: ` +
        `bind it to local files or S3`,
    );
  const storage: unknown = asset.storage;
  if (storage === undefined) return;
  const name = `Asset "${asset.key}"`;
  if (!isPlainObject(storage))
    throw new DefinitionError(`${name}: storage must be an object of sections like { file: {...} }`);
  const known = new Map(Object.entries(standardSections));
  for (const m of Object.values(io))
    if (m.accepts && !known.has(m.accepts.section)) known.set(m.accepts.section, m.accepts.schema);
  const problems: string[] = [];
  for (const [section, value] of Object.entries(storage)) {
    const schema = known.get(section);
    if (!schema) {
      problems.push(`storage.${section}: unknown section (known: ${[...known.keys()].join(', ')})`);
      continue;
    }
    problems.push(...issues(schema, value, `storage.${section}`));
  }
  const own = manager.accepts;
  if (!problems.length && own && own.section in storage)
    problems.push(
      ...issues(own.schema, storage[own.section], `storage.${own.section}`).map(
        (p) => `${p} (IO manager "${asset.io}", ${manager.name})`,
      ),
    );
  if (problems.length) throw new DefinitionError(`${name}: ${problems.join('; ')}`);
}
