// The warm process (PIPELINE_WARM=1, Linux): a `pipeline` process that has loaded the CLI, the engine and
// the project's config ahead of time and waits on a Unix socket to run one command for a `pipeline`
// started later, from the same folder, with the same environment and the same Node. The command it runs
// is the one a fresh process would run: it checks its build and the config's as a fresh start does
// (warm-serve.ts) and writes straight to the caller's terminal or pipe (opened through /proc), so the
// output, colours and exit code are the same; the caller forwards its signals and exits as the command
// did. It runs one command; once that is over it starts the next warm process. With no command for
// PIPELINE_WARM_IDLE seconds (default 600) it exits.
//
// This module is the plain JavaScript part both sides need before anything is compiled: where the socket
// is, the caller (`runWarm`), starting a warm process (`spawnWarm`), and its listening socket
// (`listenWarm`). It loads no `node:crypto` (≈ 10 ms): the socket's name is an FNV-1a hash, and the warm
// process compares what it is asked with what it holds in full.
import { spawn } from 'node:child_process';
import {
  chmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer } from 'node:net';
import { clearTimeout, setTimeout } from 'node:timers';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import process from 'node:process';

/** PIPELINE_WARM values that turn it on (bin.mjs tests the same without loading this module). */
export const WARM_ON = /^(1|true|on)$/i;

/** The signals a caller passes on to the warm process running its command (and that stop a waiting one). */
export const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** The commands a warm process runs; any other (`ui`, `daemon`, `worker`, `upload`…) starts fresh. */
const SERVED = new Set(['materialize', 'plan', 'why', 'list', 'runs', 'quarantine']);
/**
 * How long a command waits for a warm process that is still loading (≈ 0.3–0.5 s, more on a loaded
 * machine) before running on its own.
 */
const PATIENCE_MS = 3000;

/** The command named by the arguments (after `--config FILE`), or undefined (`--help`, `--version`…). */
export function commandOf(args) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--config') i++;
    else if (args[i].startsWith('--config=')) continue;
    else return args[i].startsWith('-') ? undefined : args[i];
  }
  return undefined;
}

/**
 * Variables a shell keeps for itself (the command as typed, the previous folder, the nesting depth):
 * they change from one prompt or script to the next, so they are not part of the identity; the warm
 * process takes the caller's.
 */
export const SHELL_VARIABLES = ['_', 'OLDPWD', 'SHLVL'];

/**
 * What a caller and its warm process must share: all of it is compared by the warm process. Undefined
 * when the current folder is gone (the command starts fresh and says so).
 */
export function warmIdentity(bin, env) {
  const rest = { ...env };
  for (const name of SHELL_VARIABLES) delete rest[name];
  let cwd;
  try {
    cwd = process.cwd();
  } catch {
    return undefined;
  }
  return {
    bin,
    cwd,
    execPath: process.execPath,
    execArgv: process.execArgv,
    version: process.version,
    env: rest,
  };
}

function fnv1a(text) {
  let h1 = 0x811c9dc5;
  let h2 = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x01000193) ^ (h1 >>> 15);
  }
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}

const canonical = (identity) =>
  JSON.stringify({ ...identity, env: Object.entries(identity.env).sort(([a], [b]) => (a < b ? -1 : 1)) });

/**
 * The socket of the warm process for this identity: in a folder of this user's only
 * (`$XDG_RUNTIME_DIR/cityflow-warm` or `<tmp>/cityflow-warm-<uid>`, mode 0700). Undefined off Linux, or
 * when the folder exists but is not safe (another owner, open to others, a link): an environment with
 * credentials is never sent to a socket someone else could have put there.
 */
export function warmSocket(identity, { create = false } = {}) {
  const dir = warmDir(identity.env, { create });
  if (!dir) return undefined;
  const socket = join(dir, `${fnv1a(canonical(identity))}.sock`);
  return Buffer.byteLength(socket) < 100 ? socket : undefined; // sun_path holds 108 bytes
}

/** The folder of this user's warm processes (see warmSocket), if it is there and safe. */
export function warmDir(env, { create = false } = {}) {
  if (process.platform !== 'linux' || typeof process.getuid !== 'function') return undefined;
  const uid = process.getuid();
  const dir = env.XDG_RUNTIME_DIR
    ? join(env.XDG_RUNTIME_DIR, 'cityflow-warm')
    : join(tmpdir(), `cityflow-warm-${uid}`);
  if (create) {
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch {
      // there already, or not possible: checked below
    }
  }
  const st = lstatSync(dir, { throwIfNoEntry: false });
  return st && st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0 ? dir : undefined;
}

/** The warm processes waiting in `dir` (their PID files; the ones still alive). */
export function warmProcesses(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.sock.pid')) continue;
    try {
      const pid = Number(readFileSync(join(dir, name), 'utf8'));
      process.kill(pid, 0);
      found.push({ pid, socket: join(dir, name.slice(0, -'.pid'.length)) });
    } catch {
      // gone, or not a number
    }
  }
  return found;
}

/** Where the warm process leaves the exit code of the command it ran for `pid`. */
export const exitFile = (socket, pid) => `${socket}.${pid}.exit`;
/** The warm process's PID, while it listens (to stop it: `kill $(cat …)`). */
export const pidFile = (socket) => `${socket}.pid`;

/** The caller's stdout and stderr can be opened by the warm process: a terminal, a pipe, /dev/null. */
function reachableStdio() {
  return [1, 2].every((fd) => {
    try {
      const st = fstatSync(fd);
      return st.isCharacterDevice() || st.isFIFO();
    } catch {
      return false;
    }
  });
}

