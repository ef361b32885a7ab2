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
 *
 * Parts (engine/code-version/): source paths, the defining module (call stack), module facts (esbuild),
 * their cache file, and a project's package versions; the closure walk is here.
 */
import { readFileSync } from 'node:fs';
import { dirname, extname, relative, resolve, sep } from 'node:path';
import { stableStringify } from './hash.ts';
import { definingModules } from './code-version/defining-module.ts';
import { analyzeModule, LOADERS, sha, type FileFacts } from './code-version/module-facts.ts';
import { Project, projectRootOf } from './code-version/project.ts';
import { FRAMEWORK_DIR, isFile, sourcePathOf } from './code-version/source-path.ts';

export { captureDefiningModule } from './code-version/defining-module.ts';
export { packageNameOf } from './code-version/module-facts.ts';
export { FRAMEWORK_DIR, sourcePathOf } from './code-version/source-path.ts';

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

/** Version string of a manifest: `mod:` + 16 hex characters of the canonical JSON's hash. */
export const manifestVersion = (manifest: CodeManifest): string =>
  `mod:${sha(stableStringify(manifest)).slice(0, 16)}`;

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
