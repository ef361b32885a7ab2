// Compiles CityFlow's TypeScript sources to JavaScript for the `pipeline` command, once per content
// hash, into node_modules/.cache/cityflow/<hash>/ (same folder layout, `.ts` imports rewritten to `.js`).
//
// Why: running the sources through tsx's loader costs ~0.3 s at every start (its loader hooks resolve
// each import on another thread); plain JavaScript loads in a fraction of that, which is what makes a
// no-op `pipeline materialize --all` fast. esbuild (tsx's own compiler) compiles the ~100 files in about
// 0.2 s, so a stale build is simply rebuilt on the next start; there is no build step to forget.
//
// Why per file and not one bundle: the build mirrors the sources (same folders, one .js per .ts, linked
// source maps), so stack traces and `import.meta.url` name files that map back to their sources. Code
// versions do not depend on the compiled text at all: engine/code-version.ts hashes the TypeScript
// sources (normalized by esbuild) of the module that defines each asset and of the project modules it
// reaches, mapping a compiled module (`<hash>/assets/x.js`) back to `assets/x.ts`; the compiled CLI and
// tsx (CITYFLOW_TSX=1) therefore give every asset the same version. Its per-file cache
// (code-files.json) lives next to the builds, and pruning leaves it alone.
//
// The exception: the dependencies every command loads (VENDORED) are bundled, each into one minified
// file of the build (`vendor/<name>.js`), and the build's imports of them point there. Node loads a
// package of many small modules much more slowly than the same code in one file (Node 20, 2 cores: zod
// 4.6 ≈ 120 → 60 ms, apache-arrow 21 ≈ 150–200 → 40–60 ms, commander, graphology, croner, dotenv and
// p-limit together ≈ 50 → 32 ms): every command loads zod, and a project with table assets apache-arrow
// (engine/arrow.ts loads it on demand). A project's config build (config-build.ts) links its own imports
// of these packages to the same files when it uses the same installed copy, so the process never loads a
// second copy of them.
import process from 'node:process';
import { setInterval } from 'node:timers';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE_DIRS = ['engine', 'io-managers', 'assets', 'pipeline'];
/** The project's own config at the root (this repository's: the Paris pipeline), compiled with the CLI. */
const ROOT_FILES = ['cityflow.config.ts'];
/** Bump when the compile options change, so older caches are not reused. */
const FORMAT = 5;
/** Packages bundled into one file each (see above): libraries that read no files of their own beside them. */
const VENDORED = [
  'zod',
  'apache-arrow',
  'commander',
  'graphology',
  'graphology-dag',
  'croner',
  'dotenv',
  'p-limit',
];
/** Where a vendored package's bundle is, relative to a build's root. */
const vendorFile = (name) => `vendor/${name}.js`;

const isTest = (name) => /\.test(-d)?\.tsx?$/.test(name);
const isCompiled = (name) => /\.tsx?$/.test(name) && !name.endsWith('.d.ts') && !isTest(name);
/** Files read at run time next to the modules (e.g. the arrondissements GeoJSON, the UI's stylesheet). */
const isRuntimeData = (name) => /\.((geo)?json|css)$/.test(name);

/** Every source file the CLI may load, relative to the project root, sorted. */
function sourceFiles() {
  const files = [];
  const walk = (dir) => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const rel = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'fixtures' && e.name !== 'node_modules') walk(rel);
      } else if (isCompiled(e.name) || isRuntimeData(e.name)) files.push(rel);
    }
  };
  // The published package ships no assets/ (they are this repository's project).
  for (const dir of SOURCE_DIRS) if (existsSync(join(ROOT, dir))) walk(dir);
  for (const name of ROOT_FILES) if (existsSync(join(ROOT, name))) files.push(name);
  return files.sort();
}

/** The folder of the package `name` as Node finds it from `fromDir` (its node_modules, then upwards). */
function packageDirFrom(name, fromDir) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Each vendored package's entry (the file Node resolves), its folder (the one holding its package.json,
 * found upwards from the entry), and the name, version and manifest of it and of every package it depends on, directly
 * or not: the bundle holds their code, so an upgrade of any of them rebuilds.
 */
