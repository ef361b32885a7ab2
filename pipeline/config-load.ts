/**
 * Loads a project's config module (see config-file.ts for which one) and turns whatever goes wrong in it
 * into one ConfigFileError naming the file and line: a syntax error (from esbuild), an import that fails,
 * an exception while its modules run (e.g. an invalid asset key), a config of the wrong shape.
 *
 * How it is run: the CLI's own config (a CityFlow checkout) is compiled with the CLI and imported from that
 * build; any other config is compiled by config-build.ts (cached); when the CLI runs from its TypeScript
 * sources (tsx), or compiling is not possible here (read-only node_modules), the config is imported
 * through tsx.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildConfig, ConfigBuildError } from './config-build.ts';
import { buildError, display, EXPORT_LINE, lineOf, runtimeError } from './config-errors.ts';
import { ConfigFileError, type FoundConfig } from './config-file.ts';
import { frameworkLink } from './config-link.ts';
import type { CityflowConfig } from './define-config.ts';

export { frameworkLink } from './config-link.ts';

export interface LoadedConfig {
  file: string;
  from: FoundConfig['from'];
  config: CityflowConfig;
  /** Says where a failure happened: `file:line: message`, mapped back to the TypeScript sources. */
  explain(err: unknown, fallbackNeedle?: string): ConfigFileError;
}

export async function importConfig(found: FoundConfig): Promise<LoadedConfig> {
  const link = frameworkLink();
  const sourceOf = new Map<string, string>(); // compiled path → source path
  let url = pathToFileURL(found.file).href;
  // This checkout's own config (the Paris pipeline) is part of the CLI's build, or of its sources.
  const own = dirname(found.file) === link.sourceRoot;
  const ownCopy = join(link.runningRoot, basename(found.file).replace(/\.[cm]?[jt]s$/, '.js'));
  if (own && link.runningExt === '.ts') {
    // tsx or vitest: the loader that runs the CLI runs the config too.
  } else if (own && isReadable(ownCopy)) {
    url = pathToFileURL(ownCopy).href;
    sourceOf.set(ownCopy, found.file);
  } else {
    try {
      const build = await buildConfig(found.file, link);
      url = build.entry;
      for (const [src, out] of build.files) sourceOf.set(out, src);
    } catch (err) {
      if (err instanceof ConfigBuildError) throw buildError(err.messages, found.file);
      // Compiling is not possible here (e.g. read-only node_modules): tsx compiles in memory.
      if (link.runningExt === '.js') {
        const { register } = await import('tsx/esm/api');
        register();
      }
    }
  }
  const explain = (err: unknown, needle?: string): ConfigFileError =>
    runtimeError(err, found.file, link, sourceOf, needle);
  let mod: Record<string, unknown>;
  // From here on, modules are loaded with their source maps: the project's stack traces name its
  // TypeScript files and lines (the CLI's own modules, loaded before, skip that cost: bin.mjs).
  process.setSourceMapsEnabled(true);
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw explain(err);
  }
  const config = mod.default;
  if (
    config === undefined ||
    config === null ||
    (typeof config !== 'object' && typeof config !== 'function')
  ) {
    const line = lineOf(found.file, EXPORT_LINE) ?? 1;
    throw new ConfigFileError(
      `${display(found.file)}:${line}: the configuration must be the module's default export, ` +
        `e.g. \`export default defineConfig({ assets: [...] })\` (got ${config === undefined ? 'no default export' : typeof config})`,
    );
  }
  return { file: found.file, from: found.from, config: config as CityflowConfig, explain };
}

function isReadable(file: string): boolean {
  try {
    readFileSync(file, { flag: 'r' }).subarray(0, 0);
    return true;
  } catch {
    return false;
  }
}
