/**
 * A loaded config → the engine's Definitions: calls a config function with the environment's bindings,
 * checks the shape of what it returns, and builds the asset graph. Every failure is one ConfigFileError
 * naming the file and line (see config-load.ts).
 */
import { defineDefinitions, type AnyAsset, type Definitions, type IOManager } from '../engine/index.ts';
import type { LoadedConfig } from './config-load.ts';
import type { ConfigContext, ProjectDefinitions, ProjectPage } from './define-config.ts';

const hasMethods = (v: unknown, names: string[]): boolean =>
  typeof v === 'object' &&
  v !== null &&
  names.every((n) => typeof (v as Record<string, unknown>)[n] === 'function');

const describe = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'an array'
      : typeof v === 'object'
        ? 'an object'
        : `${typeof v} ${String(v)}`;

/** What is wrong with the definitions' shape, or undefined; `needle` locates it in the sources. */
function shapeProblem(d: unknown): { message: string; needle?: string } | undefined {
  if (typeof d !== 'object' || d === null)
    return { message: `the configuration must give an object { assets: [...] } (got ${describe(d)})` };
  const defs = d as Partial<ProjectDefinitions>;
  if (!Array.isArray(defs.assets))
    return { message: `"assets" must be an array of assets and sources (got ${describe(defs.assets)})` };
  for (const [i, a] of defs.assets.entries()) {
    const asset = a as Partial<AnyAsset> | undefined;
    if (!asset || (asset.kind !== 'asset' && asset.kind !== 'source') || typeof asset.key !== 'string')
      return {
        message: `assets[${i}] is not an asset or a source (made by defineAsset, defineBatchAsset or defineSource; got ${describe(a)})`,
      };
  }
  for (const [name, io] of Object.entries(defs.io ?? {})) {
    if (!hasMethods(io, ['load', 'store', 'stat']))
      return { message: `io.${name} is not an IO manager (load, store and stat methods)`, needle: name };
  }
  for (const [i, page] of (defs.pages ?? []).entries()) {
    const pg = page as Partial<ProjectPage> | undefined;
    if (!pg || typeof pg.id !== 'string' || !/^[a-z][a-z0-9-]{0,39}$/.test(pg.id))
      return { message: `pages[${i}].id must be a lower-case name (letters, digits, dashes)` };
    if (typeof pg.render !== 'function' || typeof pg.asset !== 'string' || typeof pg.title !== 'string')
      return {
        message: `pages[${i}] (${pg.id}) needs a title, an asset key and a render function`,
        needle: pg.id,
      };
    if (!defs.assets?.some((a) => a.key === pg.asset))
      return { message: `pages[${i}] (${pg.id}) shows unknown asset "${pg.asset}"`, needle: pg.id };
  }
  if (defs.sources !== undefined && !hasMethods(defs.sources, ['observe', 'resolve', 'listFolders']))
    return { message: '"sources" is not a SourceIO (observe, resolve and listFolders methods)' };
  return undefined;
}

export async function resolveDefinitions(
  loaded: LoadedConfig,
  ctx: ConfigContext,
): Promise<{ defs: Definitions; describe?: string; pages: readonly ProjectPage[] }> {
  let value: unknown;
  try {
    value = typeof loaded.config === 'function' ? await loaded.config(ctx) : loaded.config;
  } catch (err) {
    throw loaded.explain(err);
  }
  const problem = shapeProblem(value);
  if (problem) throw loaded.explain(new Error(problem.message), problem.needle);
  const defs = value as ProjectDefinitions;
  const io: Record<string, IOManager> = { default: ctx.store, ...defs.io };
  for (const a of defs.assets) {
    if (a.kind === 'asset' && !io[a.io]) {
      const err = new Error(
        `asset "${a.key}" is stored with io: '${a.io}', but the configuration has no IO manager of that ` +
          `name (it has: ${Object.keys(io).join(', ')})`,
      );
      throw loaded.explain(err, `'${a.io}'`);
    }
  }
  try {
    const definitions = defineDefinitions({ assets: defs.assets, io, sources: defs.sources ?? ctx.sources });
    return {
      defs: definitions,
      ...(typeof defs.describe === 'string' && { describe: defs.describe }),
      pages: defs.pages ?? [],
    };
  } catch (err) {
    // e.g. "Asset "x" depends on unknown asset "y"": located at the first asset key it names.
    const key = /"([a-z][a-z0-9_]*)"/.exec((err as Error).message)?.[1];
    throw loaded.explain(err, key && `'${key}'`);
  }
}
