/**
 * `npm run bench:e2e`: the whole road-count asset, end to end, against a DuckDB script doing the same
 * job. On the generated 1 GB file (time-ordered; with BENCH_BIG=1 also the 6 GB file in the real exports'
 * order), each in a process of its own, in one run:
 *
 * - `pipeline materialize --select comptages_arc_days --from D1 --to D2` (D1..D2: the file's days), in a
 *   fresh project laid out as cityflow.config.ts expects (DATA_DIR/batch/comptages-routiers-permanents.csv,
 *   a link to the file; OUTPUT_DIR and STATE_DIR of its own);
 * - then `pipeline materialize --select +comptages_metrics` over the same days (arc-days up to date);
 * - `node bench/e2e-duckdb.mjs`: explicit column types, day and hour from the local time text, per
 *   arc-day totals and hourly lists, one Parquet file per day.
 *
 * Wall time is measured from spawn to exit (process start included); peak RSS is the process's own
 * (process.resourceUsage().maxRSS, worker threads included) through bench/rss-probe.mjs. With
 * BENCH_BEFORE=<checkout> (e.g. an export of the commit before the Arrow intermediates, with a
 * node_modules link), the same two pipeline runs are measured on that checkout's code too, interleaved
 * with this one's, and the metrics both produce are compared day by day. BENCH_REPEAT (default 1):
 * runs per measurement, the fastest kept (the highest RSS). BENCH_E2E_SIZE (default 1GB): the size of
 * the time-ordered file (e.g. 100MB for a quick try; empty: none, with BENCH_BIG=1 the 6 GB file only).
 * The machine is shared: figures come with
 * the load average.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stableStringify } from '../engine/hash.ts';
import { generateComptages, parseSize } from './gen-comptages.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const REPO = resolve(HERE, '..');
const OUT = join(HERE, 'out');
const PROBE = join(HERE, 'rss-probe.mjs');
const DUCKDB = join(HERE, 'e2e-duckdb.mjs');
const REPEAT = Number(process.env.BENCH_REPEAT ?? 1);
const BEFORE = process.env.BENCH_BEFORE ? resolve(process.env.BENCH_BEFORE) : null;

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

interface Run {
  ms: number;
  maxRssMB: number;
  cpuMs: number;
  detail: string;
}

/** Runs `node --import probe ...args`; wall time, peak RSS; throws with stderr when it fails. */
async function timed(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Run> {
  const dir = await mkdtemp(join(tmpdir(), 'cityflow-probe-'));
  const probe = join(dir, 'probe.json');
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', PROBE, ...args], {
    cwd: opts.cwd,
    env: { ...(opts.env ?? process.env), CITYFLOW_BENCH_PROBE: probe },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = performance.now() - t0;
  if (r.status !== 0)
    throw new Error(
      `${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}${r.stdout.slice(-2000)}`,
    );
  const p = JSON.parse(await readFile(probe, 'utf8')) as { maxRssMB: number; cpuMs: number };
  await rm(dir, { recursive: true, force: true });
  const summary =
    r.stdout.split('\n').findLast((l) => l.includes(' run ') && l.includes('materialized=')) ??
    r.stdout.trim().split('\n').at(-1) ??
    '';
  return { ms, ...p, detail: summary.replace(/^.*?■ /, '') };
}

/** The generated file (once, seed 42; shared with `npm run bench`). */
async function benchFile(size: string, order: 'time' | 'export'): Promise<string> {
  const path = join(OUT, `comptages-${size}${order === 'time' ? '' : `-${order}`}.csv`);
  if (!existsSync(path)) {
    console.log(`generating ${path} …`);
    await generateComptages({ sizeBytes: parseSize(size), out: path, seed: 42, order });
  }
  return path;
}

/** First and last day of the file, from 400 samples of 64 KB spread over it (days are dense, so enough). */
function dayRange(path: string): [string, string] {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(64 * 1024);
  let min = '9999';
  let max = '0000';
  try {
    for (let i = 0; i <= 400; i++) {
      const n = readSync(
        fd,
        buf,
        0,
        buf.length,
        Math.max(0, Math.min(size - buf.length, Math.floor((size * i) / 400))),
      );
      for (const m of buf
        .subarray(0, n)
        .toString('latin1')
        .matchAll(/;(\d{4}-\d{2}-\d{2})T\d{2}:/g)) {
        if (m[1]! < min) min = m[1]!;
        if (m[1]! > max) max = m[1]!;
      }
    }
  } finally {
    closeSync(fd);
  }
  return [min, max];
}

/** A fresh project for one checkout: the file linked where the config looks for it. */
async function project(file: string): Promise<{ root: string; env: NodeJS.ProcessEnv }> {
  const root = await mkdtemp(join(tmpdir(), 'cityflow-e2e-'));
  await mkdir(join(root, 'data', 'batch'), { recursive: true });
  await symlink(file, join(root, 'data', 'batch', 'comptages-routiers-permanents.csv'));
  return {
    root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      CI: 'true',
      DATA_DIR: join(root, 'data'),
      OUTPUT_DIR: join(root, 'output'),
      STATE_DIR: join(root, 'state'),
    },
  };
}

