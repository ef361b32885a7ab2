/**
 * `npm run bench`: road-count throughput and peak memory of CityFlow's fast reader against DuckDB on
 * the same generated file and the same aggregation (per arc and Paris day: flow sum, row count, mean
 * occupancy). Sizes 100 MB and 1 GB (plus 6 GB with BENCH_BIG=1) time-ordered, and 1 GB (6 GB) in the
 * real exports' order (days interleaved); files are generated once under
 * bench/out/ (git-ignored) with a fixed seed. Each measurement runs in its own process (bench/measure.ts)
 * so its peak RSS (process.resourceUsage().maxRSS, worker threads included) is its own; the fastest of
 * BENCH_REPEAT runs is reported (the 2-core machine is shared), with the highest RSS seen.
 * CityFlow is measured as the asset uses it (every day's ArcDay[] built one day at a time, then dropped),
 * with the compiled reader the pipeline command runs (BENCH_TSX=1: the TypeScript sources); the output
 * says which.
 *
 * Then values off the fast path: the same rows with decimal flows (`583.1` instead of `583.0`,
 * gen-comptages --flows decimal) against the common form, runs interleaved (common, decimal, common, …)
 * so a loaded machine slows both alike; time and peak RSS of each, and the time ratio (target ≤ 1.5×).
 * Sizes: BENCH_DECIMAL_SIZES (comma-separated), default 100MB, or 100MB,1GB with BENCH_BIG=1;
 * BENCH_DECIMAL_ONLY=1 runs this part alone (no DuckDB comparison).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { generateComptages, parseSize } from './gen-comptages.ts';
import type { Measurement } from './measure.ts';

const OUT = fileURLToPath(new URL('./out/', import.meta.url));
const MEASURE = fileURLToPath(new URL('./measure.ts', import.meta.url));
/**
 * Files: size and row order. `export`: days interleaved in short runs, the order of the real exports
 * (see gen-comptages.ts); the others are time-ordered (shuffled within 3-hour blocks).
 */
const files: { size: string; order: 'time' | 'export' }[] =
  process.env.BENCH_DECIMAL_ONLY === '1'
    ? []
    : [
        { size: '100MB', order: 'time' },
        { size: '1GB', order: 'time' },
        { size: '1GB', order: 'export' },
        ...(process.env.BENCH_BIG === '1'
          ? [
              { size: '6GB', order: 'time' as const },
              { size: '6GB', order: 'export' as const },
            ]
          : []),
      ];

/** The machine is shared: each measurement is repeated (BENCH_REPEAT, default 3) and the fastest run kept. */
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);