function vendoredPackages() {
  return VENDORED.map((name) => {
    const manifestIn = (dir) => {
      const manifest = join(dir, 'package.json');
      return existsSync(manifest) ? { manifest, pkg: JSON.parse(readFileSync(manifest, 'utf8')) } : null;
    };
    const entry = fileURLToPath(import.meta.resolve(name));
    let dir = dirname(entry);
    while (manifestIn(dir)?.pkg.name !== name) {
      if (dirname(dir) === dir) throw new Error(`no package.json of ${name} above its entry`);
      dir = dirname(dir);
    }
    const packages = [];
    const visit = (pkgDir) => {
      const { manifest, pkg } = manifestIn(pkgDir);
      if (packages.some((p) => p.manifest === manifest)) return;
      packages.push({ name: pkg.name, version: pkg.version, manifest });
      for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
        const depDir = packageDirFrom(dep, pkgDir);
        if (depDir) visit(depDir);
      }
    };
    visit(dir);
    return { name, entry, dir, packages };
  });
}

function buildHash(files, compilerVersion, vendored) {
  const vendors = vendored.map((v) => [v.name, v.packages.map((p) => [p.name, p.version])]);
  // The checkout is part of the build (build.json names it): two checkouts sharing one node_modules
  // (a symbolic link) must not share a build, or a project's imports would be linked to the other one.
  const h = createHash('sha256').update(JSON.stringify([FORMAT, compilerVersion, vendors, ROOT]));
  for (const f of files) {
    const content = readFileSync(join(ROOT, f));
    h.update(JSON.stringify([f.split(sep).join('/'), content.length])).update(content);
  }
  return h.digest('hex').slice(0, 16);
}

/**
 * esbuild plugin: compile each file on its own; every import stays an import (relative ones as .js,
 * vendored packages as the relative path to their bundle).
 */
const keepImports = {
  name: 'keep-imports',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const relativeImport = args.path.startsWith('./') || args.path.startsWith('../');
      // Plain JavaScript of the sources (this file) is not compiled: the build imports the source
      // itself, which bin.mjs has loaded already (one instance of it in the process).
      if (relativeImport && args.path.endsWith('.mjs'))
        return { path: pathToFileURL(resolve(dirname(args.importer), args.path)).href, external: true };
      if (relativeImport) return { path: args.path.replace(/\.tsx?$/, '.js'), external: true };
      if (!VENDORED.includes(args.path)) return { path: args.path, external: true };
      const from = dirname(relative(ROOT, args.importer));
      const to = relative(from, vendorFile(args.path)).split(sep).join('/');
      return { path: to.startsWith('.') ? to : `./${to}`, external: true };
    });
  },
};

const isIdentifier = (name) => /^[A-Za-z_$][\w$]*$/.test(name);
/** An export name as written after `as`: an identifier, or a string when it is not one. */
const exportName = (name) => (isIdentifier(name) ? name : JSON.stringify(name));

/** How every vendored file is bundled: minified for Node 20+, names kept, no source map. */
const VENDOR_BUNDLE = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'silent',
};

/**
 * One ES module per vendored package, exporting what a Node importer of the package sees. An ES module
 * entry (the one Node resolves) is bundled as it is, exports and all. A CommonJS entry (graphology-dag,
 * dotenv) would only have a default export so: it is bundled again behind a module re-exporting the names
 * Node finds in it, listed by importing it here, once per build. Whitespace and syntax are minified
 * (names are kept, for stack traces): less to read and parse at every start, and plain ASCII, which V8
 * decodes faster. No source map: Node would read and parse it (≈ 1 MB of JSON each) at every start.
 */
