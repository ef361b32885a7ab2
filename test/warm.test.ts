/**
 * The warm process (PIPELINE_WARM=1, pipeline/warm.mjs): on a copy of the project, a command is run by
 * the warm process with the output and exit code a fresh start gives; a source edited after it loaded
 * makes it stale (the command runs fresh and sees the edit); output to a regular file, or another
 * environment, is not given to it. Commands run through a shell pipe, as in a terminal session, so that
 * their output can be opened by the warm process. Every warm process started is stopped by its PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from '../engine/pid.ts';
import { commandOf, warmIdentity, warmSocket } from '../pipeline/warm.mjs';
import { copyProject, snapshot } from './faults/cli-process.ts';

let copy: { root: string; env: NodeJS.ProcessEnv };
let runtimeDir: string;
const warmDir = (): string => join(runtimeDir, 'cityflow-warm');
const seen = new Set<number>();

const freshEnv = (): NodeJS.ProcessEnv => ({ ...copy.env, XDG_RUNTIME_DIR: runtimeDir });
const warmEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  ...freshEnv(),
  PIPELINE_WARM: '1',
  PIPELINE_WARM_IDLE: '60',
  ...extra,
});

interface Outcome {
  code: number | null;
  out: string;
}

/** `pipeline ARGS 2>&1 | cat` in bash (pipefail): stdout and stderr are one pipe, as in `| less`. */
function startThroughPipe(
  env: NodeJS.ProcessEnv,
  args: string[],
): { shell: ChildProcess; output: () => string; done: Promise<Outcome> } {
  const script = 'set -o pipefail; "$@" 2>&1 | cat';
  const shell = spawn(
    'bash',
    ['-c', script, 'bash', process.execPath, join(copy.root, 'pipeline/bin.mjs'), ...args],
    {
      env,
      cwd: copy.root,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  shell.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<Outcome>((resolve) => shell.on('close', (code) => resolve({ code, out })));
  return { shell, output: () => out, done };
}

/** The PIDs of the processes in /proc for which `test` holds (one that ended meanwhile: not). */
function processesWhere(test: (pid: number) => boolean): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => {
      try {
        return test(pid);
      } catch {
        return false;
      }
    });
}

/** The `pipeline` process a shell of startThroughPipe started (not bash, not cat): its PID, from /proc. */
function callerOf(shellPid: number): number | undefined {
  return processesWhere((pid) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return parent === shellPid && cmd.includes('bin.mjs');
  })[0];
}

/**
 * Starts `materialize --all --force` through the pipe (with the warm process), and once units are being
 * built sends `signal` to the `pipeline` process the shell started (the caller).
 */
async function signalMidRun(signal: NodeJS.Signals): Promise<{ done: Promise<Outcome> }> {
  const { shell, output, done } = startThroughPipe(warmEnv(), [
    'materialize',
    '--all',
    '--force',
    '--no-tui',
  ]);
  while (!output().includes('materialized ')) await new Promise((r) => setTimeout(r, 20));
  const caller = callerOf(shell.pid!);
  expect(caller).toBeDefined();
  process.kill(caller!, signal);
  return { done };
}

const throughPipe = (env: NodeJS.ProcessEnv, args: string[]): Promise<Outcome> =>
  startThroughPipe(env, args).done;

