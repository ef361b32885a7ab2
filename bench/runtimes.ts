/**
 * `npm run bench:runtimes`: the same benches on this machine's Node and on another Node line, in
 * interleaved pairs (20, 24, 20, 24, …) so that the load of a shared machine falls on both.
 *
 * The other Node is `NODE_ALT` (a path to its binary), or else the `node@24` package of the npm registry,
 * installed once into bench/out/node24 (`npm install --prefix`, the package ships the binary).
 * Benches, each in a process of its own (BENCH_REPEAT pairs, default 3):
 * - `reader`: bench/measure.ts on bench/out/comptages-100MB.csv (`npm run bench` generates it), the
 *   compiled fast reader as the `pipeline` command runs it: wall, CPU, peak RSS;
 * - `engine`: bench/engine-overhead.ts (plan of 2,000 assets × 365 days, scheduling overhead per unit);
 * - `no-op`: `pipeline materialize --all` on the bundled sample once built (72 units skipped), spawn to
 *   exit, CPU from GNU time when there.
 * Prints each run and the median of each side; the README recommends the faster line.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const load = () => loadavg()[0]!.toFixed(1);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function altNode(): string {
  if (process.env.NODE_ALT) return process.env.NODE_ALT;
  const prefix = join(ROOT, 'bench', 'out', 'node24');
  const bin = join(prefix, 'node_modules', '.bin', 'node');
  if (!existsSync(bin))
    execFileSync('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--no-save', 'node@24'], {
      stdio: 'inherit',
    });
  return bin;
}

/** Runs a command under GNU time when available: its wall time (ms), CPU (ms) and stdout. */
function timed(
  node: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): { ms: number; cpuMs?: number; out: string } {
  const t0 = performance.now();
  const cmd = TIME ? [TIME, '-f', 'cpu %U %S', node, ...args] : [node, ...args];
  const r = spawnSync(cmd[0]!, cmd.slice(1), { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const m = /cpu ([\d.]+) ([\d.]+)/.exec(r.stderr);
  return { ms, cpuMs: m ? (Number(m[1]) + Number(m[2])) * 1000 : undefined, out: r.stdout };
}

type Figures = Record<string, number>;

const benches: Record<string, (node: string, env: NodeJS.ProcessEnv) => Figures> = {
  reader(node, env) {
    const file = join(ROOT, 'bench', 'out', 'comptages-100MB.csv');
    const { out } = timed(node, ['--import', 'tsx', 'bench/measure.ts', 'cityflow', file], env);
    const m = JSON.parse(out.trim().split('\n').at(-1)!) as { ms: number; cpuMs: number; maxRssMB: number };
    return { 'read 100 MB (ms)': m.ms, 'read CPU (ms)': m.cpuMs, 'peak RSS (MB)': m.maxRssMB };
  },
  engine(node, env) {
    const { out } = timed(node, ['--import', 'tsx', 'bench/engine-overhead.ts'], {
      ...env,
      BENCH_EXEC_DAYS: '10',
    });
    const plan = /plan (\d+) ms/.exec(out);
    const perUnit = /→ (\d+) µs per unit/.exec(out);
    if (!plan || !perUnit) throw new Error(`unexpected engine bench output:\n${out}`);
    return { 'plan 730k units (ms)': Number(plan[1]), 'execute (µs/unit)': Number(perUnit[1]) };
  },
  'no-op'(node, env) {
    const r = timed(node, ['pipeline/bin.mjs', 'materialize', '--all', '--json'], env);
    const s = JSON.parse(r.out) as { skipped?: number; materialized?: number };
    if (s.materialized !== 0) throw new Error(`the no-op run built ${s.materialized} units`);
    return { 'sample no-op (ms)': r.ms, ...(r.cpuMs !== undefined && { 'no-op CPU (ms)': r.cpuMs }) };
  },
};

const nodes = [process.execPath, altNode()];
const versions = nodes.map((n) => execFileSync(n, ['--version'], { encoding: 'utf8' }).trim());
console.log(`Node ${versions.join(' vs ')} · ${REPEAT} interleaved pairs · load ${load()}`);

const dir = await mkdtemp(join(tmpdir(), 'cityflow-runtimes-'));
try {
  const env = {
    ...process.env,
    OUTPUT_DIR: join(dir, 'output'),
    STATE_DIR: join(dir, 'state'),
    NO_COLOR: '1',
  };
  timed(process.execPath, ['pipeline/bin.mjs', 'materialize', '--all', '--json'], env); // builds the sample once
  const only = process.env.BENCH_ONLY?.split(',');
  for (const [name, run] of Object.entries(benches)) {
    if (only && !only.includes(name)) continue;
    const runs: Figures[][] = [[], []];
    for (let i = 0; i < REPEAT; i++)
      nodes.forEach((n, k) => {
        const f = run(n, env);
        runs[k]!.push(f);
        const text = Object.entries(f).map(([key, v]) => `${key} ${v.toFixed(0)}`);
        console.log(`  ${name} ${versions[k]} (load ${load()}): ${text.join(' · ')}`);
      });
    for (const key of Object.keys(runs[0]![0]!)) {
      const [a, b] = runs.map((rs) => median(rs.map((f) => f[key]!)));
      console.log(`${name}: ${key} median ${versions[0]} ${a!.toFixed(0)} · ${versions[1]} ${b!.toFixed(0)}`);
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
