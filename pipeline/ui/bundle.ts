/**
 * The web app (pipeline/ui/app/, TypeScript for the browser) bundled by esbuild into one script and one
 * stylesheet, in memory, once per server start: nothing is fetched from a CDN, everything is served by
 * `pipeline ui` itself.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { frameworkLink } from '../config-load.ts';

export interface AppBundle {
  js: string;
  css: string;
}

/**
 * The app of the build the server runs from (a compiled build holds the app's modules and stylesheet:
 * compile.mjs), so that server and app are one version even when the build's real path is elsewhere
 * (node_modules linked from another checkout); else the sources.
 */
export const appDir = (): string => {
  const { runningRoot, sourceRoot } = frameworkLink();
  const running = join(runningRoot, 'pipeline', 'ui', 'app');
  return existsSync(join(running, 'app.css')) ? running : join(sourceRoot, 'pipeline', 'ui', 'app');
};

export async function bundleApp(dir = appDir()): Promise<AppBundle> {
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [join(dir, existsSync(join(dir, 'main.ts')) ? 'main.ts' : 'main.js')],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const js = out.outputFiles[0]!.text;
  const css = await readFile(join(dir, 'app.css'), 'utf8');
  return { js, css };
}
