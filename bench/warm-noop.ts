/**
 * `npm run bench:warm`: the sample's no-op (`pipeline materialize --all --json`, 72 units skipped) started
 * fresh and run by a warm process (PIPELINE_WARM=1), in interleaved pairs, on this machine's Node or on
 * `BENCH_NODE` (a path to another node binary). Both go through the same shell pipe (`… 2>&1 | cat`), as
 * a command typed in a terminal or piped in a script: a warm process writes to the caller's terminal or
 * pipe, so output captured by a parent's socket pair or sent to a regular file always starts fresh.
 * Each round waits until the warm process is ready (its PID file; it starts when the previous command
 * ends and loads for ≈ 0.3–0.5 s), then runs both. Prints each run, the medians and the target (< 300 ms).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = Number(process.env.BENCH_REPEAT ?? 11);
const NODE = process.env.BENCH_NODE ?? process.execPath;
const load = () => loadavg()[0]!.toFixed(1);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** `pipeline materialize --all --json 2>&1 | cat` in bash: wall time (ms) and the summary line. */
function noop(env: NodeJS.ProcessEnv, expectBuilt = 0): number {
  const script = 'set -o pipefail; "$@" 2>&1 | cat';
  const args = ['-c', script, 'bash', NODE, 'pipeline/bin.mjs', 'materialize', '--all', '--json'];
  const t0 = performance.now();
  const r = spawnSync('bash', args, { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`the no-op failed (${r.status}): ${r.stdout.slice(-2000)}`);
  const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { materialized?: number };
  if (summary.materialized !== expectBuilt) throw new Error(`the run built ${summary.materialized} units`);
  return ms;
}

/** Waits (up to 10 s) for a warm process of this runtime dir to be ready: a PID file of its own. */
function waitReady(warmDir: string): void {
  for (let i = 0; i < 200; i++) {
    if (existsSync(warmDir) && readdirSync(warmDir).some((n) => n.endsWith('.pid'))) return;
    sleep(50);
  }
  throw new Error('no warm process became ready');
}

const version = execFileSync(NODE, ['--version'], { encoding: 'utf8' }).trim();
const dir = await mkdtemp(join(tmpdir(), 'cityflow-warm-bench-'));
const runtimeDir = join(dir, 'run');
const env = {
  ...process.env,
  OUTPUT_DIR: join(dir, 'output'),
  STATE_DIR: join(dir, 'state'),
  NO_COLOR: '1',
  XDG_RUNTIME_DIR: runtimeDir,
};
const warmEnv = { ...env, PIPELINE_WARM: '1' };
mkdirSync(runtimeDir, { mode: 0o700 });
console.log(`Node ${version} · ${ROUNDS} interleaved pairs · load ${load()}`);
try {
  noop(env, 72); // builds the sample once
  noop(warmEnv); // no warm process yet: runs fresh, and starts one
  const fresh: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // Both runs start with the warm process ready: its start after the previous warm run takes a core
    // for ≈ 0.3 s, which would slow whatever runs meanwhile.
    waitReady(join(runtimeDir, 'cityflow-warm'));
    const f = noop(env);
    const w = noop(warmEnv);
    fresh.push(f);
    warm.push(w);
    console.log(`  round ${i + 1} (load ${load()}): fresh ${f.toFixed(0)} ms · warm ${w.toFixed(0)} ms`);
  }
  const range = (xs: number[]) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
  console.log(`fresh start: median ${median(fresh).toFixed(0)} ms [${range(fresh)}]`);
  console.log(`warm process: median ${median(warm).toFixed(0)} ms [${range(warm)}] (target < 300 ms)`);
} finally {
  spawnSync(NODE, ['pipeline/bin.mjs', 'warm', 'stop'], { cwd: ROOT, env });
  await rm(dir, { recursive: true, force: true });
}
