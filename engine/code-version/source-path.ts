import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A build of pipeline/compile.mjs: `<root>/node_modules/.cache/cityflow/<hash>`. */
const BUILD_DIR = /^(.*)[\\/]node_modules[\\/]\.cache[\\/]cityflow[\\/][0-9a-f]{16}$/;
/** A file of such a build: `<build>/<same path as the source>`. */
const IN_BUILD = /^(.*[\\/]node_modules[\\/]\.cache[\\/]cityflow[\\/][0-9a-f]{16})[\\/](.+)$/;

const checkouts = new Map<string, string | undefined>();

/**
 * The checkout a compiled build was made from (undefined when `buildDir` is not one): as compile.mjs
 * records it in `build.json`, else (a build from before it) the folder holding the cache. Not always
 * that folder: node_modules may be a symbolic link into another checkout (Node names modules by their
 * real path).
 */
export function checkoutOfBuild(buildDir: string): string | undefined {
  if (checkouts.has(buildDir)) return checkouts.get(buildDir);
  const m = BUILD_DIR.exec(buildDir);
  let root = m?.[1];
  if (m) {
    try {
      const parsed = JSON.parse(readFileSync(join(buildDir, 'build.json'), 'utf8')) as {
        sourceRoot?: unknown;
      };
      if (typeof parsed.sourceRoot === 'string') root = parsed.sourceRoot;
    } catch {
      // a build from before build.json
    }
  }
  checkouts.set(buildDir, root);
  return root;
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
  const m = IN_BUILD.exec(path);
  if (!m) return path;
  const source = join(checkoutOfBuild(m[1]!)!, m[2]!);
  if (!/\.js$/.test(source)) return source;
  for (const ext of ['.ts', '.tsx']) {
    const candidate = source.replace(/\.js$/, ext);
    if (isFile(candidate)) return candidate;
  }
  return path; // no source next to it: the compiled file is all there is
}

/** The framework's directory (`engine/`, above this one): its modules are never part of a code version. */
export const FRAMEWORK_DIR = dirname(dirname(sourcePathOf(import.meta.url)));
