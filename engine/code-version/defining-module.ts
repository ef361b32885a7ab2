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

/** Source files of the stack's frames, innermost first (raw V8 call sites: no source-map lookups). */
function stackFiles(): string[] {
  const savedPrepare = Error.prepareStackTrace;
  const savedLimit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 50;
    Error.prepareStackTrace = (_err, sites) => sites;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder);
    const sites = holder.stack as NodeJS.CallSite[] | undefined;
    if (!Array.isArray(sites)) return [];
    return sites.map((s) => s.getFileName() ?? '').filter((f) => f !== '');
  } finally {
    Error.prepareStackTrace = savedPrepare;
    Error.stackTraceLimit = savedLimit;
  }
}

/** Modules that defined an asset or a source in this process (boundaries of the other assets' closures). */
export const definingModules = new Set<string>();

/**
 * The source file of the module calling defineAsset / defineBatchAsset / defineSource (the first frame
 * outside engine/asset.ts and this file), recorded as a defining module. Undefined when the caller has
 * no file (eval, REPL).
 */
export function captureDefiningModule(): string | undefined {
  for (const frame of stackFiles()) {
    if (frame.startsWith('node:')) continue;
    const path = sourcePathOf(frame);
    if (!isAbsolute(path) || DEFINING_FUNCTIONS.has(withoutExtension(path))) continue;
    definingModules.add(path);
    return path;
  }
  return undefined;
}
