import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

export const BIN = join(import.meta.dirname, '..', '..', 'pipeline', 'bin.mjs');
export const SAMPLE = join(import.meta.dirname, '..', '..', 'data');

/** A throw-away project: a copy of the bundled sample plus its own output and state dirs. */
export async function scratchProject(prefix: string): Promise<{ root: string; env: NodeJS.ProcessEnv }> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  await cp(SAMPLE, join(root, 'data'), { recursive: true });
  return { root, env: projectEnv(root, join(root, 'data')) };
}

/** A CLI environment of its own: output and state under root, nothing inherited but PATH. */
function projectEnv(root: string, dataDir: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: root,
    CI: 'true',
    DATA_DIR: dataDir,
    OUTPUT_DIR: join(root, 'output'),
    STATE_DIR: join(root, 'state'),
  };
}

/** The project's code folders and files: what the `pipeline` command runs and versions. */
const CODE = [
  'engine',
  'io-managers',
  'assets',
  'pipeline',
  'cityflow.config.ts',
  'tsconfig.json',
  'package.json',
  'package-lock.json',
];

/**
 * A throw-away copy of the project's code (test fixtures left out), to edit its sources and run its own
 * `pipeline/bin.mjs`. Its node_modules is made of links to the real packages, so the copy has its own
 * `node_modules/.cache` (compiled builds, code-version cache). Reads the sample data of the repo; output
 * and state stay in the copy.
 */
export async function copyProject(prefix: string): Promise<{ root: string; env: NodeJS.ProcessEnv }> {
  const repo = join(import.meta.dirname, '..', '..');
  const root = await mkdtemp(join(tmpdir(), prefix));
  for (const name of CODE) {
    await cp(join(repo, name), join(root, name), { recursive: true, filter: (p) => !p.includes('fixtures') });
  }
  await mkdir(join(root, 'node_modules'));
  for (const name of await readdir(join(repo, 'node_modules'))) {
    if (name !== '.cache') await symlink(join(repo, 'node_modules', name), join(root, 'node_modules', name));
  }
  return { root, env: projectEnv(root, SAMPLE) };
}

/** Runs a project copy's own `pipeline` command (see copyProject) to the end; throws when it fails. */
export async function runCopy(
  copy: { root: string; env: NodeJS.ProcessEnv },
  args: string[],
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(copy.root, 'pipeline/bin.mjs'), ...args],
    {
      env: { ...copy.env, ...extraEnv },
      cwd: copy.root,
    },
  );
  return stdout;
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function startPipeline(
  env: NodeJS.ProcessEnv,
  args: string[],
  cwd?: string,
): { child: ChildProcess; done: Promise<Finished> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    env,
    ...(cwd && { cwd }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Finished>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

/** Every file under dir (relative path → bytes), ignoring temp files of interrupted writes. */
export async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (!e.name.includes('.tmp-')) out.set(relative(dir, p), await readFile(p, 'utf8'));
    }
  };
  await walk(dir);
  return out;
}

export async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Deterministic PRNG so kill points are reproducible from the seed (the data generator's). */
export { mulberry32 as seeded } from '../../bench/gen-comptages.ts';
