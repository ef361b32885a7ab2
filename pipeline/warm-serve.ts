/**
 * The warm process's side (PIPELINE_WARM=1; warm.mjs says what it is). Loads the CLI and the project's
 * config, then runs at most one command asked on its socket — only for a caller of the same identity
 * (folder, environment, Node, `pipeline` entry) and only while nothing it loaded has changed since: its
 * build (checked as every start checks it, `compiledRoot`), the plain JavaScript files outside the build,
 * and the installed packages (`package-lock.json` files, which npm rewrites at every install). Otherwise
 * it says it is stale and exits, and the caller runs the command itself. The project's config is loaded
 * again for the command as in any start: a config build that moved (config-build.ts) is imported afresh.
 */
import {
  closeSync,
  constants,
  openSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { Console } from 'node:console';
import type { Server, Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { z } from 'zod';
import { isatty, WriteStream } from 'node:tty';
import { isAlive } from '../engine/pid.ts';
import { compiledRoot } from './compile.mjs';
import { findConfig } from './config-file.ts';
import { frameworkLink, importConfig } from './config-load.ts';
import { main } from './cli.ts';
import { exitFile, SHELL_VARIABLES, SIGNALS, spawnWarm, writePidFile, type WarmIdentity } from './warm.mjs';

/** What a caller sends (warm.mjs `runWarm`); its PID names files under /proc and the socket's folder. */
const WarmRequestSchema = z.object({
  pid: z.number().int().positive(),
  argv1: z.string(),
  args: z.array(z.string()),
  /** The caller's SHELL_VARIABLES (`$_`, `$OLDPWD`, `$SHLVL`). */
  shellVars: z.record(z.string(), z.string().optional()),
  bin: z.string(),
  cwd: z.string(),
  execPath: z.string(),
  execArgv: z.array(z.string()),
  version: z.string(),
  env: z.record(z.string(), z.string().optional()),
});
type WarmRequest = z.infer<typeof WarmRequestSchema>;

const DEFAULT_IDLE_SECONDS = 600;

/** size, mtime, ctime, inode of a file, or null when it is not there. */
function stampOf(file: string): string {
  const s: Stats | undefined = statSync(file, { throwIfNoEntry: false });
  return s ? `${s.size}:${s.mtimeMs}:${s.ctimeMs}:${s.ino}` : 'none';
}

/** What this process loaded from outside its build: to be unchanged when a command comes. */
function watchedFiles(identity: WarmIdentity, projectDir: string | undefined): string[] {
  const sourcesDir = dirname(identity.bin);
  const roots = [frameworkLink().sourceRoot, ...(projectDir ? [projectDir] : [])];
  return [
    ...['bin.mjs', 'compile.mjs', 'heap.mjs', 'warm.mjs'].map((f) => join(sourcesDir, f)),
    ...roots.flatMap((r) => [join(r, 'package-lock.json'), join(r, 'node_modules/.package-lock.json')]),
  ];
}

const sameIdentity = (a: WarmIdentity, b: WarmIdentity): boolean =>
  a.bin === b.bin &&
  a.cwd === b.cwd &&
  a.execPath === b.execPath &&
  a.version === b.version &&
  JSON.stringify(a.execArgv) === JSON.stringify(b.execArgv) &&
  sameEnv(a.env, b.env);

function sameEnv(a: Record<string, string | undefined>, b: Record<string, string | undefined>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/** stdout or stderr of the caller, opened through /proc: its terminal, pipe or /dev/null itself. */
function openCallerStream(pid: number, fd: 1 | 2): NodeJS.WriteStream {
  const own = openSync(
    `/proc/${pid}/fd/${fd}`,
    constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY,
  );
  if (isatty(own)) return new WriteStream(own);
  let closed = false;
  // A pipe or a device: written synchronously, like Node's own stdout on a pipe, so that nothing is
  // left unwritten when the process exits. The pipe is non-blocking (opening it blocking would wait for
  // a reader): a full pipe is waited for here.
  const wait = new Int32Array(new SharedArrayBuffer(4));
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (closed) return done();
      try {
        for (let off = 0; off < chunk.length;) {
          try {
            off += writeSync(own, chunk, off);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
            Atomics.wait(wait, 0, 0, 2);
          }
        }
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    destroy(err, done) {
      if (!closed) closeSync(own);
      closed = true;
      done(err);
    },
  });
  return Object.assign(stream, { fd: own, isTTY: false }) as unknown as NodeJS.WriteStream;
}

/**
 * Makes the caller's stdout and stderr this process's (`process.stdout`, `console`). Returns their
 * release: closed once the command is over, so that a reader of the caller's pipe (`| less`) sees its end
 * when the caller ends, not when this process does.
 */
function adoptCallerStdio(pid: number): () => void {
  const stdout = openCallerStream(pid, 1);
  const stderr = openCallerStream(pid, 2);
  for (const stream of [stdout, stderr]) {
    // `pipeline list | head -1`: the reader went away; stop quietly, as bin.mjs does.
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(0);
    });
  }
  Object.defineProperty(process, 'stdout', { configurable: true, enumerable: true, get: () => stdout });
  Object.defineProperty(process, 'stderr', { configurable: true, enumerable: true, get: () => stderr });
  globalThis.console = new Console({ stdout, stderr });
  return () => {
    stdout.destroy();
    stderr.destroy();
  };
}