/** One measurement in a process of its own. */
function measureOnce(engine: string, path: string): Measurement {
  const out = execFileSync(process.execPath, ['--import', 'tsx', MEASURE, engine, path], {
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Measurement;
}

function measure(engine: string, path: string): Measurement {
  let best: Measurement | null = null;
  let maxRss = 0;
  const times: string[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const m = measureOnce(engine, path);
    times.push((m.ms / 1000).toFixed(2));
    maxRss = Math.max(maxRss, m.maxRssMB);
    if (!best || m.ms < best.ms) best = m;
  }
  console.log(
    `  ${engine} runs: ${times.join(' / ')} s${best!.reader ? ` (reader: ${best!.reader})` : ''}, load ${load()}`,
  );
  return { ...best!, maxRssMB: maxRss };
}

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

console.log(
  `node ${process.version}, ${availableParallelism()} cores, load average ${load()}, ` +
    `fastest of ${REPEAT}; CityFlow reader: ${
      process.env.BENCH_TSX === '1' ? 'TypeScript sources (tsx)' : 'compiled (pipeline/compile.mjs)'
    }`,
);

const mbps = (m: Measurement): number => m.bytes / 1e6 / (m.ms / 1000);
const fmt = (m: Measurement): string =>
  `${m.engine.padEnd(14)} ${(m.ms / 1000).toFixed(2).padStart(7)} s ${mbps(m).toFixed(1).padStart(7)} MB/s ` +
  `${Math.round(m.rows / (m.ms / 1000))
    .toLocaleString('en')
    .padStart(11)} rows/s ` +
  `${String(m.maxRssMB).padStart(5)} MB peak RSS  ${m.groups.toLocaleString('en')} arc-days`;

/** The generated file of a size, order and flow form (generated once, seed 42). */
async function benchFile(
  size: string,
  order: 'time' | 'export',
  flows: 'integer' | 'decimal' = 'integer',
): Promise<string> {
  const label = [size, ...(order === 'time' ? [] : [order]), ...(flows === 'integer' ? [] : [flows])];
  const path = `${OUT}comptages-${label.join('-')}.csv`;
  if (!existsSync(path)) {
    console.log(`generating ${path} …`);
    await generateComptages({ sizeBytes: parseSize(size), out: path, seed: 42, order, flows });
  }
  return path;
}

for (const { size, order } of files) {
  const label = order === 'time' ? size : `${size}-${order}`;
  const path = await benchFile(size, order);
  console.log(`\n== ${label}, ${order === 'time' ? 'time-ordered' : 'export order'} (${path})`);
  const duck = measure('duckdb', path);
  console.log(fmt(duck));
  const city = measure('cityflow', path);
  console.log(fmt(city));
  if (city.phases) {
    const p = city.phases;
    console.log(
      `  cityflow phases (fastest run): scan ${p.scanMs} ms, aggregate ${p.aggregateMs} ms, ` +
        `ArcDay records ${p.takeMs} ms, other ${p.otherMs} ms (+ process start and module loading)`,
    );
  }
  const floor = measure('cityflow-1day', path);
  console.log(fmt(floor));
  if (city.groups !== duck.groups) console.log(`!! group counts differ: ${city.groups} vs ${duck.groups}`);
  console.log(
    `ratio CityFlow/DuckDB throughput ${(mbps(city) / mbps(duck)).toFixed(2)}× (target ≥ 1.2×), ` +
      `peak RSS ${city.maxRssMB} MB (target ≤ 200 MB)`,
  );
}

const decimalSizes = (
  process.env.BENCH_DECIMAL_SIZES ?? (process.env.BENCH_BIG === '1' ? '100MB,1GB' : '100MB')
)
  .split(',')
  .map((x) => x.trim())
  .filter((x) => x !== '');
for (const size of decimalSizes) {
  const common = await benchFile(size, 'time');
  const decimal = await benchFile(size, 'time', 'decimal');
  console.log(`\n== ${size}, time-ordered: flows 583.0 (common form) against 583.1 (decimal), interleaved`);
  const runs: { common: Measurement; decimal: Measurement }[] = [];
  for (let i = 0; i < REPEAT; i++) {
    runs.push({ common: measureOnce('cityflow', common), decimal: measureOnce('cityflow', decimal) });
    const r = runs.at(-1)!;
    console.log(
      `  pair ${i + 1}: common ${(r.common.ms / 1000).toFixed(2)} s ${r.common.maxRssMB} MB, ` +
        `decimal ${(r.decimal.ms / 1000).toFixed(2)} s ${r.decimal.maxRssMB} MB, ` +
        `ratio ${(r.decimal.ms / r.common.ms).toFixed(2)}× (CPU time ${r.common.cpuMs} / ` +
        `${r.decimal.cpuMs} ms: ${(r.decimal.cpuMs / r.common.cpuMs).toFixed(2)}×), load ${load()}`,
    );
  }
  const best = (form: 'common' | 'decimal'): Measurement => {
    const ms = runs.map((r) => r[form]);
    const fastest = ms.reduce((a, b) => (b.ms < a.ms ? b : a));
    return { ...fastest, maxRssMB: Math.max(...ms.map((m) => m.maxRssMB)) };
  };
  const [c, d] = [best('common'), best('decimal')];
  for (const [name, m] of [
    ['common', c],
    ['decimal', d],
  ] as const) {
    const p = m.phases;
    console.log(
      `${fmt({ ...m, engine: `cityflow ${name}` })}` +
        (p ? `  (scan ${p.scanMs} / aggregate ${p.aggregateMs} / ArcDay[] ${p.takeMs} ms)` : ''),
    );
  }
  if (c.groups !== d.groups || c.rows !== d.rows) console.log(`!! rows or arc-days differ`);
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const cpu = (form: 'common' | 'decimal'): number => runs.reduce((n, r) => n + r[form].cpuMs, 0);
  console.log(
    `decimal / common time: fastest ${(d.ms / c.ms).toFixed(2)}×, pairs median ` +
      `${median(runs.map((r) => r.decimal.ms / r.common.ms)).toFixed(2)}× (target ≤ 1.5×); ` +
      `CPU time of all runs ${(cpu('decimal') / cpu('common')).toFixed(2)}×; ` +
      `peak RSS ${d.maxRssMB} vs ${c.maxRssMB} MB`,
  );
}
