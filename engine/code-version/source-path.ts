import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A build of pipeline/compile.mjs: `<root>/node_modules/.cache/cityflow/<hash>/<same path as the source>`. */
const COMPILED_BUILD = /^((.*)[\\/]node_modules[\\/]\.cache[\\/]cityflow[\\/][0-9a-f]{16})[\\/](.+)$/;

const buildRoots = new Map<string, string | null>();

/**
 * The checkout a compiled build was made from, as compile.mjs records it in `build.json`; undefined for
 * a build without one. Not always the folder holding the cache: node_modules may be a symbolic link
 * into another checkout (Node names modules by their real path).
 */
export function builtFrom(buildDir: string): string | undefined {
  let root = buildRoots.get(buildDir);
  if (root === undefined) {
    try {
      const parsed = JSON.parse(readFileSync(join(buildDir, 'build.json'), 'utf8')) as {
        sourceRoot?: unknown;
      };
      root = typeof parsed.sourceRoot === 'string' ? parsed.sourceRoot : null;
    } catch {
      root = null; // a build from before build.json
    }
    buildRoots.set(buildDir, root);
  }
  return root ?? undefined;
}

export const isFile = (path: string): boolean => {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false;
  }
};

/**
 * The source file of a module as a plain absolute path: `file:` URLs and query strings removed, and a
 * module of the compiled CLI mapped back to its TypeScript source (`…/<hash>/assets/x.js` → `assets/x.ts`).
 */
export function sourcePathOf(file: string): string {
  let path = file.replace(/[?#].*$/, '');
  if (path.startsWith('file:')) {
    try {
      path = fileURLToPath(path);
    } catch {
      return path; // not a local file
    }
  }
  const m = COMPILED_BUILD.exec(path);
  if (!m) return path;
  const source = join(builtFrom(m[1]!) ?? m[2]!, m[3]!);
  if (!/\.js$/.test(source)) return source;
  for (const ext of ['.ts', '.tsx']) {
    const candidate = source.replace(/\.js$/, ext);
    if (isFile(candidate)) return candidate;
  }
  return path; // no source next to it: the compiled file is all there is
}

/** The framework's directory (`engine/`, above this one): its modules are never part of a code version. */
export const FRAMEWORK_DIR = dirname(dirname(sourcePathOf(import.meta.url)));
