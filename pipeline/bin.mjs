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
import module from 'node:module';
import { join } from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import { compiledRoot, compileCacheDir, markBuildInUse } from './compile.mjs';
import { keepPipelineHeap } from './heap.mjs';

// `pipeline list | head -1`: the reader went away; stop quietly (no EPIPE stack trace).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(0);
  });
}
// Memory: V8's young generation kept small whatever the Node version, the old one at most twice its
// live size (heap.mjs).
keepPipelineHeap();
const build = process.env.CITYFLOW_TSX === '1' ? null : await compiledRoot();
if (build) {
  // Node 22.1+: V8 keeps the compiled code of the modules between runs (Node 20 has no such cache).
  module.enableCompileCache?.(compileCacheDir(build));
  // This process imports from its build until it exits: not to be pruned meanwhile (compile.mjs).
  markBuildInUse(build);
  await import(pathToFileURL(join(build, 'pipeline/cli.js')).href);
} else {
  process.setSourceMapsEnabled(true);
  const { register } = await import('tsx/esm/api');
  register();
  await import('./cli.ts');
}