/**
 * Runs this command in the warm process when one is ready for it. Resolves to its exit code, or to
 * undefined when it must run here (none there, refused, or not a command it serves) — `spawn` then says
 * whether to start one.
 */
export function runWarm(identity, args) {
  const command = commandOf(args);
  if (!SERVED.has(command)) return Promise.resolve({ spawn: false });
  const socket = warmSocket(identity);
  if (!socket) return Promise.resolve({ spawn: process.platform === 'linux' });
  if (!reachableStdio()) return Promise.resolve({ spawn: false });
  return new Promise((resolve) => {
    const conn = connect(socket);
    let started = false;
    let settled = false;
    let buffered = '';
    let received; // a signal this process got while the command runs elsewhere
    const settle = (outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(patience);
      for (const sig of SIGNALS) process.off(sig, onSignal);
      // Not run there: a signal that came meanwhile has its default effect now.
      if (!started && received) process.kill(process.pid, received);
      else resolve(outcome);
    };
    const onSignal = (signal) => {
      received = signal;
      if (started) return void conn.write(JSON.stringify({ signal }) + '\n');
      giveUp(); // still waiting for a warm process that loads: this process ends by the signal now
    };
    const giveUp = () => {
      conn.destroy();
      settle({ spawn: false });
    };
    for (const sig of SIGNALS) process.on(sig, onSignal);
    // A warm process still loading answers once loaded (listenWarm); one that takes longer than a fresh
    // start would is not waited for.
    const patience = setTimeout(giveUp, PATIENCE_MS);
    conn.on('connect', () => {
      const shellVars = Object.fromEntries(SHELL_VARIABLES.map((name) => [name, process.env[name]]));
      const request = { pid: process.pid, argv1: process.argv[1], args, shellVars, ...identity };
      conn.write(JSON.stringify(request) + '\n');
    });
    conn.on('data', (chunk) => {
      if (started) return;
      buffered += chunk.toString('utf8');
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      let reply;
      try {
        reply = JSON.parse(buffered.slice(0, nl));
      } catch {
        reply = {};
      }
      if (!reply.started) {
        conn.destroy();
        // A warm process that could not run it (stale) is gone: start another one for the next command.
        return settle({ spawn: reply.gone === true });
      }
      started = true;
      clearTimeout(patience);
      if (received) conn.write(JSON.stringify({ signal: received }) + '\n');
    });
    conn.on('error', () => settle({ spawn: true }));
    conn.on('close', () => {
      if (!started) return settle({ spawn: true });
      const file = exitFile(socket, process.pid);
      let code;
      try {
        code = Number(readFileSync(file, 'utf8'));
        rmSync(file, { force: true });
      } catch {
        // it ended without writing one: killed by a signal
      }
      if (!Number.isInteger(code) && received) {
        for (const sig of SIGNALS) process.off(sig, onSignal);
        process.kill(process.pid, received); // ends as the command did: by that signal
        return;
      }
      if (!Number.isInteger(code))
        process.stderr.write('pipeline: the warm process ended without an exit code\n');
      settle({ code: Number.isInteger(code) ? code : 1 });
    });
  });
}

/** Starts a warm process for this identity, detached, unless one is listening already. */
export function spawnWarm(identity, binFile) {
  const socket = warmSocket(identity, { create: true });
  if (!socket) return;
  try {
    const child = spawn(identity.execPath, [...identity.execArgv, binFile], {
      cwd: identity.cwd,
      env: { ...identity.env, CITYFLOW_WARM_SERVE: socket },
      detached: true,
      stdio: 'ignore',
    });
    child.on('error', () => {});
    child.unref();
  } catch {
    // not possible here: every command starts fresh
  }
}

/**
 * The warm process's listening socket, taken over from a dead one (a socket file nobody answers), or
 * undefined when another warm process listens there already. It listens before loading anything: a
 * command that comes meanwhile (`a && b` in a script) waits until `serve` is set — the rest of this
 * load is shorter than a fresh start, which would also share the cores with it.
 */
export async function listenWarm(socket) {
  let serve;
  const waiting = [];
  const listen = () =>
    new Promise((resolve, reject) => {
      const server = createServer((conn) => {
        // A caller gone (reset, broken pipe) is seen as the connection's close; never a crash here.
        conn.on('error', () => {});
        if (serve) serve(conn);
        else waiting.push(conn);
      });
      server.once('error', reject);
      server.listen(socket, () => {
        chmodSync(socket, 0o600);
        const serveWith = (fn) => {
          serve = fn;
          for (const conn of waiting.splice(0)) if (!conn.destroyed) fn(conn);
        };
        resolve({ server, serveWith });
      });
    });
  try {
    return await listen();
  } catch (err) {
    if (err.code !== 'EADDRINUSE') return undefined;
  }
  const alive = await new Promise((resolve) => {
    const probe = connect(socket);
    probe.on('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.on('error', () => resolve(false));
  });
  if (alive) return undefined;
  rmSync(socket, { force: true });
  try {
    return await listen();
  } catch {
    return undefined;
  }
}

/** Writes the PID file of the warm process listening on `socket`; returns its removal. */
export function writePidFile(socket) {
  const file = pidFile(socket);
  writeFileSync(file, `${process.pid}\n`, { mode: 0o600 });
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    // Only its own: a successor may listen on the same socket already.
    try {
      if (readFileSync(file, 'utf8') === `${process.pid}\n`) rmSync(file, { force: true });
    } catch {
      // gone already
    }
  };
  process.on('exit', remove);
  return remove;
}