const fmt = (label: string, r: Run): string =>
  `${label.padEnd(34)} ${(r.ms / 1000).toFixed(2).padStart(7)} s  ${String(r.maxRssMB).padStart(5)} MB peak RSS  ` +
  `${(r.cpuMs / 1000).toFixed(1).padStart(6)} s CPU  ${r.detail}`;

/** The metrics documents of a project's output, canonical JSON per day. */
async function metricsOf(root: string): Promise<Map<string, string>> {
  const dir = join(root, 'output', 'comptages_metrics');
  const out = new Map<string, string>();
  for (const f of (await readdir(dir)).filter((f) => f.endsWith('.json')).sort())
    out.set(f, stableStringify(JSON.parse(await readFile(join(dir, f), 'utf8'))));
  return out;
}

const best = (runs: Run[]): Run => ({
  ...runs.reduce((a, b) => (b.ms < a.ms ? b : a)),
  maxRssMB: Math.max(...runs.map((r) => r.maxRssMB)),
});

const checkouts: { name: string; dir: string }[] = [
  { name: 'this checkout', dir: REPO },
  ...(BEFORE ? [{ name: `before (${BEFORE})`, dir: BEFORE }] : []),
];

console.log(
  `node ${process.version}, ${availableParallelism()} cores, load average ${load()}, ` +
    `${REPEAT === 1 ? 'one run each' : `fastest of ${REPEAT}`}`,
);
// Compiles each checkout's CLI and config once (esbuild, cached), outside the measured runs.
for (const c of checkouts) {
  const p = await project(join(c.dir, 'package.json'));
  spawnSync(process.execPath, [join(c.dir, 'pipeline/bin.mjs'), 'list'], {
    cwd: c.dir,
    env: p.env,
    stdio: 'ignore',
  });
  await rm(p.root, { recursive: true, force: true });
}

const files: { size: string; order: 'time' | 'export' }[] = [
  ...(process.env.BENCH_E2E_SIZE === ''
    ? []
    : [{ size: process.env.BENCH_E2E_SIZE ?? '1GB', order: 'time' as const }]),
  ...(process.env.BENCH_BIG === '1' ? [{ size: '6GB', order: 'export' as const }] : []),
];
for (const { size, order } of files) {
  const file = await benchFile(size, order);
  const [from, to] = dayRange(file);
  console.log(
    `\n== ${size} ${order === 'time' ? 'time-ordered' : 'export order'}: ${file}, days ${from} … ${to}`,
  );
  const duck: Run[] = [];
  const arc = new Map<string, Run[]>(checkouts.map((c) => [c.name, []]));
  const met = new Map<string, Run[]>(checkouts.map((c) => [c.name, []]));
  const metrics = new Map<string, Map<string, string>>();
  for (let i = 0; i < REPEAT; i++) {
    const out = await mkdtemp(join(tmpdir(), 'cityflow-duckdb-'));
    duck.push(await timed([DUCKDB, file, join(out, 'arc_days')], { cwd: REPO }));
    await rm(out, { recursive: true, force: true });
    console.log(`  duckdb: ${(duck.at(-1)!.ms / 1000).toFixed(2)} s, load ${load()}`);
    for (const c of checkouts) {
      const p = await project(file);
      const bin = join(c.dir, 'pipeline/bin.mjs');
      const range = ['--from', from, '--to', to, '--no-tui'];
      arc.get(c.name)!.push(
        await timed([bin, 'materialize', '--select', 'comptages_arc_days', ...range], {
          cwd: c.dir,
          env: p.env,
        }),
      );
      met.get(c.name)!.push(
        await timed([bin, 'materialize', '--select', '+comptages_metrics', ...range], {
          cwd: c.dir,
          env: p.env,
        }),
      );
      console.log(
        `  ${c.name}: arc-days ${(arc.get(c.name)!.at(-1)!.ms / 1000).toFixed(2)} s, metrics ${(met.get(c.name)!.at(-1)!.ms / 1000).toFixed(2)} s, load ${load()}`,
      );
      if (i === 0) metrics.set(c.name, await metricsOf(p.root));
      await rm(p.root, { recursive: true, force: true });
    }
  }
  const d = best(duck);
  console.log(fmt('duckdb script (Parquet per day)', d));
  for (const c of checkouts) {
    const a = best(arc.get(c.name)!);
    console.log(fmt(`${c.name}: comptages_arc_days`, a));
    console.log(fmt(`${c.name}: +comptages_metrics`, best(met.get(c.name)!)));
    console.log(
      `  ${c.name}: arc-days ${(d.ms / a.ms).toFixed(2)}× DuckDB's speed (target ≥ 1.5×), peak RSS ${a.maxRssMB} MB (target ≤ 200 MB)`,
    );
  }
  if (BEFORE) {
    const [x, y] = [metrics.get(checkouts[0]!.name)!, metrics.get(checkouts[1]!.name)!];
    const differ = [...new Set([...x.keys(), ...y.keys()])].filter((k) => x.get(k) !== y.get(k));
    console.log(
      differ.length
        ? `!! metrics differ from the before checkout's on ${differ.length} days: ${differ.slice(0, 5).join(', ')}`
        : `metrics identical to the before checkout's on all ${x.size} days (canonical JSON)`,
    );
  }
  console.log(`load average after: ${load()}`);
}
