/**
 * Starts AWS DynamoDB Local (the real Java implementation, from `.cache/dynamodb-local/`, fetched by
 * `scripts/fetch-dynamodb-local.sh`) on a free 127.0.0.1 port, in memory. Used by tests (global
 * setup) and benches. Stopped by the PID it spawned, never by process name.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DYNAMODB_LOCAL_DIR = process.env.DYNAMODB_LOCAL_DIR ?? join(ROOT, '.cache/dynamodb-local');
/** DynamoDB Local accepts any keys; these are not secrets. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const LOCAL_REGION = 'eu-west-3';

export interface RunningServer {
  endpoint: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

/** Asks the OS for a free TCP port on 127.0.0.1 (bind to port 0, read it back, release it). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('Could not read the port given by the OS'));
        return;
      }
      srv.close(() => resolvePort(addr.port));
    });
  });
}

async function ensureJar(): Promise<string> {
  const jar = join(DYNAMODB_LOCAL_DIR, 'DynamoDBLocal.jar');
  if (!existsSync(jar)) {
    await promisify(execFile)(join(ROOT, 'scripts/fetch-dynamodb-local.sh'), [], {
      env: { ...process.env, DYNAMODB_LOCAL_DIR },
    });
  }
  return jar;
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((res) => {
    const timer = setTimeout(() => res(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      res(true);
    });
  });
}

export async function startDynamoLocal(opts: { readyTimeoutMs?: number } = {}): Promise<RunningServer> {
  const jar = await ensureJar();
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(
    'java',
    [
      `-Djava.library.path=${join(DYNAMODB_LOCAL_DIR, 'DynamoDBLocal_lib')}`,
      '-jar',
      jar,
      '-inMemory',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    { cwd: DYNAMODB_LOCAL_DIR, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 8000) stderr += d.toString();
  });
  let spawnError: Error | undefined;
  child.once('error', (e) => (spawnError = e));

  const stop = async (): Promise<void> => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    if (!(await waitForExit(child, 5000))) {
      child.kill('SIGKILL');
      await waitForExit(child, 5000);
    }
  };

  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
  });
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  try {
    for (;;) {
      if (spawnError) throw spawnError;
      if (child.exitCode !== null)
        throw new Error(`DynamoDB Local exited with code ${child.exitCode}: ${stderr.trim()}`);
      try {
        await client.send(new ListTablesCommand({}));
        break;
      } catch {
        if (Date.now() > deadline)
          throw new Error(
            `DynamoDB Local not ready on ${endpoint} after ${opts.readyTimeoutMs ?? 60_000} ms`,
          );
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  } finally {
    client.destroy();
  }
  return { endpoint, pid: child.pid, stop };
}
