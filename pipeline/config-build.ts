/**
 * Compiles a project's config module and the project modules it imports to JavaScript with esbuild, the
 * way pipeline/compile.mjs compiles the CLI: one `.js` per source (linked source maps), same folders, into
 * `<project>/node_modules/.cache/cityflow/<hash>/` — the layout engine/code-version.ts maps back to the
 * TypeScript sources, so code versions are those of the sources, whatever runs them.
 *
 * Imports of CityFlow itself (`cityflow`, `cityflow/…`, or a relative path into a CityFlow checkout) are
 * linked to the very modules the running CLI loaded (config-link.ts), and so are imports of the packages
 * the CLI bundled (`zod`, `apache-arrow`: compile.mjs) when the project has the same installed copy.
 * Other packages stay bare imports, resolved from the project's node_modules; JSON imports are inlined;
 * files read beside a module (`new URL('./x', import.meta.url)`) are copied, and modules named so
 * (worker threads) compiled.
 *
 * A build is reused while every file it was made from is unchanged (a small manifest per config lists
 * them with their hashes: checking costs one read and one hash per module, no esbuild).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Message, Plugin } from 'esbuild';
import { CONFIG_BUILD_MARKER as MARKER, markBuildInUse, pruneBuilds } from './compile.mjs';
import { compiledName, isFile, Linker, type FrameworkLink } from './config-link.ts';

/** Bump when the output changes, so older builds are not reused. */
const FORMAT = 2;
const CODE_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'];
/** `new URL('./x', import.meta.url)`: a file named relative to the module. */
const URL_BESIDE = /new URL\(\s*(['"`])(\.{1,2}\/[^'"`$]+)\1\s*,\s*import\.meta\.url\s*\)/g;

/** An esbuild error with its location (syntax errors, unresolvable relative imports). */
export class ConfigBuildError extends Error {
  constructor(readonly messages: Message[]) {
    super(messages.map((m) => m.text).join('; '));
    this.name = 'ConfigBuildError';
  }
}

export interface ConfigBuild {
  /** URL of the compiled config module. */
  entry: string;
  /** Absolute source file → its compiled file (every project module of the build). */
  files: Map<string, string>;
}

interface Manifest {
  format: number;
  esbuild: string;
  runningRoot: string;
  build: string;
  /** Source path relative to the project root → sha256. */
  files: Record<string, string>;
}

const sha = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Nearest folder holding a package.json (the project), else the file's own folder. */
export function projectRootOf(file: string): string {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (isFile(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return dirname(file);
  }
}

/** `./x.js` → `x.ts` when that is what exists (TypeScript's convention), else as written, else + extension. */
function resolveRelative(fromFile: string, spec: string): string {
  const base = resolve(dirname(fromFile), spec.replace(/[?#].*$/, ''));
  const candidates = [base];
  const m = /\.(m|c)?jsx?$/.exec(base);
  if (m) {
    const stem = base.slice(0, -m[0].length);
    const t = m[1] ?? '';
    candidates.unshift(`${stem}.${t}ts`, `${stem}.${t}tsx`);
  } else if (!extname(base)) {
    candidates.push(...['.ts', '.tsx', '.js', '/index.ts', '/index.js'].map((e) => base + e));
  }
  return candidates.find(isFile) ?? base;
}

/**
 * A source map naming its sources by absolute file URLs: stack traces then name the project's files
 * even when the build is reached through a link (Node reports a module by its real path).
 */
function absoluteSources(mapText: string, mapDir: string): Uint8Array {
  const map = JSON.parse(mapText) as { sources: string[] };
  map.sources = map.sources.map((src) => pathToFileURL(resolve(mapDir, src)).href);
  return new TextEncoder().encode(JSON.stringify(map));
}

/**
 * The compiled config (building it when a file changed). Throws ConfigBuildError for errors in the
 * project's code; any other error means compiling is not possible here (the caller then uses tsx).
 */
export async function buildConfig(configFile: string, link: FrameworkLink): Promise<ConfigBuild> {
  const root = projectRootOf(configFile);
  const cacheRoot = join(root, 'node_modules/.cache/cityflow');
  const manifestPath = join(cacheRoot, `config-${sha(configFile).slice(0, 12)}.json`);
  const esbuildVersion = (
    JSON.parse(readFileSync(createRequire(import.meta.url).resolve('esbuild/package.json'), 'utf8')) as {
      version: string;
    }
  ).version;

  const reuse = readManifest(manifestPath, root, esbuildVersion, link);
  if (reuse) return reuse;

  const { build } = await import('esbuild');
  const linker = new Linker(link);
  const sources = new Map<string, Uint8Array>();
  const queue = [configFile];
  const outputs = new Map<string, Uint8Array>();
  const dataFiles: string[] = [];
  const copied: string[] = [];
  while (queue.length) {
    const file = queue.pop()!;
    if (sources.has(file)) continue;
    const bytes = readFileSync(file);
    sources.set(file, bytes);
    // Files read at run time beside the module (`new URL('./stations.csv', import.meta.url)`) are copied;
    // modules named that way (a worker thread's `new URL('./worker.js', import.meta.url)`) are compiled.
    for (const m of Buffer.from(bytes).toString('utf8').matchAll(URL_BESIDE)) {
      const target = resolveRelative(file, m[2]!);
      if (!isFile(target)) continue;
      if (!CODE_EXTENSIONS.includes(extname(target))) copied.push(target);
      else if (!linker.runningCopy(target)) queue.push(target);
    }
    const found: string[] = [];
    const plugin: Plugin = {
      name: 'cityflow-config-imports',
      setup(b) {
        b.onResolve({ filter: /.*/ }, (args) => {
          if (args.kind === 'entry-point') return undefined;
          const spec = args.path;
          if (!spec.startsWith('./') && !spec.startsWith('../')) {
            return {
              path: linker.byName(spec) ?? linker.bundled(spec, args.importer) ?? spec,
              external: true,
            };
          }
          const target = resolveRelative(args.importer, spec);
          const framework = linker.runningCopy(target);
          if (framework) return { path: framework, external: true };
          if (!CODE_EXTENSIONS.includes(extname(target))) {
            // A data file imported as a module (e.g. JSON): inlined by esbuild's loader, and watched.
            if (isFile(target)) dataFiles.push(target);
            return undefined;
          }
          if (!isFile(target))
            return { errors: [{ text: `Cannot find module '${spec}' (looked for ${target})` }] };
          found.push(target);
          const rel = relative(dirname(args.importer), target).split(sep).join('/');
          return { path: compiledName(rel.startsWith('.') ? rel : `./${rel}`), external: true };
        });
      },
    };
    const rel = relative(root, file);
    const outfile = join(cacheRoot, 'out', compiledName(rel));
    try {
      const result = await build({
        entryPoints: [file],
        outfile,
        bundle: true,
        write: false,
        plugins: [plugin],
        platform: 'node',
        format: 'esm',
        target: 'node20',
        jsx: 'automatic',
        sourcemap: 'linked',
        logLevel: 'silent',
        absWorkingDir: root,
      });
      for (const o of result.outputFiles) {
        const rel = relative(join(cacheRoot, 'out'), o.path);
        outputs.set(rel, o.path.endsWith('.map') ? absoluteSources(o.text, dirname(o.path)) : o.contents);
      }
    } catch (err) {
      const errors = (err as { errors?: Message[] }).errors;
      if (errors?.length) throw new ConfigBuildError(errors);
      throw err;
    }
    queue.push(...found);
  }
  for (const file of dataFiles) if (!sources.has(file)) sources.set(file, readFileSync(file));
  for (const file of copied) {
    if (!sources.has(file)) sources.set(file, readFileSync(file));
    outputs.set(relative(root, file), sources.get(file)!);
  }

  const hashes: Record<string, string> = {};
  const h = createHash('sha256').update(JSON.stringify([FORMAT, esbuildVersion, link.runningRoot]));
  for (const [file, bytes] of [...sources].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const rel = relative(root, file).split(sep).join('/');
    hashes[rel] = sha(bytes);
    h.update(JSON.stringify([rel, hashes[rel]]));
  }
  const name = h.digest('hex').slice(0, 16);
  const outDir = join(cacheRoot, name);
  if (!existsSync(join(outDir, MARKER))) {
    mkdirSync(cacheRoot, { recursive: true });
    const tmp = join(cacheRoot, `tmp-${process.pid}-${Date.now()}`);
    try {
      for (const [rel, contents] of outputs) {
        mkdirSync(dirname(join(tmp, rel)), { recursive: true });
        writeFileSync(join(tmp, rel), contents);
      }
      // ESM whatever the project's package.json says (the sources are ES modules).
      writeFileSync(join(tmp, 'package.json'), '{ "type": "module" }\n');
      writeFileSync(join(tmp, MARKER), configFile + '\n');
      renameSync(tmp, outDir);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      if (!existsSync(join(outDir, MARKER))) throw err; // else another process finished it first
    }
    pruneBuilds(cacheRoot, name, true);
  }
  const manifest: Manifest = {
    format: FORMAT,
    esbuild: esbuildVersion,
    runningRoot: link.runningRoot,
    build: name,
    files: hashes,
  };
  const tmpManifest = `${manifestPath}.tmp-${process.pid}`;
  writeFileSync(tmpManifest, JSON.stringify(manifest));
  renameSync(tmpManifest, manifestPath);
  return buildOf(root, outDir, configFile, Object.keys(hashes));
}

/** The build this process loads its config from (marked in use: compile.mjs prunes the others). */
function buildOf(root: string, outDir: string, configFile: string, rels: string[]): ConfigBuild {
  markBuildInUse(outDir);
  const files = new Map<string, string>();
  for (const rel of rels) {
    if (CODE_EXTENSIONS.includes(extname(rel))) files.set(join(root, rel), join(outDir, compiledName(rel)));
  }
  return { entry: pathToFileURL(files.get(configFile)!).href, files };
}

/** The previous build when it was made from exactly the current files. */
function readManifest(
  path: string,
  root: string,
  esbuildVersion: string,
  link: FrameworkLink,
): ConfigBuild | undefined {
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
    if (m.format !== FORMAT || m.esbuild !== esbuildVersion || m.runningRoot !== link.runningRoot) return;
    const outDir = join(dirname(path), m.build);
    if (!existsSync(join(outDir, MARKER))) return;
    for (const [rel, hash] of Object.entries(m.files)) {
      if (sha(readFileSync(join(root, rel))) !== hash) return;
    }
    const configFile = readFileSync(join(outDir, MARKER), 'utf8').trim();
    return buildOf(root, outDir, configFile, Object.keys(m.files));
  } catch {
    return undefined;
  }
}
