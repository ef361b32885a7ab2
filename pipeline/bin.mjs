#!/usr/bin/env node
// Entry point of the `pipeline` command. Runs the CLI compiled to JavaScript (compile.mjs: esbuild, cached
// by source hash, rebuilt automatically when a source changes), so it works right after `npm install` with
// no build step and starts fast. Falls back to running the TypeScript through tsx's loader when compiling
// is not possible here (e.g. a read-only node_modules), or when CITYFLOW_TSX=1.
import process from 'node:process';
import { compiledCli } from './compile.mjs';

const entry = process.env.CITYFLOW_TSX === '1' ? null : await compiledCli();
if (entry) {
  process.setSourceMapsEnabled(true);
  await import(entry);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./cli.ts');
}