async function bundleVendored(build, vendored, outDir) {
  const manifest = {};
  for (const { name, entry, dir } of vendored) {
    const plugins = name === 'zod' ? await lazyZodLocales(build, dir, outDir) : [];
    const options = {
      ...VENDOR_BUNDLE,
      format: 'esm',
      // CommonJS code in an ES module: its `require` of Node's own modules needs one in scope.
      banner: {
        js: "import { createRequire as __cityflowRequire } from 'node:module'; const require = __cityflowRequire(import.meta.url);",
      },
      outfile: join(outDir, vendorFile(name)),
      absWorkingDir: ROOT, // the metafile's paths are relative to it
    };
    const { metafile } = await build({ ...options, entryPoints: [entry], metafile: true, plugins });
    const format = Object.entries(metafile.inputs).find(([input]) => join(ROOT, input) === entry)?.[1].format;
    if (format !== 'esm') {
      // `module.exports`: how Node 22+ also names a CommonJS module's whole export, not a name of its own.
      const names = Object.keys(await import(name)).filter((n) => n !== 'module.exports');
      const contents = [
        `import * as ns from ${JSON.stringify(name)};`,
        ...names.map((n, i) => `const v${i} = ns[${JSON.stringify(n)}];`),
        `export { ${names.map((n, i) => `v${i} as ${exportName(n)}`).join(', ')} };`,
      ].join('\n');
      await build({ ...options, stdin: { contents, resolveDir: ROOT, loader: 'js' } });
    }
    manifest[name] = { dir, file: vendorFile(name) };
  }
  writeFileSync(join(outDir, 'vendor/vendored.json'), JSON.stringify(manifest, null, 2) + '\n');
}

/*
 * zod's error messages in ≈ 60 languages (`z.locales`, `z.config(z.locales.fr())`) are half of its bundle
 * (294 of 586 KB), and only English is used unless a project asks for another. They go into a CommonJS
 * file of their own (`vendor/zod-locales.cjs`, with its own copy of the three pure helpers they call),
 * required the first time one of them is called; `z.locales` keeps its names, English stays in the main
 * bundle (zod sets it up when it loads). Importing zod: 55 → 39 ms on Node 24, 78 → 50 ms on Node 20
 * (docs/performance.md, "Seventh pass"). Left as it is when zod's files are not where this expects them.
 */
const LAZY_LOCALES = 'vendor/zod-locales.cjs';

async function lazyZodLocales(build, zodDir, outDir) {
  const index = join(zodDir, 'v4/locales/index.js');
  const english = join(zodDir, 'v4/locales/en.js');
  if (!existsSync(index) || !existsSync(english)) return [];
  const names = Object.keys(await import(pathToFileURL(index).href)).filter((n) => n !== 'en');
  if (!names.every(isIdentifier)) return [];
  await build({ ...VENDOR_BUNDLE, entryPoints: [index], format: 'cjs', outfile: join(outDir, LAZY_LOCALES) });
  const contents = [
    "import { createRequire } from 'node:module';",
    `export { default as en } from ${JSON.stringify(english)};`,
    // A variable, not a literal: esbuild must leave this `require` to run time.
    `const file = ${JSON.stringify('./' + basename(LAZY_LOCALES))};`,
    'let all;',
    'const locales = () => (all ??= createRequire(import.meta.url)(file));',
    ...names.map((n) => `export const ${n} = (...args) => locales().${n}(...args);`),
  ].join('\n');
  return [
    {
      name: 'cityflow-lazy-zod-locales',
      setup(b) {
        b.onResolve({ filter: /[\\/]locales[\\/]index\.js$/ }, (args) =>
          resolve(args.resolveDir, args.path) === index
            ? { path: index, namespace: 'lazy-locales' }
            : undefined,
        );
        b.onLoad({ filter: /.*/, namespace: 'lazy-locales' }, () => ({
          contents,
          loader: 'js',
          resolveDir: dirname(index),
        }));
      },
    },
  ];
}