/** `pipeline ARGS > FILE 2>&1`. */
function toFile(env: NodeJS.ProcessEnv, args: string[], file: string): Promise<Outcome> {
  const fd = openSync(file, 'w');
  const child = spawn(process.execPath, [join(copy.root, 'pipeline/bin.mjs'), ...args], {
    env,
    cwd: copy.root,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  return new Promise((resolve) =>
    child.on('close', (code) => resolve({ code, out: readFileSync(file, 'utf8') })),
  );
}

const pidFiles = (): Map<string, number> => {
  const pids = new Map<string, number>();
  let names: string[] = [];
  try {
    names = readdirSync(warmDir());
  } catch {
    // not created yet
  }
  for (const name of names.filter((n) => n.endsWith('.pid'))) {
    try {
      const pid = Number(readFileSync(join(warmDir(), name), 'utf8'));
      if (pid > 0) pids.set(name, pid);
    } catch {
      // removed meanwhile
    }
  }
  return pids;
};

const sockets = (): string[] =>
  readdirSync(warmDir())
    .filter((n) => n.endsWith('.sock'))
    .map((n) => join(warmDir(), n));

/** The PID of a warm process ready (its PID file written) other than `not`, waiting up to 30 s. */
async function ready(not: number[] = []): Promise<number> {
  for (let i = 0; i < 600; i++) {
    for (const pid of pidFiles().values()) {
      if (!not.includes(pid) && isAlive(pid)) {
        seen.add(pid);
        return pid;
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no warm process became ready');
}

/** Ended: it ran a command (or found itself stale) and exited (an orphan's zombie, not yet collected, counts). */
async function ended(pid: number): Promise<boolean> {
  for (let i = 0; i < 500 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  return !isAlive(pid);
}

beforeAll(async () => {
  copy = await copyProject('cityflow-warm-');
  runtimeDir = mkdtempSync(join(tmpdir(), 'cityflow-warm-run-'));
  const first = await throughPipe(warmEnv(), ['materialize', '--all', '--no-tui']);
  expect(first.out).toMatch(/success: materialized=72 skipped=0 failed=0/);
  expect(first.code).toBe(0);
}, 180_000);

afterAll(async () => {
  // Successors still starting write their PID file when ready: look a little longer.
  for (let round = 0; round < 20; round++) {
    for (const pid of [...seen, ...pidFiles().values()]) if (isAlive(pid)) process.kill(pid, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
  }
  await rm(copy.root, { recursive: true, force: true });
  await rm(runtimeDir, { recursive: true, force: true });
});

describe('the warm process', () => {
  it('runs a command with the output and exit code of a fresh start', async () => {
    const first = await ready();
    const warm = await throughPipe(warmEnv(), ['plan', '--all']);
    expect(await ended(first)).toBe(true); // it ran the command
    const fresh = await throughPipe(freshEnv(), ['plan', '--all']);
    expect(fresh.out).toMatch(/0 to run, 72 up to date/);
    expect(warm).toEqual(fresh);

    // A usage error: its message and exit code 2, from the next warm process.
    const next = await ready([first]);
    const usage = await throughPipe(warmEnv(), ['materialize']);
    expect(await ended(next)).toBe(true);
    expect(usage).toEqual({ code: 2, out: 'pipeline: say what to run: --all or --select EXPR\n' });
  }, 120_000);

  it('is stale once a source it loaded is edited: the command runs fresh, with the edit', async () => {
    const loaded = await ready();
    const file = join(copy.root, 'assets/weather/metrics.ts');
    const before = await readFile(file, 'utf8');
    await writeFile(file, before.replace('base: 50,', 'base: 55,'));
    try {
      const run = await throughPipe(warmEnv(), ['materialize', '--all', '--no-tui']);
      expect(await ended(loaded)).toBe(true); // it said stale and went away
      expect(run.code).toBe(0);
      expect(run.out).toMatch(/success: materialized=\d+ skipped=\d+ failed=0/);
      expect(run.out).toMatch(/materialized weather_metrics\[/);
      // What it wrote is what the edited code computes: the same bytes as a fresh forced run's.
      const written = await snapshot(join(copy.root, 'output/weather_metrics'));
      const forced = await throughPipe(freshEnv(), [
        'materialize',
        '--select',
        'weather_metrics',
        '--force',
        '--no-tui',
      ]);
      expect(forced.code).toBe(0);
      expect(await snapshot(join(copy.root, 'output/weather_metrics'))).toEqual(written);

      // The warm process started by that fresh run has the edit too: nothing left to run.
      const next = await ready([loaded]);
      const plan = await throughPipe(warmEnv(), ['plan', '--all']);
      expect(await ended(next)).toBe(true);
      expect(plan.out).toMatch(/0 to run, 72 up to date/);
    } finally {
      await writeFile(file, before);
      await throughPipe(freshEnv(), ['materialize', '--all', '--no-tui']);
    }
  }, 180_000);

  it("passes the caller's Ctrl-C on: the run stops as a fresh one does, exit code 130", async () => {
    const serving = await ready();
    const { done } = await signalMidRun('SIGINT');
    const { code, out } = await done;
    expect(code).toBe(130);
    expect(out).toMatch(/Cancelling: finishing in-flight writes/);
    expect(await ended(serving)).toBe(true);
    // Left as a fresh run leaves it: the next run builds what was not finished.
    const after = await throughPipe(freshEnv(), ['materialize', '--all', '--no-tui']);
    expect(after.code).toBe(0);
  }, 120_000);

  it('stops the command cleanly when its caller is killed (kill -9), as a terminal closing would', async () => {
    const serving = await ready();
    await (
      await signalMidRun('SIGKILL')
    ).done;
    expect(await ended(serving)).toBe(true);
    const [last] = JSON.parse((await throughPipe(freshEnv(), ['runs', '--json'])).out) as {
      command: string;
      status: string;
    }[];
    expect(last).toMatchObject({ command: 'materialize --all --force --no-tui', status: 'cancelled' });
    expect((await throughPipe(freshEnv(), ['materialize', '--all', '--no-tui'])).code).toBe(0);
  }, 120_000);

  it('leaves output to a file, and other environments, to a fresh start', async () => {
    const waiting = await ready();
    const file = join(runtimeDir, 'plan.txt');
    const inFile = await toFile(warmEnv(), ['plan', '--all'], file);
    expect(inFile.code).toBe(0);
    expect(inFile.out).toMatch(/0 to run, 72 up to date/);
    const other = await throughPipe(warmEnv({ SOMETHING_ELSE: '1' }), ['plan', '--all']);
    expect(other.code).toBe(0);
    expect(other.out).toMatch(/0 to run, 72 up to date/);
    await new Promise((r) => setTimeout(r, 200));
    expect(isAlive(waiting)).toBe(true); // asked by neither
  }, 120_000);
});

/**
 * A warm process of this copy started (loading or ready: a process started with CITYFLOW_WARM_SERVE here)
 * and still running, other than `not`, waiting up to 5 s.
 */
async function started(not: number[]): Promise<number | undefined> {
  const isWarm = (pid: number): boolean =>
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .some((v) => v.startsWith(`CITYFLOW_WARM_SERVE=${warmDir()}/`));
  for (let i = 0; i < 500; i++) {
    const pid = processesWhere(isWarm).find((p) => !not.includes(p) && isAlive(p));
    if (pid !== undefined) {
      seen.add(pid);
      return pid;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return undefined;
}

describe('commands back to back', () => {
  it('a command that comes while the next warm process still loads waits for it, and is run by it', async () => {
    // The project's config takes 0.5 s more to load: the next command surely comes during the load.
    const config = join(copy.root, 'cityflow.config.ts');
    const before = await readFile(config, 'utf8');
    await writeFile(config, `${before}\nawait new Promise((r) => setTimeout(r, 500));\n`);
    try {
      await throughPipe(freshEnv(), ['warm', 'stop']);
      await throughPipe(warmEnv(), ['plan', '--all']); // fresh: starts a warm process with this config
      const first = await ready();
      const a = await throughPipe(warmEnv(), ['plan', '--all']);
      expect(a.out).toMatch(/0 to run, 72 up to date/);
      // The warm process that ran `a` starts the next one as it ends: found as soon as it exists.
      const next = await started([first]);
      expect(next).toBeDefined();
      expect([...pidFiles().values()]).not.toContain(next); // not ready yet
      const b = await throughPipe(warmEnv(), ['plan', '--all']);
      expect(b).toEqual(a);
      expect(await ended(next!)).toBe(true); // it ran `b` (a command run on its own leaves it waiting)

      // Ctrl-C while waiting: the command ends by it at once; the warm process loading is left for the next.
      const third = await started([first, next!]);
      expect(third).toBeDefined();
      const c = startThroughPipe(warmEnv(), ['plan', '--all']);
      let caller: number | undefined;
      while (!(caller = callerOf(c.shell.pid!))) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 200)); // started, and waiting for the warm process
      expect([...pidFiles().values()]).not.toContain(third);
      process.kill(caller, 'SIGINT');
      expect(await c.done).toEqual({ code: 130, out: '' });
      expect(await ready()).toBe(third);
    } finally {
      await writeFile(config, before);
      await throughPipe(freshEnv(), ['warm', 'stop']);
      await throughPipe(warmEnv(), ['plan', '--all']); // a warm process of the usual config, for what follows
    }
  }, 120_000);
});

describe('pipeline warm', () => {
  it('lists the warm processes waiting, and stops them', async () => {
    const waiting = await ready();
    // Every warm process started (the other environment's too) ready: none left starting.
    for (let i = 0; i < 600 && sockets().some((s) => !existsSync(`${s}.pid`)); i++)
      await new Promise((r) => setTimeout(r, 50));
    const status = await throughPipe(freshEnv(), ['warm', 'status']);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(
      /^PIPELINE_WARM is off: every command starts fresh\n\d+ warm process(es)? waiting\n/,
    );
    expect(status.out).toContain(`pid ${waiting} `);
    const stop = await throughPipe(freshEnv(), ['warm', 'stop']);
    expect(stop.out).toMatch(/^stopped \d+ warm process/);
    expect(await ended(waiting)).toBe(true);
    expect(sockets()).toEqual([]);
    expect(pidFiles().size).toBe(0);
  }, 60_000);
});

describe('warm.mjs', () => {
  it('finds the command after --config', () => {
    expect(commandOf(['--config', 'x.ts', 'plan', '--all'])).toBe('plan');
    expect(commandOf(['--config=x.ts', 'materialize'])).toBe('materialize');
    expect(commandOf(['--version'])).toBeUndefined();
    expect(commandOf([])).toBeUndefined();
  });

  it('never uses a socket folder others could have made or can enter', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cityflow-warm-unsafe-'));
    try {
      const shell = { _: '/usr/bin/node', OLDPWD: '/', SHLVL: '2' };
      const identity = warmIdentity('/x/pipeline/bin.mjs', { XDG_RUNTIME_DIR: dir, ...shell })!;
      expect(identity.env).toEqual({ XDG_RUNTIME_DIR: dir }); // the shell's own are the caller's, not compared
      await mkdir(join(dir, 'cityflow-warm'), { mode: 0o755 });
      await chmod(join(dir, 'cityflow-warm'), 0o755);
      expect(warmSocket(identity, { create: true })).toBeUndefined();
      await chmod(join(dir, 'cityflow-warm'), 0o700);
      expect(warmSocket(identity)).toMatch(/cityflow-warm\/[0-9a-f]{16}\.sock$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
