/**
 * Starts a throw-away Ceph RADOS Gateway (a real S3 implementation) with `scripts/start-ceph-rgw.sh`
 * on free 127.0.0.1 ports, state in a temp folder. Stopped by the PIDs the daemons recorded in
 * `<dir>/run/*.pid`, never by process name; `stop()` waits until they have exited.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive } from '../../engine/pid.ts';
import { freePort } from './dynamodb.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Keys created by the start script; they exist only inside the throw-away gateway. */
export const CEPH_TEST_CREDENTIALS = { accessKeyId: 'TESTKEY', secretAccessKey: 'TESTSECRET' } as const;

export interface RunningCeph {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The state folder (logs in `<dir>/log`). */
  dir: string;
  pids: number[];
  stop(): Promise<void>;
}

export function cephInstalled(): boolean {
  return ['radosgw', 'ceph-mon', 'ceph-osd'].every(
    (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0,
  );
}

/**
 * Runs `scripts/install-ceph.sh` when the daemons are missing. Returns null when installed, or
 * the reason it could not be (not root, no network…).
 */
export async function ensureCephInstalled(): Promise<string | null> {
  if (cephInstalled()) return null;
  return new Promise((res) => {
    execFile(
      join(ROOT, 'scripts/install-ceph.sh'),
      { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 },
      (err, _stdout, stderr) => {
        if (!err && cephInstalled()) res(null);
        else {
          const tail = stderr.trim().split('\n').slice(-3).join(' | ');
          res(`radosgw is not installed and scripts/install-ceph.sh failed: ${tail || String(err)}`);
        }
      },
    );
  });
}

async function recordedPids(dir: string): Promise<number[]> {
  const runDir = join(dir, 'run');
  let names: string[];
  try {
    names = await readdir(runDir);
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const n of names.filter((f) => f.endsWith('.pid'))) {
    const pid = Number((await readFile(join(runDir, n), 'utf8')).trim());
    if (Number.isInteger(pid) && pid > 1) pids.push(pid);
  }
  return pids;
}

/** SIGTERM the recorded daemons (gateway first), wait for exit, SIGKILL leftovers after 10 s. */
async function stopPids(pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  const deadline = Date.now() + 10_000;
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids.filter(isAlive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  const hard = Date.now() + 5_000;
  while (pids.some(isAlive) && Date.now() < hard) await new Promise((r) => setTimeout(r, 100));
  const left = pids.filter(isAlive);
  if (left.length > 0) throw new Error(`Ceph daemons still running after SIGKILL: pids ${left.join(', ')}`);
}

/**
 * Starts the gateway; a failed start (seen now and then on a busy 2-core machine) is retried once on
 * fresh ports, and the error keeps the script's own diagnostics.
 */
export async function startCeph(attempts = 3): Promise<RunningCeph> {
  await reapOrphans();
  for (let i = 1; ; i++) {
    try {
      return await startCephOnce();
    } catch (err) {
      if (i >= attempts) throw err;
      process.stderr.write(`${(err as Error).message}\nretrying Ceph start (${i + 1}/${attempts})\n`);
    }
  }
}

async function logTails(logDir: string): Promise<string> {
  const names = await readdir(logDir).catch(() => [] as string[]);
  let out = '';
  for (const name of names) {
    const lines = (await readFile(join(logDir, name), 'utf8').catch(() => '')).trimEnd().split('\n');
    out += `\n--- ${name} (last 8 lines)\n${lines.slice(-8).join('\n')}`;
  }
  return out;
}

/**
 * Stops the daemons of earlier test runs that were killed before their teardown (SIGKILL, OOM): their
 * folder names a process that no longer exists. A gateway left running makes later starts fail. Only
 * PIDs recorded in such folders are signalled; gateways of live test runs (other shells) are left alone.
 */
async function reapOrphans(): Promise<void> {
  const names = (await readdir(tmpdir()).catch(() => [] as string[])).filter((n) =>
    n.startsWith('cityflow-ceph-'),
  );
  for (const name of names) {
    const dir = join(tmpdir(), name);
    const owner = Number((await readFile(join(dir, 'owner.pid'), 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(owner) || owner <= 1 || isAlive(owner)) continue;
    await stopPids((await recordedPids(join(dir, 'state'))).filter(isAlive)).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

async function startCephOnce(): Promise<RunningCeph> {
  const dir = await mkdtemp(join(tmpdir(), 'cityflow-ceph-'));
  await writeFile(join(dir, 'owner.pid'), String(process.pid));
  const [port, monPort] = [await freePort(), await freePort()];
  const stateDir = join(dir, 'state');
  const cleanup = async (): Promise<void> => {
    await stopPids(await recordedPids(stateDir));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((res, reject) => {
      execFile(
        join(ROOT, 'scripts/start-ceph-rgw.sh'),
        [stateDir, String(port), String(monPort)],
        { timeout: 180_000, maxBuffer: 16 * 1024 * 1024 },
        (err, _stdout, stderr) => {
          if (err)
            reject(new Error(`Ceph RGW did not start: ${stderr.trim().split('\n').slice(-15).join(' | ')}`));
          else res();
        },
      );
    });
  } catch (err) {
    // The state folder is removed below: keep the end of every daemon log in the error.
    const logs = await logTails(join(stateDir, 'log'));
    await cleanup();
    throw new Error(`${(err as Error).message}${logs}`, { cause: err });
  }
  const pids = await recordedPids(stateDir);
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    ...CEPH_TEST_CREDENTIALS,
    dir: stateDir,
    pids,
    stop: () => (stopped ??= cleanup()),
  };
}
