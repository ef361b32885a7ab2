import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';

export const sha = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** What a module contributes to a code version (cached by content: keep the short keys). */
export interface FileFacts {
  /** Normalized hash (16 hex). */
  h: string;
  /** Relative specifiers: imports, dynamic imports, `new URL('./x', import.meta.url)`. */
  i: string[];
  /** Bare specifiers (npm packages, builtins excluded). */
  p: string[];
}

export type Loader = 'ts' | 'tsx' | 'js' | 'jsx';

export const LOADERS: Record<string, Loader> = {
  '.ts': 'ts',
  '.mts': 'ts',
  '.cts': 'ts',
  '.tsx': 'tsx',
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
  '.jsx': 'jsx',
};

const require = createRequire(import.meta.url);
let esbuildVersionMemo: string | undefined;
export const esbuildVersion = (): string =>
  (esbuildVersionMemo ??= (
    JSON.parse(readFileSync(require.resolve('esbuild/package.json'), 'utf8')) as { version: string }
  ).version);

/** esbuild and the lexer are loaded only when a file is not in the cache. */
let tools:
  | {
      transformSync: typeof import('esbuild').transformSync;
      parse: typeof import('es-module-lexer').parse;
    }
  | undefined;
function loadTools(): NonNullable<typeof tools> {
  if (!tools) {
    const esbuild = require('esbuild') as typeof import('esbuild');
    const lexer = require('es-module-lexer') as typeof import('es-module-lexer');
    lexer.initSync();
    tools = { transformSync: esbuild.transformSync, parse: lexer.parse };
  }
  return tools;
}

const BUILTINS = new Set(builtinModules);
export const isRelative = (spec: string): boolean => spec.startsWith('./') || spec.startsWith('../');
/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`; undefined for builtins, URLs and paths. */
export function packageNameOf(spec: string): string | undefined {
  if (isRelative(spec) || spec.startsWith('/') || spec.startsWith('#') || /^[a-z][a-z0-9+.-]*:/i.test(spec))
    return undefined;
  const parts = spec.split('/');
  const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  return BUILTINS.has(name) || BUILTINS.has(spec) ? undefined : name;
}

/** The text just before `import.meta` in `new URL("./x",import.meta.url)` (esbuild's minified form). */
const URL_BEFORE_META = /new URL\((["'`])([^"'`\\$]*)\1,$/;

/**
 * Normalizes one module with esbuild and lists what it imports. A file esbuild cannot parse (e.g. a
 * `.js` data file named by a URL) counts by its bytes, with no imports.
 */
export function analyzeModule(code: string, loader: Loader): FileFacts {
  const tools = loadTools(); // not caught: a missing esbuild must not be cached as unparsable files
  try {
    return normalizeModule(tools, code, loader);
  } catch {
    return { h: sha(code).slice(0, 16), i: [], p: [] };
  }
}

function normalizeModule(
  { transformSync, parse }: NonNullable<typeof tools>,
  code: string,
  loader: Loader,
): FileFacts {
  const out = transformSync(code, {
    loader,
    format: 'esm',
    target: 'es2022',
    minifyWhitespace: true,
    legalComments: 'none',
    tsconfigRaw: {},
    ...(loader === 'tsx' || loader === 'jsx' ? { jsx: 'automatic' as const } : {}),
  }).code;
  const [imports] = parse(out);
  const rel = new Set<string>();
  const pkgs = new Set<string>();
  for (const imp of imports) {
    if (imp.t === 3) {
      // import.meta: a file named relative to the module, e.g. data read at run time or a worker.
      if (!out.startsWith('.url)', imp.e)) continue;
      const m = URL_BEFORE_META.exec(out.slice(Math.max(0, imp.s - 500), imp.s));
      if (m && isRelative(m[2]!)) rel.add(m[2]!);
      continue;
    }
    const spec = imp.n;
    if (spec === undefined) continue; // computed dynamic import: cannot be followed
    if (isRelative(spec)) rel.add(spec);
    else {
      const name = packageNameOf(spec);
      if (name) pkgs.add(name);
    }
  }
  return { h: sha(out).slice(0, 16), i: [...rel].sort(), p: [...pkgs].sort() };
}
