import { existsSync, rmSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { z } from 'zod';
import {
  daily,
  defineAsset,
  defineBatchAsset,
  defineDefinitions,
  defineSource,
  dep,
  fromUnpartitioned,
  hourly,
  hourlyToDaily,
  identity,
  TransientError,
  type Definitions,
} from '../../engine/index.ts';
import { LocalFsIOManager } from '../../io-managers/local-fs.ts';
import { LocalSourceIO } from '../../io-managers/local-source.ts';

/** Settings that cross to the worker (plain data). */
/**
 * The fixture's raw data under `data`: counts for three hours (one with a bad file), lines for one of the
 * two days, and the marker that makes daily_total fail once (transient) on 2025-11-04.
 */
export async function writeFixtureData(data: string): Promise<void> {
  const counts = { '2025-11-03/hour=05': [3], '2025-11-04/hour=00': [1, -2], '2025-11-04/hour=01': [4, 8] };
  for (const [hour, ns] of Object.entries(counts)) {
    await mkdir(join(data, `counts/dt=${hour}`), { recursive: true });
    for (const [i, n] of ns.entries())
      await writeFile(join(data, `counts/dt=${hour}`, `${i}.json`), `{"n":${n}}`);
  }
  await mkdir(join(data, 'lines'), { recursive: true });
  await writeFile(join(data, 'lines/l.csv'), '2025-11-04,2\n2025-11-04,5\n');
  await writeFile(join(data, 'blip-2025-11-04'), '');
}

export interface FixtureConfig {
  dataDir: string;
  outDir: string;
  /** This day's summary fails (not transient). */
  failDay?: string;
  /** Adds `slow`, which computes until the run is cancelled (it reports progress first). */
  slow?: boolean;
}

/**
 * A small graph for the executor seam test, loaded by the test and, by URL, by each worker: hourly counts
 * from files (bad lines quarantined, an hour without files has no data), their daily total, a batch asset
 * from one CSV, and a daily summary reading both. Each compute records the thread it ran on.
 */
export default function definitions(config: FixtureConfig): Definitions {
  const rawCounts = defineSource({
    key: 'raw_counts',
    partitions: hourly(),
    locate: (p) => ({ prefix: `counts/dt=${p.slice(0, 10)}/hour=${p.slice(11)}`, match: /\.json$/ }),
  });
  const rawLines = defineSource({ key: 'raw_lines', locate: () => ({ prefix: 'lines', match: /\.csv$/ }) });

  const hourlyCounts = defineAsset({
    key: 'hourly_counts',
    partitions: hourly(),
    schema: z.object({ n: z.number() }),
    deps: { raw: rawCounts },
    checks: [{ name: 'small', blocking: false, fn: (v) => ({ status: v.n < 10 ? 'pass' : 'warn' }) }],
    compute: async (i, ctx) => {
      ctx.addMetadata({ threadId });
      let n = 0;
      for (const f of i.raw.files) {
        const v = (JSON.parse(await readFile(f.path, 'utf8')) as { n: number }).n;
        if (v < 0) ctx.reject({ reason: 'negative', file: f.key, line: 1, raw: String(v) });
        else n += v;
      }
      return { n };
    },
  });

  const dailyTotal = defineAsset({
    key: 'daily_total',
    partitions: daily(),
    schema: z.number(),
    deps: { hours: dep(hourlyCounts, hourlyToDaily()) },
    compute: (i, ctx) => {
      // A marker file makes the first attempt fail as a network blip would: the scheduler retries.
      const marker = join(config.dataDir, `blip-${ctx.partitionKey}`);
      if (existsSync(marker)) {
        rmSync(marker);
        throw new TransientError('connection reset');
      }
      ctx.addMetadata({ threadId });
      ctx.log.info(`${i.hours.length} hours`);
      ctx.progress(i.hours.length, 24, 'hours');
      return i.hours.reduce((s, h) => s + h.value.n, 0);
    },
  });

  const perDay = defineBatchAsset({
    key: 'per_day',
    partitions: daily(),
    schema: z.number(),
    deps: { lines: dep(rawLines, fromUnpartitioned()) },
    compute: async (i, ctx) => {
      const sums = new Map<string, number>();
      for (const f of i.lines.files) {
        const text = await readFile(f.path, 'utf8');
        for (const line of text.trim().split('\n')) {
          const [d, v] = line.split(',');
          sums.set(d!, (sums.get(d!) ?? 0) + Number(v));
        }
      }
      for (const p of ctx.partitionKeys) {
        const s = sums.get(p);
        await ctx.emit(p, s === undefined ? ctx.noData('no line that day') : s, { threadId });
      }
    },
  });

  const summary = defineAsset({
    key: 'summary',
    partitions: daily(),
    schema: z.string(),
    deps: { total: dailyTotal, lines: dep(perDay, identity(), { optional: true }) },
    compute: (i, ctx) => {
      if (ctx.partitionKey === config.failDay) throw new Error(`no summary for ${ctx.partitionKey}`);
      return `${i.total} counted, ${i.lines ?? 'no'} lines`;
    },
  });

  const slow = defineAsset({
    key: 'slow',
    schema: z.number(),
    compute: (_, ctx) =>
      new Promise<number>((_resolve, reject) => {
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error));
        ctx.progress(0, 1);
      }),
  });

  return defineDefinitions({
    assets: [rawCounts, rawLines, hourlyCounts, dailyTotal, perDay, summary, ...(config.slow ? [slow] : [])],
    io: { default: new LocalFsIOManager({ rootDir: config.outDir }) },
    sources: new LocalSourceIO({ dataDir: config.dataDir }),
  });
}
