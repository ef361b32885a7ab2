/**
 * Automatic code versions: what an asset's `codeVersion` covers when none is given explicitly.
 *
 * The version is derived from the module that defined the asset (the one that called `defineAsset`,
 * found from the call stack) and every project module it reaches through relative imports (static,
 * dynamic `import('./x')` and files named as `new URL('./file', import.meta.url)`), plus the versions of
 * the npm packages those modules import (from package-lock.json). Each module is normalized by esbuild
 * first (types, comments and formatting removed), so only changes to the emitted JavaScript count, and
 * the TypeScript sources are what is hashed whether the process runs them through tsx, vitest or the
 * compiled CLI (pipeline/compile.mjs): every mode gives the same version.
 *
 * Not counted:
 * - the framework itself: every module under this file's directory (`engine/`). Upgrading the engine
 *   does not re-run assets, as upgrading Dagster does not (a defining module inside it, e.g. a test,
 *   still counts itself);
 * - modules that define other assets or sources: an upstream asset's code reaches its dependents through
 *   its data version (and early cutoff), not through their code versions. Keep helpers that several
 *   assets share out of asset modules, in small modules of their own;
 * - `require()` calls and computed specifiers (`import(name)`), which cannot be followed statically.
 *
 * An esbuild upgrade may change the normalized text of unchanged modules: every asset then re-runs
 * once (the safe direction). Normalized hashes and imports are cached per file content in
 * `<project>/node_modules/.cache/cityflow/code-files.json`, so an unchanged project costs one read and
 * one SHA-256 per module; nothing is computed until a code version is first read.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stableStringify } from './hash.ts';

/** What an automatic code version was computed from. */
export interface CodeManifest {
  /** Project-relative path (`/`-separated) → hash of the normalized module (raw bytes for data files). */
  files: Record<string, string>;
  /** npm package name → installed version. */
  packages: Record<string, string>;
}

export interface CodeVersion {
  version: string;
  /** Undefined for explicit versions and fallbacks. */
  manifest?: CodeManifest;
}

/** Hash recorded for a file that an import names but that does not exist. */
export const MISSING_FILE = 'missing';

const sha = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Version string of a manifest: `mod:` + 16 hex characters of the canonical JSON's hash. */
export const manifestVersion = (manifest: CodeManifest): string =>
  `mod:${sha(stableStringify(manifest)).slice(0, 16)}`;

// ---------- where a module's source is ----------

/** A build of pipeline/compile.mjs: `<root>/node_modules/.cache/cityflow/<hash>/<same path as the source>`. */
const COMPILED_BUILD = /^(.*)[\\/]node_modules[\\/]\.cache[\\/]cityflow[\\/][0-9a-f]{16}[\\/](.+)$/;

const isFile = (path: string): boolean => {
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
  const source = join(m[1]!, m[2]!);
  if (!/\.js$/.test(source)) return source;
  for (const ext of ['.ts', '.tsx']) {
    const candidate = source.replace(/\.js$/, ext);
    if (isFile(candidate)) return candidate;
  }
  return path; // no source next to it: the compiled file is all there is
}

/** The framework's directory (`engine/`): its modules are never part of an asset's code version. */
export const FRAMEWORK_DIR = dirname(sourcePathOf(import.meta.url));
/** The modules whose frames are skipped when looking for the module that called defineAsset. */
const DEFINING_FUNCTIONS = new Set([join(FRAMEWORK_DIR, 'asset.ts'), join(FRAMEWORK_DIR, 'code-version.ts')]);

/** Source files of the stack's frames, innermost first (raw V8 call sites: no source-map lookups). */
function stackFiles(): string[] {
  const savedPrepare = Error.prepareStackTrace;
  const savedLimit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 50;
    Error.prepareStackTrace = (_err, sites) => sites;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder);
    const sites = holder.stack as NodeJS.CallSite[] | undefined;
    if (!Array.isArray(sites)) return [];
    return sites.map((s) => s.getFileName() ?? '').filter((f) => f !== '');
  } finally {
    Error.prepareStackTrace = savedPrepare;
    Error.stackTraceLimit = savedLimit;
  }
}

