/**
 * The web app (pipeline/ui/app/, TypeScript for the browser) bundled by esbuild into one script and one
 * stylesheet, in memory, once per server start: nothing is fetched from a CDN, everything is served by
 * `pipeline ui` itself.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { frameworkLink } from '../config-load.ts';

export interface AppBundle {
  js: string;
  css: string;
}

export const appDir = (): string => join(frameworkLink().sourceRoot, 'pipeline', 'ui', 'app');

export async function bundleApp(dir = appDir()): Promise<AppBundle> {
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [join(dir, 'main.ts')],
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