async function compile(files, outDir, vendored) {
  const { build } = await import('esbuild');
  await bundleVendored(build, vendored, outDir);
  const entryPoints = files.filter((f) => isCompiled(f)).map((f) => join(ROOT, f));
  await build({
    entryPoints,
    outdir: outDir,
    outbase: ROOT,
    bundle: true,
    plugins: [keepImports],
    platform: 'node',
    format: 'esm',
    target: 'node20',
    jsx: 'automatic',
    sourcemap: 'linked',
    // A checkout's tsconfig.json; the published package has none: the options its sources rely on.
    ...(existsSync(join(ROOT, 'tsconfig.json'))
      ? { tsconfig: join(ROOT, 'tsconfig.json') }
      : { tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true, jsx: 'react-jsx' } } }),
    logLevel: 'silent',
  });
  // The build is ES modules: said once, so that Node does not parse each `.js` to find out.
  writeFileSync(join(outDir, 'package.json'), '{ "type": "module" }\n');
  // Which checkout it was built from (config-link.ts): the cache's own path may be another one's.
  writeFileSync(join(outDir, 'build.json'), JSON.stringify({ sourceRoot: ROOT }) + '\n');
  for (const f of files.filter((name) => isRuntimeData(name))) {
    mkdirSync(dirname(join(outDir, f)), { recursive: true });
    copyFileSync(join(ROOT, f), join(outDir, f));
  }
}

/*
 * Builds in use are kept; others go once a newer one is made. A process imports modules from its build
 * until it exits (assets load their parsers when they compute, a daemon runs for weeks), so it marks the
 * build in use: it sets the build folder's mtime at its start and again every IN_USE_REFRESH_MS while
 * it runs (markBuildInUse). A build is removed when its mtime is older than UNUSED_AFTER_MS (no running
 * process has marked it since) and it is not one of the KEEP_NEWEST most recently used: switching
 * between two branches does not rebuild each time, and the cache stays a few builds (≈ 5 MB each)
 * instead of one per edit of the sources. The same rule prunes a project's config builds (config-build.ts).
 */
const IN_USE_REFRESH_MS = 10 * 60 * 1000;
const UNUSED_AFTER_MS = 60 * 60 * 1000;
const KEEP_NEWEST = 3;
/** Written in every config build of a project (config-build.ts), and only there. */
export const CONFIG_BUILD_MARKER = '.cityflow-config-build';

const touch = (dir) => {
  try {
    const now = new Date();
    utimesSync(dir, now, now);
  } catch {
    // A read-only cache, or the folder is gone: nothing to mark.
  }
};

const markedInUse = new Set();

/** Marks `dir` (a build) in use by this process: now, and while the process runs. */
export function markBuildInUse(dir, refreshMs = IN_USE_REFRESH_MS) {
  touch(dir);
  if (markedInUse.has(dir)) return; // a config loaded again (daemon, UI): one timer a build
  markedInUse.add(dir);
  setInterval(() => touch(dir), refreshMs).unref();
}

/**
 * Removes from `cacheRoot` the builds of one kind (a project's config builds, which hold
 * CONFIG_BUILD_MARKER, or else the CLI's) that are neither `keep`, nor used within
 * UNUSED_AFTER_MS, nor among the KEEP_NEWEST most recently used; and temp folders of builds interrupted
 * more than UNUSED_AFTER_MS ago (a build takes seconds).
 */
export function pruneBuilds(cacheRoot, keep, configBuilds, now = Date.now()) {
  // Pruning never fails a start: a folder another process is removing, or one this user may not remove,
  // is left for the next time.
  const remove = (dir) => {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // left as it is
    }
  };
  const builds = [];
  for (const name of readdirSync(cacheRoot)) {
    if (name === keep) continue;
    const dir = join(cacheRoot, name);
    // Where older versions kept V8's compile cache of every build: now inside each build.
    if (name === 'v8') remove(dir);
    const tmp = name.startsWith('tmp-');
    const build = /^[0-9a-f]{16}$/.test(name) && existsSync(join(dir, CONFIG_BUILD_MARKER)) === configBuilds;
    if (!tmp && !build) continue;
    const mtime = statSync(dir, { throwIfNoEntry: false })?.mtimeMs;
    if (mtime === undefined) continue; // another process removed it first
    if (tmp) {
      if (now - mtime > UNUSED_AFTER_MS) remove(dir);
    } else builds.push({ dir, mtime });
  }
  builds.sort((a, b) => b.mtime - a.mtime);
  for (const { dir, mtime } of builds.slice(KEEP_NEWEST)) if (now - mtime > UNUSED_AFTER_MS) remove(dir);
}