/** The signal a caller's line names (`{"signal":"SIGINT"}`), if it is one of SIGNALS. */
function signalOf(line: string): NodeJS.Signals | undefined {
  try {
    const { signal } = JSON.parse(line) as { signal?: NodeJS.Signals };
    return signal && SIGNALS.includes(signal) ? signal : undefined;
  } catch {
    return undefined; // an empty or unreadable line
  }
}

/** Calls `then` once process `pid` has ended (or after 2 s). */
function afterExitOf(pid: number, then: () => void): void {
  const since = Date.now();
  const poll = setInterval(() => {
    if (isAlive(pid) && Date.now() - since < 2000) return;
    clearInterval(poll);
    then();
  }, 5);
}

function readRequest(conn: Socket): Promise<WarmRequest | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8');
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      conn.off('data', onData);
      try {
        resolve(WarmRequestSchema.safeParse(JSON.parse(text.slice(0, nl))).data);
      } catch {
        resolve(undefined);
      }
    };
    conn.on('data', onData);
    conn.on('close', () => resolve(undefined));
  });
}

/**
 * Loads what every command needs, then waits for one on `server` (listening on `socket` already:
 * warm.mjs). `build` is the folder of the compiled CLI this process runs from.
 */
export async function serveWarm(opts: {
  socket: string;
  server: Server;
  serveWith(serve: (conn: Socket) => void): void;
  build: string;
  identity: WarmIdentity;
}): Promise<void> {
  const { socket, server, build, identity } = opts;
  let projectDir: string | undefined;
  try {
    const found = findConfig({ env: identity.env, packageRoot: frameworkLink().sourceRoot });
    projectDir = dirname(found.file);
    await importConfig(found);
  } catch {
    // A config that does not load: each command says why, as a fresh start would.
  }
  const files = watchedFiles(identity, projectDir);
  const stamps = files.map(stampOf);
  const idleSeconds = Number(identity.env.PIPELINE_WARM_IDLE) || DEFAULT_IDLE_SECONDS;
  const idle = setTimeout(() => server.close(), idleSeconds * 1000);
  // Stopped while it waits (`kill`, or `pipeline warm stop`): the socket goes with it.
  const quit = (): void => {
    rmSync(socket, { force: true });
    process.exit(0);
  };
  for (const sig of SIGNALS) process.once(sig, quit);
  let busy = false;

  const stale = async (req: WarmRequest): Promise<string | undefined> => {
    if (!sameIdentity(req, identity)) return 'another identity';
    if (files.some((f, i) => stampOf(f) !== stamps[i])) return 'a file it loaded changed';
    if ((await compiledRoot()) !== build) return 'the CLI was rebuilt';
    return undefined;
  };

  opts.serveWith((conn) => {
    void (async () => {
      const req = await readRequest(conn);
      // A caller that gave up while this process loaded (Ctrl-C, its patience) is not served: this
      // process waits on for the next one.
      if (!req || busy || !isAlive(req.pid)) return void conn.end(JSON.stringify({ started: false }) + '\n');
      busy = true;
      let why = await stale(req);
      // Listening stops here either way: this process runs one command at most.
      clearTimeout(idle);
      for (const sig of SIGNALS) process.off(sig, quit);
      server.close();
      removePidFile();
      let releaseStdio = (): void => {};
      try {
        if (!why) releaseStdio = adoptCallerStdio(req.pid);
      } catch {
        why = "the caller's output cannot be opened";
      }
      if (why) return void conn.end(JSON.stringify({ started: false, gone: true, why }) + '\n');
      process.argv = [process.execPath, req.argv1, ...req.args];
      for (const [name, value] of Object.entries(req.shellVars)) {
        if (!SHELL_VARIABLES.includes(name)) continue;
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      // The caller exits with this code once the connection closes: when this process ends, or earlier,
      // as soon as the command is over (below).
      let told = false;
      const tell = (code: number): void => {
        if (told) return;
        told = true;
        writeFileSync(exitFile(socket, req.pid), String(code), { mode: 0o600 });
      };
      process.on('exit', tell);
      conn.on('data', (chunk) => {
        // The caller's signals, one JSON line each (a line is a few bytes: never split).
        for (const line of chunk.toString('utf8').split('\n')) {
          const signal = signalOf(line);
          if (signal) process.kill(process.pid, signal);
        }
      });
      // The caller killed while its command runs here (its terminal closed, `kill -9`): the command stops
      // as if it had been the one killed, cleanly (SIGTERM: in-flight writes finish, the run is recorded).
      let over = false;
      conn.once('close', () => {
        if (!over) process.kill(process.pid, 'SIGTERM');
      });
      conn.write(JSON.stringify({ started: true }) + '\n');
      await main();
      // From here the process ends as a fresh one would: when nothing is left to do. Then the caller is
      // let go, and the next command's warm process started (which would slow this one down before).
      // A command that comes while it loads waits for it (listenWarm).
      conn.unref();
      process.once('beforeExit', () => {
        over = true;
        tell(Number(process.exitCode ?? 0));
        releaseStdio();
        conn.ref().end();
        // Once the caller is gone: starting a process takes this one ≈ 10 ms, and Node's start a core.
        const next = (): void => afterExitOf(req.pid, () => spawnWarm(identity, identity.bin));
        if (conn.destroyed)
          next(); // the caller is gone already
        else conn.once('close', next);
      });
    })();
  });
  // Ready: the PID file says so (and how to stop it).
  const removePidFile = writePidFile(socket);
}
