/**
 * Where the running CLI's own modules are, and how a project's imports of CityFlow are linked to them
 * (config-build.ts): by name (`cityflow`, `cityflow/config`, through the package's exports map) or by a
 * relative path into a CityFlow checkout. One engine for the CLI and the project: one `TransientError`,
 * one set of defining modules.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { checkoutOfBuild } from '../engine/code-version/source-path.ts';

/** Where the running CLI's modules are, to link a project's CityFlow imports to them. */
export interface FrameworkLink {
  /** Root of the running copy (a compiled build, `dist/`, or the sources themselves). */
  runningRoot: string;
  /** Root of CityFlow's sources (holding its package.json), the same as runningRoot when run from sources. */
  sourceRoot: string;
  /** Folders of sourceRoot that the running copy holds (`engine`, `io-managers`, `pipeline`, …). */
  dirs: readonly string[];
  /** `.js` when the running copy is compiled, `.ts` when it runs from the sources. */
  runningExt: '.js' | '.ts';
}

export const isFile = (p: string): boolean => statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;

/** The compiled name of a module: same path, `.js`. */
export const compiledName = (rel: string): string => rel.replace(/\.[cm]?[jt]sx?$/, '') + '.js';

/** Where the running CLI is: a compiled build, `dist/` of the published package, or the sources. */
export function frameworkLink(moduleUrl: string = import.meta.url): FrameworkLink {
  const runningRoot = dirname(dirname(fileURLToPath(moduleUrl)));
  const sourceRoot =
    checkoutOfBuild(runningRoot) ?? (basename(runningRoot) === 'dist' ? dirname(runningRoot) : runningRoot);
  const dirs = ['engine', 'io-managers', 'assets', 'pipeline'];
  return { runningRoot, sourceRoot, dirs, runningExt: moduleUrl.endsWith('.ts') ? '.ts' : '.js' };
}

/** CityFlow's exports map: subpath (`.`, `./view`) → target (`./dist/engine/index.js`). */
function exportsOf(sourceRoot: string): Map<string, string> {
  const out = new Map<string, string>();
  try {
    const pkg = JSON.parse(readFileSync(join(sourceRoot, 'package.json'), 'utf8')) as {
      exports?: Record<string, string | Record<string, string>>;
    };
    for (const [sub, target] of Object.entries(pkg.exports ?? {})) {
      const t = typeof target === 'string' ? target : (target.import ?? target.default);
      if (t) out.set(sub, t);
    }
  } catch {
    // no package.json: nothing to link by name
  }
  return out;
}

/** Packages a compiled build bundled (compile.mjs): name → installed folder (real path) and bundle. */
function vendoredOf(runningRoot: string): Map<string, { dir: string; file: string }> {
  const out = new Map<string, { dir: string; file: string }>();
  try {
    const manifest = JSON.parse(readFileSync(join(runningRoot, 'vendor/vendored.json'), 'utf8')) as Record<
      string,
      { dir: string; file: string }
    >;
    for (const [name, v] of Object.entries(manifest))
      out.set(name, { dir: realpathSync(v.dir), file: join(runningRoot, v.file) });
  } catch {
    // not a compiled build, or one without bundled packages
  }
  return out;
}

/** The real path of the folder a bare import of `name` from `importer` resolves to (Node's lookup). */
function installedDir(name: string, importer: string): string | undefined {
  for (let dir = dirname(importer); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (isFile(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dirname(dir) === dir) return undefined;
  }
}

export class Linker {
  private readonly exportsMap: Map<string, string>;
  private readonly vendored: Map<string, { dir: string; file: string }>;
  constructor(private readonly link: FrameworkLink) {
    this.exportsMap = exportsOf(link.sourceRoot);
    this.vendored = vendoredOf(link.runningRoot);
  }

  /**
   * A package the running CLI bundled (`zod`…) → its bundle, when `importer` would load the same
   * installed copy: the project and the CLI then share one copy (one class per Arrow type, one zod).
   */
  bundled(spec: string, importer: string): string | undefined {
    const v = this.vendored.get(spec);
    return v && installedDir(spec, importer) === v.dir ? pathToFileURL(v.file).href : undefined;
  }

  /** The running copy of a CityFlow source file, if it is one. */
  runningCopy(absSource: string): string | undefined {
    const { sourceRoot, runningRoot, dirs, runningExt } = this.link;
    if (!absSource.startsWith(sourceRoot + sep)) return undefined;
    const rel = absSource.slice(sourceRoot.length + 1);
    if (!dirs.includes(rel.split(sep)[0]!)) return undefined;
    const copy = join(runningRoot, runningExt === '.ts' ? rel : compiledName(rel));
    return isFile(copy) ? pathToFileURL(copy).href : undefined;
  }

  /** `cityflow` / `cityflow/view` → the running copy of what the exports map names. */
  byName(spec: string): string | undefined {
    if (spec !== 'cityflow' && !spec.startsWith('cityflow/')) return undefined;
    const sub = spec === 'cityflow' ? '.' : `./${spec.slice('cityflow/'.length)}`;
    let target = this.exportsMap.get(sub);
    if (!target) {
      for (const [pattern, t] of this.exportsMap) {
        const star = pattern.indexOf('*');
        if (star < 0) continue;
        const [pre, post] = [pattern.slice(0, star), pattern.slice(star + 1)];
        if (sub.startsWith(pre) && sub.endsWith(post) && sub.length >= pre.length + post.length) {
          target = t.replace('*', sub.slice(pre.length, sub.length - post.length));
          break;
        }
      }
    }
    if (!target) return undefined;
    const rel = target.replace(/^\.\//, '').replace(/^dist\//, '');
    const { runningRoot, runningExt } = this.link;
    const copy = join(runningRoot, runningExt === '.ts' ? rel.replace(/\.js$/, '.ts') : rel);
    if (isFile(copy)) return pathToFileURL(copy).href;
    const tsx = copy.replace(/\.ts$/, '.tsx');
    return runningExt === '.ts' && isFile(tsx) ? pathToFileURL(tsx).href : undefined;
  }
}