/** Modules that defined an asset or a source in this process (boundaries of the other assets' closures). */
const definingModules = new Set<string>();

/**
 * The source file of the module calling defineAsset / defineBatchAsset / defineSource (the first frame
 * outside engine/asset.ts and this file), recorded as a defining module. Undefined when the caller has
 * no file (eval, REPL).
 */
export function captureDefiningModule(): string | undefined {
  for (const frame of stackFiles()) {
    if (frame.startsWith('node:')) continue;
    const path = sourcePathOf(frame);
    if (!isAbsolute(path) || DEFINING_FUNCTIONS.has(path)) continue;
    definingModules.add(path);
    return path;
  }
  return undefined;
}

// ---------- per-file analysis (cached by content) ----------

interface FileFacts {
  /** Normalized hash (16 hex). */
  h: string;
  /** Relative specifiers: imports, dynamic imports, `new URL('./x', import.meta.url)`. */
  i: string[];
  /** Bare specifiers (npm packages, builtins excluded). */
  p: string[];
}

const LOADERS: Record<string, 'ts' | 'tsx' | 'js' | 'jsx'> = {
  '.ts': 'ts',
  '.mts': 'ts',
  '.cts': 'ts',
  '.tsx': 'tsx',
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
  '.jsx': 'jsx',
};
/** Bump when the normalization or the cached facts change, so older caches are not reused. */
const CACHE_FORMAT = 1;
const CACHE_FILE = 'node_modules/.cache/cityflow/code-files.json';
/** Entries kept in the cache file (those used by this process first). */
const CACHE_LIMIT = 5000;

