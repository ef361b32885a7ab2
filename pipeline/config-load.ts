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
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Message } from 'esbuild';
import { buildConfig, ConfigBuildError, projectRootOf, type FrameworkLink } from './config-build.ts';
import { ConfigFileError, type FoundConfig } from './config-file.ts';
import type { CityflowConfig } from './define-config.ts';

/** The CLI's own folders (a frame in one of them is not the project's code). */
const FRAMEWORK_DIRS = ['engine', 'io-managers', 'pipeline'];
const COMPILED_BUILD = /^(.*)[\\/]node_modules[\\/]\.cache[\\/]cityflow[\\/][0-9a-f]{16}$/;

/** Where the running CLI is: a compiled build, `dist/` of the published package, or the sources. */
export function frameworkLink(moduleUrl: string = import.meta.url): FrameworkLink {
  const runningRoot = dirname(dirname(fileURLToPath(moduleUrl)));
  const compiled = COMPILED_BUILD.exec(runningRoot);
  const sourceRoot = compiled
    ? compiled[1]!
    : basename(runningRoot) === 'dist'
      ? dirname(runningRoot)
      : runningRoot;
  const dirs = ['engine', 'io-managers', 'assets', 'pipeline'];
  return { runningRoot, sourceRoot, dirs, runningExt: moduleUrl.endsWith('.ts') ? '.ts' : '.js' };
}

export interface LoadedConfig {
  file: string;
  from: FoundConfig['from'];
  config: CityflowConfig;
  /** Says where a failure happened: `file:line: message`, mapped back to the TypeScript sources. */
  explain(err: unknown, fallbackNeedle?: string): ConfigFileError;
}

/** `cityflow.config.ts` relative to the current directory when inside it, else absolute. */
const display = (file: string): string => {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
};

/** The 1-based line of the first occurrence of `needle` in a file, or undefined. */
function lineOf(file: string, needle: string | RegExp): number | undefined {
  try {
    const lines = readFileSync(file, 'utf8').split('\n');
    const i = lines.findIndex((l) => (typeof needle === 'string' ? l.includes(needle) : needle.test(l)));
    return i < 0 ? undefined : i + 1;
  } catch {
    return undefined;
  }
}

const EXPORT_LINE = /export\s+default|defineConfig\s*\(/;

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

/** esbuild's first error: `file:line:col: text` and the line itself. */
function buildError(messages: Message[], configFile: string): ConfigFileError {
  const m = messages.find((x) => x.location) ?? messages[0]!;
  const loc = m.location;
  if (!loc) return new ConfigFileError(`${display(configFile)}: ${m.text}`);
  const file = isAbsolute(loc.file) ? loc.file : join(projectRootOf(configFile), loc.file);
  const where = `${display(file)}:${loc.line}:${loc.column + 1}`;
  const snippet = loc.lineText ? `\n    ${loc.line} | ${loc.lineText.trimEnd()}` : '';
  const more =
    messages.length > 1 ? ` (and ${messages.length - 1} more error${messages.length > 2 ? 's' : ''})` : '';
  return new ConfigFileError(`${where}: ${m.text}${more}${snippet}`);
}

/** Stack frame → `{ file, line, column }` (file as a plain path). */
function frames(stack: string): { file: string; line: number; column: number }[] {
  const out: { file: string; line: number; column: number }[] = [];
  for (const l of stack.split('\n')) {
    const m = /^\s*at (?:.*\()?((?:file:\/\/)?[^\s()]+?):(\d+):(\d+)\)?\s*$/.exec(l);
    if (!m) continue;
    let file = m[1]!;
    if (file.startsWith('file:')) {
      try {
        file = fileURLToPath(file);
      } catch {
        continue;
      }
    }
    if (!isAbsolute(file)) continue;
    out.push({ file, line: Number(m[2]), column: Number(m[3]) });
  }
  return out;
}

function runtimeError(
  err: unknown,
  configFile: string,
  link: FrameworkLink,
  sourceOf: Map<string, string>,
  needle?: string,
): ConfigFileError {
  const e = err instanceof Error ? err : new Error(String(err));
  const toSource = (p: string): string => sourceOf.get(p) ?? p;
  const inFramework = (p: string): boolean =>
    [link.runningRoot, link.sourceRoot].some((root) =>
      FRAMEWORK_DIRS.some((d) => p.startsWith(join(root, d) + sep)),
    );
  // Compiled paths in the message (e.g. "imported from …/cache/…/x.js") are named by their sources.
  let message = e.message;
  for (const [out, src] of sourceOf) {
    message = message.split(pathToFileURL(out).href).join(src).split(out).join(src);
  }
  const code = (e as NodeJS.ErrnoException).code;
  const prefix = e.name && e.name !== 'Error' && !/^(DefinitionError)$/.test(e.name) ? `${e.name}: ` : '';
  const frame = frames(e.stack ?? '')
    .map((f) => ({ ...f, file: toSource(f.file) }))
    .find((f) => !f.file.split(sep).includes('node_modules') && !inFramework(f.file));
  let where: string;
  if (frame) {
    where = `${display(frame.file)}:${frame.line}:${frame.column}`;
  } else if (code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') {
    // "Cannot find package 'x' imported from <file>": the line of that import in its source.
    const m = /['"]([^'"]+)['"] imported from (\S+)/.exec(message);
    const file = m ? toSource(m[2]!.startsWith('file:') ? fileURLToPath(m[2]!) : m[2]!) : configFile;
    const spec = m?.[1] ?? '';
    where = `${display(file)}:${(spec && lineOf(file, spec)) || 1}`;
  } else {
    const candidates = needle ? [configFile, ...sourceOf.values()] : [];
    const hit = candidates.map((f) => ({ f, line: lineOf(f, needle!) })).find((x) => x.line);
    where = hit
      ? `${display(hit.f)}:${hit.line}`
      : `${display(configFile)}:${lineOf(configFile, EXPORT_LINE) ?? 1}`;
  }
  const context = where.startsWith(display(configFile) + ':') ? '' : ` (loading ${display(configFile)})`;
  return new ConfigFileError(`${where}: ${prefix}${message}${context}`);
}
