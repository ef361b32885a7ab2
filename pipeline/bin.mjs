#!/usr/bin/env node
// Entry point of the `pipeline` command.
// - Installed as a dependency (the published package holds `dist/`, no TypeScript sources): runs the
//   JavaScript built by `npm run build` (tsc, at `npm pack`).
// - In a checkout: runs the CLI compiled to JavaScript (compile.mjs: esbuild, cached by source hash,
//   rebuilt automatically when a source changes), so it works right after `npm install` with no build
//   step and starts fast. Falls back to running the TypeScript through tsx's loader when compiling is
//   not possible here (e.g. a read-only node_modules), or when CITYFLOW_TSX=1.
// Source maps are on: errors in a project's config name its TypeScript files and lines.
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

process.setSourceMapsEnabled(true);
const fromSources = existsSync(new URL('./cli.ts', import.meta.url));
if (!fromSources) {
  await import('../dist/pipeline/cli.js');
} else {
  const { compiledCli } = await import('./compile.mjs');
  const entry = process.env.CITYFLOW_TSX === '1' ? null : await compiledCli();
  if (entry) {
    await import(entry);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    await import('./cli.ts');
  }
}
