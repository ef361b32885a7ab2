#!/usr/bin/env node
// Entry point of the `pipeline` command (in a checkout, and in the published package, which ships the
// TypeScript sources of engine/, io-managers/ and pipeline/ besides the type declarations in dist/).
// Runs the CLI compiled to JavaScript (compile.mjs: esbuild, cached by source hash, rebuilt
// automatically when a source changes), so it works right after `npm install` with no build step and
// starts fast; code versions and stack traces map back to the sources. Falls back to running the
// TypeScript through tsx's loader when compiling is not possible here (e.g. a read-only node_modules),
// or when CITYFLOW_TSX=1.
// Source maps are turned on when the project's config is imported (config-load.ts): errors and stack
// traces in the project's modules (assets) name their TypeScript files and lines. The CLI's own modules,
// loaded before, are not mapped: reading and indexing their ≈ 150 maps cost ≈ 40–80 ms at every start.
// `NODE_OPTIONS=--enable-source-maps` maps them too.
// On Node 22+, V8's compile cache is on too, inside the build (never in the project's output).
// With PIPELINE_WARM=1 (Linux), a command is first offered to a warm process (warm.mjs), and this
// process is the warm process when started as one (CITYFLOW_WARM_SERVE, set by warm.mjs only).
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

// `pipeline list | head -1`: the reader went away; stop quietly (no EPIPE stack trace).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(0);
  });
}

const binFile = fileURLToPath(import.meta.url);
const serving = process.env.CITYFLOW_WARM_SERVE;
delete process.env.CITYFLOW_WARM_SERVE;
const tsx = process.env.CITYFLOW_TSX === '1';
const warm =
  // warm.mjs's WARM_ON, without loading it when off.
  !tsx && (serving || /^(1|true|on)$/i.test(process.env.PIPELINE_WARM ?? ''))
    ? await import('./warm.mjs')
    : undefined;
// Taken before the config's `.env` is read into process.env: what a warm process is started with.
const identity = warm?.warmIdentity(binFile, { ...process.env });

/**
 * The compiled build, ready to import from (null when it cannot be compiled here, or CITYFLOW_TSX=1).
 * Also sets the heap's limits for every path (heap.mjs: V8's young generation kept small whatever the
 * Node version, the old one at most twice its live size).
 */
async function compiledBuild() {
  const [{ compiledRoot, compileCacheDir, markBuildInUse }, { keepPipelineHeap }, module, { join }] =
    await Promise.all([
      import('./compile.mjs'),
      import('./heap.mjs'),
      import('node:module'),
      import('node:path'),
    ]);
  keepPipelineHeap();
  const build = tsx ? null : await compiledRoot();
  if (!build) return null;
  // Node 22.1+: V8 keeps the compiled code of the modules between runs (Node 20 has no such cache).
  module.default.enableCompileCache?.(compileCacheDir(build));
  // This process imports from its build until it exits: not to be pruned meanwhile (compile.mjs).
  markBuildInUse(build);
  return { build, load: (file) => import(pathToFileURL(join(build, file)).href) };
}

if (serving) {
  const listening =
    identity && warm.warmSocket(identity) === serving ? await warm.listenWarm(serving) : undefined;
  const compiled = listening && (await compiledBuild());
  if (compiled) {
    const { serveWarm } = await compiled.load('pipeline/warm-serve.js');
    await serveWarm({ socket: serving, build: compiled.build, identity, ...listening });
  } else if (listening) {
    listening.serveWith((conn) => conn.destroy()); // a command waiting for it runs on its own
    listening.server.close();
  }
} else {
  const outcome = identity ? await warm.runWarm(identity, process.argv.slice(2)) : { spawn: false };
  if (outcome.code !== undefined) process.exitCode = outcome.code;
  else {
    const compiled = await compiledBuild();
    if (compiled) {
      if (outcome.spawn) warm.spawnWarm(identity, binFile);
      const { main } = await compiled.load('pipeline/cli.js');
      await main();
    } else {
      process.setSourceMapsEnabled(true);
      const { register } = await import('tsx/esm/api');
      register();
      const { main } = await import('./cli.ts');
      await main();
    }
  }
}
