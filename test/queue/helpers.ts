/**
 * What the queue tests share: `pipeline worker` / `pipeline materialize` as child processes, a small
 * project with slow units (to kill things mid-unit), outputs and index read back for comparison.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunEvent } from '../../engine/index.ts';
import { BIN, type Finished } from '../faults/cli-process.ts';
import { writeCountsProject } from '../ui/fixture-project.ts';

/** Short lock / stall settings: a killed worker's job goes to another one within ~2 s. */
export const FAST_STALL = { QUEUE_LOCK_MS: '1500', QUEUE_STALLED_INTERVAL_MS: '500', QUEUE_MAX_STALLED: '3' };

export interface Proc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  done: Promise<Finished>;
  /** Resolves when stderr (or stdout) matches. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpExecArray>;
}

export function start(args: string[], env: NodeJS.ProcessEnv, cwd?: string): Proc {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, CI: 'true', ...env },
    ...(cwd && { cwd }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: (() => void)[] = [];
  const poke = (): void => waiters.forEach((w) => w());
  child.stdout!.on('data', (d: Buffer) => ((stdout += d.toString()), poke()));
  child.stderr!.on('data', (d: Buffer) => ((stderr += d.toString()), poke()));
  const done = new Promise<Finished>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return {
    child,
    out: () => stdout,
    err: () => stderr,
    done,
    waitFor: (re, ms = 60_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const m = re.exec(stderr) ?? re.exec(stdout);
          if (m) {
            clearTimeout(timer);
            waiters.splice(waiters.indexOf(check), 1);
            resolve(m);
          }
        };
        const timer = setTimeout(
          () => reject(new Error(`no ${re} within ${ms} ms; stderr:\n${stderr}\nstdout:\n${stdout}`)),
          ms,
        );
        waiters.push(check);
        void done.then(() => setTimeout(check, 10));
        check();
      }),
  };
}

/** `pipeline worker`, once it says it is ready. */
export async function startWorker(env: NodeJS.ProcessEnv, cwd?: string, concurrency = 1): Promise<Proc> {
  const w = start(['worker', '--concurrency', String(concurrency)], env, cwd);
  await w.waitFor(/Worker \d+ ready/);
  return w;
}

/** SIGTERM, then the exit (a worker finishes its job first). */
export async function stop(p: Proc): Promise<Finished> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  return p.done;
}

/**
 * A project with a source, `total_bikes`, six `per_city` units taking SLOW_MS each and `country`
 * summing them. A second copy with `variant` differs in per_city's code (another code version).
 */
export const slowProject = (variant = false): Promise<string> =>
  writeCountsProject('cityflow-queue-', slowConfig(variant));

const slowConfig = (variant: boolean): string => `import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { defineAsset, defineSource, dep, fanIn, staticPartitions } from 'cityflow';
import { defineConfig } from 'cityflow/config';

const CITIES = ['paris', 'lyon', 'lille', 'nice', 'nantes', 'rennes'];
const rawCounts = defineSource({ key: 'raw_counts', locate: () => ({ prefix: 'counts', match: /\\.csv$/ }) });
const totalBikes = defineAsset({
  key: 'total_bikes',
  schema: z.object({ stations: z.number(), bikes: z.number() }),
  deps: { raw: rawCounts },
  compute: async ({ raw }, ctx) => {
    let stations = 0;
    let bikes = 0;
    for (const file of raw.files) {
      const rows = (await readFile(file.path, 'utf8')).trim().split('\\n').slice(1);
      rows.forEach((row, i) => {
        const n = Number(row.split(',')[1]);
        if (Number.isInteger(n) && n >= 0) {
          stations += 1;
          bikes += n;
        } else ctx.reject({ reason: 'bad_count', file: file.key, line: i + 2, raw: row });
      });
    }
    return { stations, bikes };
  },
});
const perCity = defineAsset({
  key: 'per_city',
  partitions: staticPartitions(CITIES),
  schema: z.number(),
  deps: { total: totalBikes },
  compute: async ({ total }, ctx) => {
    ctx.log.info('computing ' + ctx.partitionKey);
    await new Promise((resolve, reject) => {
      const t = setTimeout(resolve, Number(process.env.SLOW_MS ?? 0));
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(t);
        reject(new Error('per_city ' + ctx.partitionKey + ' aborted'));
      });
    });
    return total.bikes * ${variant ? 3 : 2} + CITIES.indexOf(ctx.partitionKey);
  },
});
const country = defineAsset({
  key: 'country',
  schema: z.number(),
  deps: { cities: dep(perCity, fanIn()) },
  compute: async ({ cities }) => cities.reduce((a, c) => a + c.value, 0),
});
export default defineConfig({ assets: [rawCounts, totalBikes, perCity, country] });
`;

/** Every file under dir (relative path → text), temp files of killed writes left out. */
export async function files(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.name.includes('.tmp-') || e.name === '.cityflow-lock') continue;
      if (e.isDirectory()) await walk(join(d, e.name), join(rel, e.name));
      else out.set(join(rel, e.name), await readFile(join(d, e.name), 'utf8'));
    }
  };
  await walk(dir, '');
  return out;
}

/** The index without what differs between any two runs (when, which run, durations). */
export async function index(stateDir: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const dir = join(stateDir, 'index');
  for (const f of (await readdir(dir)).sort()) {
    const units = JSON.parse(await readFile(join(dir, f), 'utf8')) as Record<string, Record<string, unknown>>;
    out[f] = Object.fromEntries(
      Object.entries(units).map(([p, u]) => [
        p,
        { dataVersion: u.dataVersion, codeVersion: u.codeVersion, inputVersions: u.inputVersions },
      ]),
    );
  }
  return out;
}

/** A run's events from its run log. */
export async function runEvents(stateDir: string, runId: string): Promise<RunEvent[]> {
  const text = await readFile(join(stateDir, 'runs', `${runId}.jsonl`), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RunEvent);
}

/** The `--json` summary line of materialize. */
export const summary = (
  r: Finished,
): { runId: string; status: string; materialized: number; failed: number } =>
  JSON.parse(r.stdout.trim().split('\n').at(-1)!);
