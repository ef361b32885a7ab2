import { isAbsolute, join } from 'node:path';
import { FRAMEWORK_DIR, sourcePathOf } from './source-path.ts';

/**
 * The modules whose frames are skipped when looking for the module that called defineAsset, by path
 * without extension: the engine runs from its TypeScript sources or from its build (`dist/engine/*.js`).
 */
const withoutExtension = (path: string): string => path.replace(/\.(?:[cm]?[jt]s|tsx)$/, '');
const DEFINING_FUNCTIONS = new Set(
  [
    join(FRAMEWORK_DIR, 'asset.ts'),
    join(FRAMEWORK_DIR, 'code-version.ts'),
    sourcePathOf(import.meta.url),
  ].map(withoutExtension),
);

/** The stack's call sites, innermost first (raw V8 call sites: no source-map lookups). */
function callSites(): NodeJS.CallSite[] {
  const savedPrepare = Error.prepareStackTrace;
  const savedLimit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 50;
    Error.prepareStackTrace = (_err, sites) => sites;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder);
    const sites = holder.stack as NodeJS.CallSite[] | undefined;
    return Array.isArray(sites) ? sites : [];
  } finally {
    Error.prepareStackTrace = savedPrepare;
    Error.stackTraceLimit = savedLimit;
  }
}

/** Modules that defined an asset or a source in this process (boundaries of the other assets' closures). */
export const definingModules = new Set<string>();

/**
 * A frame's file → its source path, or null for a frame that is not the caller (node internals, the
 * engine's defining functions, no absolute path). Remembered: a project defines many assets from few
 * files, and mapping a compiled file back to its source asks the file system.
 */
const frameSources = new Map<string, string | null>();

function callerSource(frame: string): string | null {
  let path = frameSources.get(frame);
  if (path === undefined) {
    const source = frame.startsWith('node:') ? '' : sourcePathOf(frame);
    path = isAbsolute(source) && !DEFINING_FUNCTIONS.has(withoutExtension(source)) ? source : null;
    frameSources.set(frame, path);
  }
  return path;
}

/**
 * The source file of the module calling defineAsset / defineBatchAsset / defineSource (the first frame
 * outside engine/asset.ts and this file), recorded as a defining module. Undefined when the caller has
 * no file (eval, REPL).
 */
export function captureDefiningModule(): string | undefined {
  for (const site of callSites()) {
    const frame = site.getFileName();
    const path = frame ? callerSource(frame) : null;
    if (!path) continue;
    definingModules.add(path);
    return path;
  }
  return undefined;
}