const require = createRequire(import.meta.url);
let esbuildVersionMemo: string | undefined;
const esbuildVersion = (): string =>
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
const isRelative = (spec: string): boolean => spec.startsWith('./') || spec.startsWith('../');
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
function analyzeModule(code: string, loader: 'ts' | 'tsx' | 'js' | 'jsx'): FileFacts {
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
  loader: 'ts' | 'tsx' | 'js' | 'jsx',
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

interface CacheFile {
  format: number;
  esbuild: string;
  entries: Record<string, FileFacts>;
  /** Versions already looked up in package-lock.json, valid while its hash is `lock` (parsing it is slow). */
  packages?: { lock: string; versions: Record<string, string> };
}

/** The per-project cache file of file facts, keyed by `<sha256 of the bytes>:<loader>`. */
class FactsCache {
  private entries = new Map<string, FileFacts>();
  private readonly used = new Set<string>();
  private dirty = false;
  packages: { lock: string; versions: Record<string, string> } | undefined;

  constructor(
    private readonly path: string | undefined,
    private readonly compiler: string,
  ) {
    if (!path) return;
    try {
      const data = JSON.parse(readFileSync(path, 'utf8')) as CacheFile;
      if (data.format === CACHE_FORMAT && data.esbuild === compiler && data.entries) {
        this.entries = new Map(Object.entries(data.entries));
        this.packages = data.packages;
      }
    } catch {
      // No cache yet, or unreadable: start empty.
    }
  }

  get(key: string, compute: () => FileFacts): FileFacts {
    this.used.add(key);
    let facts = this.entries.get(key);
    if (!facts) {
      facts = compute();
      this.entries.set(key, facts);
      this.dirty = true;
    }
    return facts;
  }

  setPackages(packages: { lock: string; versions: Record<string, string> }): void {
    this.packages = packages;
    this.dirty = true;
  }

  /** Written atomically (temp file + rename); silently skipped when the folder is not writable. */
  flush(): void {
    if (!this.path || !this.dirty) return;
    this.dirty = false;
    const keys = [...this.used, ...[...this.entries.keys()].filter((k) => !this.used.has(k))];
    const entries: Record<string, FileFacts> = {};
    for (const k of keys.slice(0, CACHE_LIMIT)) entries[k] = this.entries.get(k)!;
    const data: CacheFile = {
      format: CACHE_FORMAT,
      esbuild: this.compiler,
      entries,
      packages: this.packages,
    };
    const tmp = `${this.path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      writeFileSync(tmp, JSON.stringify(data));
      renameSync(tmp, this.path);
    } catch {
      try {
        rmSync(tmp, { force: true });
      } catch {
        // nothing was written
      }
    }
  }
}

// ---------- per-project facts ----------

const roots = new Map<string, string | undefined>();
/** Nearest directory at or above the file's holding a package.json (memoized per directory). */
function projectRootOf(file: string): string | undefined {
  const dir = dirname(file);
  if (!roots.has(dir)) {
    const up = dirname(dir);
    roots.set(
      dir,
      isFile(join(dir, 'package.json')) ? dir : up === dir ? undefined : projectRootOf(join(up, '_')),
    );
  }
  return roots.get(dir);
}

class Project {
  readonly cache: FactsCache;
  /** sha256 of package-lock.json ('' when absent), read on first use. */
  private lockHash: string | undefined;
  private lockBytes: Buffer | undefined;
  private lockVersions: Record<string, { version?: string }> | undefined;

  constructor(
    readonly root: string,
    useCache: boolean,
  ) {
    this.cache = new FactsCache(useCache ? join(root, CACHE_FILE) : undefined, esbuildVersion());
  }

  /** The installed version of a package: package-lock.json, else its own package.json, else "unknown". */
  packageVersion(name: string): string {
    if (this.lockHash === undefined) {
      try {
        this.lockBytes = readFileSync(join(this.root, 'package-lock.json'));
        this.lockHash = sha(this.lockBytes);
      } catch {
        this.lockHash = '';
      }
      if (this.cache.packages?.lock !== this.lockHash)
        this.cache.setPackages({ lock: this.lockHash, versions: {} });
    }
    const known = this.cache.packages!.versions[name];
    if (known !== undefined) return known;
    if (this.lockBytes && !this.lockVersions) {
      try {
        const lock = JSON.parse(this.lockBytes.toString('utf8')) as {
          packages?: Record<string, { version?: string }>;
        };
        this.lockVersions = lock.packages ?? {};
      } catch {
        this.lockVersions = {};
      }
    }
    const v = this.lockVersions?.[`node_modules/${name}`]?.version;
    if (v === undefined) {
      try {
        const pkg = join(this.root, 'node_modules', name, 'package.json');
        return (JSON.parse(readFileSync(pkg, 'utf8')) as { version?: string }).version ?? 'unknown';
      } catch {
        return 'unknown'; // not installed here (neither answer is cached with the lockfile's hash)
      }
    }
    this.cache.setPackages({
      lock: this.lockHash,
      versions: { ...this.cache.packages!.versions, [name]: v },
    });
    return v;
  }
}

// ---------- closures ----------

export interface CodeVersionsOptions {
  /** Modules never counted (default: this engine's directory). */
  frameworkDir?: string;
  /**
   * Modules that define assets or sources (default: those recorded by captureDefiningModule in this
   * process): another asset's closure stops at them.
   */
  definingModules?: ReadonlySet<string>;
  /** Cache file facts under `<root>/node_modules/.cache/cityflow/` (default true). */
  cache?: boolean;
}

/**
 * Computes module-level code versions, each file analysed once per instance. The process uses one
 * shared instance (`codeVersionOfModule`); tests make fresh ones to see edits.
 */
export class CodeVersions {
  private readonly frameworkDir: string;
  private readonly defining: ReadonlySet<string>;
  private readonly useCache: boolean;
  private readonly projects = new Map<string, Project>();
  private readonly facts = new Map<string, FileFacts | null>();
  private readonly resolved = new Map<string, string>();
  private readonly results = new Map<string, CodeVersion & { manifest: CodeManifest }>();

  constructor(opts: CodeVersionsOptions = {}) {
    this.frameworkDir = opts.frameworkDir ?? FRAMEWORK_DIR;
    this.defining = opts.definingModules ?? definingModules;
    this.useCache = opts.cache ?? true;
  }

  private inFramework(path: string): boolean {
    return path === this.frameworkDir || path.startsWith(this.frameworkDir + sep);
  }

  private project(root: string): Project {
    let p = this.projects.get(root);
    if (!p) this.projects.set(root, (p = new Project(root, this.useCache)));
    return p;
  }

  /** Hash and imports of one file; null when it does not exist. */
  private factsOf(path: string, project: Project): FileFacts | null {
    let f = this.facts.get(path);
    if (f !== undefined) return f;
    let bytes: Buffer | undefined;
    try {
      bytes = readFileSync(path);
    } catch {
      bytes = undefined;
    }
    const loader = LOADERS[extname(path)];
    if (!bytes) f = null;
    else if (!loader) f = { h: sha(bytes).slice(0, 16), i: [], p: [] };
    else {
      const text = bytes;
      f = project.cache.get(`${sha(bytes)}:${loader}`, () => analyzeModule(text.toString('utf8'), loader));
    }
    this.facts.set(path, f);
    return f;
  }

  /** The file a relative specifier names: as written, else `.js` → `.ts`/`.tsx`, else with an extension. */
  private resolveRelative(from: string, spec: string): string {
    const key = `${dirname(from)}\0${spec}`;
    let found = this.resolved.get(key);
    if (found === undefined) this.resolved.set(key, (found = this.resolveUncached(from, spec)));
    return found;
  }

  private resolveUncached(from: string, spec: string): string {
    const base = resolve(dirname(from), spec.replace(/[?#].*$/, ''));
    const candidates = [base];
    const m = /\.(m|c)?jsx?$/.exec(base);
    if (m) {
      const stem = base.slice(0, -m[0].length);
      const t = m[1] ?? '';
      candidates.push(`${stem}.${t}ts`, `${stem}.${t}tsx`);
    } else if (!extname(base)) {
      candidates.push(...['.ts', '.tsx', '.js', '/index.ts', '/index.js'].map((e) => base + e));
    }
    return candidates.find(isFile) ?? base;
  }

  /** The code version of the assets defined by `definingModule` (an absolute path to its source). */
  of(definingModule: string): CodeVersion & { manifest: CodeManifest } {
    const start = sourcePathOf(definingModule);
    const memo = this.results.get(start);
    if (memo) return memo;
    const root = projectRootOf(start) ?? dirname(start);
    const project = this.project(root);
    const files: Record<string, string> = {};
    const packages: Record<string, string> = {};
    const seen = new Set<string>([start]);
    const queue = [start];
    while (queue.length > 0) {
      const path = queue.pop()!;
      const facts = this.factsOf(path, project);
      files[projectPath(root, path)] = facts?.h ?? MISSING_FILE;
      if (!facts) continue;
      for (const name of facts.p) packages[name] = project.packageVersion(name);
      for (const spec of facts.i) {
        const target = this.resolveRelative(path, spec);
        if (seen.has(target)) continue;
        seen.add(target);
        if (this.inFramework(target) || this.defining.has(target)) continue;
        if (target.split(sep).includes('node_modules')) continue;
        queue.push(target);
      }
    }
    const manifest = { files: sortKeys(files), packages: sortKeys(packages) };
    project.cache.flush();
    const result = { version: manifestVersion(manifest), manifest };
    this.results.set(start, result);
    return result;
  }
}

/** Root-relative path with `/` separators. */
const projectPath = (root: string, path: string): string =>
  (path.startsWith(root + sep) ? path.slice(root.length + 1) : relative(root, path)).split(sep).join('/');

const sortKeys = (o: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

let shared: CodeVersions | undefined;

/** The process-wide code version of a defining module (computed once, on first use). */
export const codeVersionOfModule = (definingModule: string): CodeVersion & { manifest: CodeManifest } =>
  (shared ??= new CodeVersions()).of(definingModule);

/**
 * An asset's code version, computed on first read: `explicit` when given (no manifest), else from its
 * defining module, else (no module found, e.g. defined in an eval) a hash of the compute function's text.
 */
export function lazyCodeVersion(
  explicit: string | undefined,
  definingModule: string | undefined,
  compute: unknown,
): () => CodeVersion {
  if (explicit !== undefined) return () => ({ version: explicit });
  let memo: CodeVersion | undefined;
  return () => {
    if (!memo) {
      try {
        if (!definingModule) throw new Error('no defining module');
        memo = codeVersionOfModule(definingModule);
      } catch {
        memo = { version: `src:${sha(String(compute)).slice(0, 12)}` };
      }
    }
    return memo;
  };
}
