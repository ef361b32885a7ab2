/**
 * Which project configuration (`cityflow.config.ts`) the `pipeline` command runs, as other Node tools find
 * theirs: `--config <file>`, else `CITYFLOW_CONFIG`, else the first `cityflow.config.{ts,mts,js,mjs}` in the
 * current directory or one of its parents, else the one beside the `pipeline` command's own package (a
 * checkout of CityFlow: the Paris pipeline; the published package ships none).
 */
import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** File names tried in each folder, in this order. */
export const CONFIG_NAMES = [
  'cityflow.config.ts',
  'cityflow.config.mts',
  'cityflow.config.js',
  'cityflow.config.mjs',
] as const;

/** A configuration file that cannot be used (missing, syntax error, failing definition): exit 2. */
export class ConfigFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigFileError';
  }
}

export interface FoundConfig {
  /** Absolute path of the configuration module. */
  file: string;
  /** How it was chosen, for `pipeline env` and messages. */
  from: '--config' | 'CITYFLOW_CONFIG' | 'current directory' | 'CityFlow package';
}

const isFile = (p: string): boolean => statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;

/** The config file in `dir` itself, if any. */
function inFolder(dir: string): string | undefined {
  for (const name of CONFIG_NAMES) {
    const p = join(dir, name);
    if (isFile(p)) return p;
  }
  return undefined;
}

function given(setting: string, from: '--config' | 'CITYFLOW_CONFIG', cwd: string): FoundConfig {
  const file = resolve(cwd, setting);
  const st = statSync(file, { throwIfNoEntry: false });
  if (st?.isFile()) return { file, from };
  if (st?.isDirectory()) {
    const inside = inFolder(file);
    if (inside) return { file: inside, from };
  }
  throw new ConfigFileError(
    `${from} ${setting}: ${st ? 'no ' + CONFIG_NAMES.join(', ') + ' in that folder' : 'no such file'} (${file})`,
  );
}

export function findConfig(opts: {
  /** `--config` as given. */
  flag?: string;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Root of the package the CLI runs from (its own config is the last resort). */
  packageRoot?: string;
}): FoundConfig {
  const cwd = opts.cwd ?? process.cwd();
  if (opts.flag) return given(opts.flag, '--config', cwd);
  const fromEnv = opts.env?.CITYFLOW_CONFIG?.trim();
  if (fromEnv) return given(fromEnv, 'CITYFLOW_CONFIG', cwd);
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const file = inFolder(dir);
    if (file) return { file, from: 'current directory' };
    if (dirname(dir) === dir) break;
  }
  const own = opts.packageRoot && inFolder(opts.packageRoot);
  if (own) return { file: own, from: 'CityFlow package' };
  throw new ConfigFileError(
    `no cityflow.config.ts found in ${resolve(cwd)} or any folder above it. Create one that exports ` +
      `defineConfig({ assets: [...] }) (see the README, "Your own pipeline"), or pass --config <file> ` +
      `(or set CITYFLOW_CONFIG)`,
  );
}