/**
 * The folder of the compiled sources (same layout as the repo: `<root>/pipeline/cli.js`, ...), compiling
 * first when the sources changed since the last build. Null when compiling is not possible here.
 */
export async function compiledRoot() {
  try {
    const files = sourceFiles();
    const cacheRoot = join(ROOT, 'node_modules/.cache/cityflow');
    let hash = stampedHash(cacheRoot, files);
    let vendored;
    if (!hash) {
      const esbuildPackage = createRequire(import.meta.url).resolve('esbuild/package.json');
      const esbuildVersion = JSON.parse(readFileSync(esbuildPackage, 'utf8')).version;
      vendored = vendoredPackages();
      hash = buildHash(files, esbuildVersion, vendored);
      const packageFiles = [esbuildPackage, ...vendored.flatMap((v) => v.packages.map((p) => p.manifest))];
      writeStamp(cacheRoot, files, packageFiles, hash);
    }
    const outDir = join(cacheRoot, hash);
    const entry = join(outDir, 'pipeline/cli.js');
    if (!existsSync(entry)) {
      vendored ??= vendoredPackages();
      mkdirSync(cacheRoot, { recursive: true });
      // Built aside and renamed into place: concurrent starts never see a half-written build.
      const tmp = join(cacheRoot, `tmp-${process.pid}-${Date.now()}`);
      try {
        await compile(files, tmp, vendored);
        renameSync(tmp, outDir);
      } catch (err) {
        rmSync(tmp, { recursive: true, force: true });
        if (!existsSync(entry)) throw err; // else another process finished the same build first
      }
      pruneBuilds(cacheRoot, hash, false);
    }
    return outDir;
  } catch {
    return null;
  }
}

/*
 * The build hash reads and hashes every source (≈ 230 files, 1.5 MB: ≈ 20–30 ms); the stamp remembers it
 * with what `stat` says of each file it was computed from (the sources, esbuild's and the vendored
 * packages' package.json): while none of them moved, the hash is reused (≈ 3 ms). Like git's index, a
 * change is seen through size, mtime, ctime and inode — ctime cannot be set back by copying tools — and
 * files changed within a second of the stamp are not trusted (a later write in the same clock tick).
 */
const STAMP = 'sources-stamp.json';
const RACY_MS = 1000;

const statOf = (file) => {
  const s = statSync(file);
  return [s.size, s.mtimeMs, s.ctimeMs, s.ino];
};

function stampedHash(cacheRoot, files) {
  try {
    const stamp = JSON.parse(readFileSync(join(cacheRoot, STAMP), 'utf8'));
    if (stamp.format !== FORMAT || stamp.sources.length !== files.length) return null;
    if (stamp.sources.some(([rel], i) => rel !== files[i])) return null;
    const unchanged = ([file, ...recorded]) => {
      const now = statOf(file);
      return now.every((v, i) => v === recorded[i]) && now[2] < stamp.writtenAt - RACY_MS;
    };
    const sources = stamp.sources.map(([rel, ...st]) => [join(ROOT, rel), ...st]);
    return sources.every(unchanged) && stamp.packages.every(unchanged) ? stamp.hash : null;
  } catch {
    return null; // no stamp, or a file it names is gone
  }
}

function writeStamp(cacheRoot, files, packageFiles, hash) {
  try {
    const stamp = {
      format: FORMAT,
      hash,
      writtenAt: Date.now(),
      sources: files.map((f) => [f, ...statOf(join(ROOT, f))]),
      packages: packageFiles.map((f) => [f, ...statOf(f)]),
    };
    mkdirSync(cacheRoot, { recursive: true });
    const tmp = join(cacheRoot, `${STAMP}.${process.pid}.tmp`);
    writeFileSync(tmp, JSON.stringify(stamp));
    renameSync(tmp, join(cacheRoot, STAMP));
  } catch {
    // A read-only cache: the hash is computed at every start.
  }
}

/**
 * Where Node 22+ keeps V8's compile cache of the modules a process loads (`module.enableCompileCache`):
 * inside the build, so it goes with it when the build is pruned.
 */
export const compileCacheDir = (build) => join(build, '.v8');
