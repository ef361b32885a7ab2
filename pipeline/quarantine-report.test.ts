import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  daily,
  defineAsset,
  defineDefinitions,
  defineSource,
  dep,
  execute,
  fromUnpartitioned,
  plan,
  StateStore,
} from '../engine/index.ts';
import { LocalFsIOManager } from '../io-managers/local-fs.ts';
import { LocalSourceIO } from '../io-managers/local-source.ts';
import { formatQuarantine, readQuarantine } from './quarantine-report.ts';

let dir: string;
let state: StateStore;
const days = { from: '2025-11-04', to: '2025-11-05' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityflow-quarantine-'));
  await mkdir(join(dir, 'data/batch'), { recursive: true });
  await writeFile(join(dir, 'data/batch/rows.csv'), 'x\n');
  const raw = defineSource({ key: 'raw_rows', locate: () => ({ prefix: 'batch', match: /\.csv$/ }) });
  // 2025-11-04: 12,000 bad rows (11,000 negative, 1,000 unparsable: more than the 10,000 a file keeps);
  // 2025-11-05: 2 bad rows; `clean` quarantines nothing.
  const noisy = defineAsset({
    key: 'noisy',
    partitions: daily(),
    schema: z.number(),
    deps: { rows: dep(raw, fromUnpartitioned()) },
    compute: (_i, ctx) => {
      const n = ctx.partitionKey === '2025-11-04' ? 12_000 : 2;
      for (let line = 1; line <= n; line++)
        ctx.reject({
          reason: line % 12 === 0 ? 'unparsable_date' : 'negative_count',
          file: 'batch/rows.csv',
          line,
          detail: `row ${line}`,
          raw: `r${line};-1`,
        });
      return n;
    },
  });
  const clean = defineAsset({ key: 'clean', partitions: daily(), schema: z.number(), compute: () => 1 });
  const defs = defineDefinitions({
    assets: [raw, noisy, clean],
    io: { default: new LocalFsIOManager({ rootDir: join(dir, 'out') }) },
    sources: new LocalSourceIO({ dataDir: join(dir, 'data') }),
  });
  state = new StateStore(join(dir, 'state'));
  const p = await plan(defs, state, { selected: new Set(['noisy', 'clean']), days });
  const r = await execute(defs, state, p, { quarantineDir: join(dir, 'out/_quarantine') });
  expect(r.status).toBe('success');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('pipeline quarantine', () => {
  it('reports exact counts per unit from the index, and the first records of the file', async () => {
    const units = await readQuarantine({ dir: join(dir, 'out/_quarantine'), state, show: 2 });
    expect(units.map((u) => [u.asset, u.partition, u.kept])).toEqual([
      ['noisy', '2025-11-04', 10_000], // the file keeps 10,000 of the 12,000
      ['noisy', '2025-11-05', 2],
    ]);
    // 12,000 rows: every 12th is unparsable_date (1,000), the other 11,000 negative_count.
    expect(units[0]!.counts).toEqual({ negative_count: 11_000, unparsable_date: 1_000 });
    expect(units[0]!.records.map((r) => r.line)).toEqual([1, 2]);
    const text = formatQuarantine(units);
    expect(text[0]).toMatch(
      /^noisy\[2025-11-04\] 12,000: negative_count 11,000, unparsable_date 1,000 .*2025-11-04\.ndjson \(first 10,000 kept\)$/,
    );
    expect(text[1]).toBe('    batch/rows.csv:1  negative_count  row 1  | r1;-1');
    expect(text.at(-1)).toBe(
      'Total: 12,002 records in 2 units (negative_count 11,002, unparsable_date 1,000)',
    );
  });

  it('filters by reason, asset and days', async () => {
    const q = { dir: join(dir, 'out/_quarantine'), state, show: 3 };
    const dates = await readQuarantine({ ...q, reason: 'unparsable_date' });
    expect(dates.map((u) => u.partition)).toEqual(['2025-11-04']); // 2025-11-05's two rows are line 1, 2
    expect(dates[0]!.records.map((r) => r.line)).toEqual([12, 24, 36]);
    expect(await readQuarantine({ ...q, days: { from: '2025-11-05', to: '2025-11-05' } })).toHaveLength(1);
    expect(await readQuarantine({ ...q, assets: new Set(['clean']) })).toEqual([]);
    expect(formatQuarantine([])).toEqual(['Nothing quarantined.']);
  });
});

describe('pipeline quarantine, unpartitioned assets', () => {
  it('reports the `all` partition, whatever days are asked', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cityflow-quarantine-all-'));
    try {
      const whole = defineAsset({
        key: 'whole',
        schema: z.number(),
        compute: (_i, ctx) => {
          ctx.reject({ reason: 'unknown_station', file: 'gbfs/status.json', line: 27, detail: '4005' });
          return 1;
        },
      });
      const defs = defineDefinitions({
        assets: [whole],
        io: { default: new LocalFsIOManager({ rootDir: join(root, 'out') }) },
        sources: new LocalSourceIO({ dataDir: join(root, 'data') }),
      });
      const st = new StateStore(join(root, 'state'));
      const p = await plan(defs, st, { selected: new Set(['whole']), days });
      await execute(defs, st, p, { quarantineDir: join(root, 'out/_quarantine') });
      const units = await readQuarantine({ dir: join(root, 'out/_quarantine'), state: st, show: 1, days });
      expect(units.map((u) => [u.asset, u.partition, u.counts])).toEqual([
        ['whole', 'all', { unknown_station: 1 }],
      ]);
      expect(formatQuarantine(units)[1]).toBe('    gbfs/status.json:27  unknown_station  4005');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
