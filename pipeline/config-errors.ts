/**
 * A failure in a project's config as one ConfigFileError naming the file and line: esbuild's errors
 * (syntax), and errors thrown while its modules load or its function runs, located by the first stack
 * frame in the project's own code (source-mapped), by the import that failed, or by a name it mentions.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Message } from 'esbuild';
import { projectRootOf } from './config-build.ts';
import { ConfigFileError } from './config-file.ts';
import type { FrameworkLink } from './config-link.ts';

/** The CLI's own folders (a frame in one of them is not the project's code). */
const FRAMEWORK_DIRS = ['engine', 'io-managers', 'pipeline'];

/** `cityflow.config.ts` relative to the current directory when inside it, else absolute. */
export const display = (file: string): string => {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
};

/** The 1-based line of the first occurrence of `needle` in a file, or undefined. */
export function lineOf(file: string, needle: string | RegExp): number | undefined {
  try {
    const lines = readFileSync(file, 'utf8').split('\n');
    const i = lines.findIndex((l) => (typeof needle === 'string' ? l.includes(needle) : needle.test(l)));
    return i < 0 ? undefined : i + 1;
  } catch {
    return undefined;
  }
}

export const EXPORT_LINE = /export\s+default|defineConfig\s*\(/;

/** esbuild's first error: `file:line:col: text` and the line itself. */
export function buildError(messages: Message[], configFile: string): ConfigFileError {
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

export function runtimeError(
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
