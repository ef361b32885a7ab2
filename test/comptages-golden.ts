/**
 * The `comptages_metrics` documents the pipeline produces for a data folder, as canonical JSON (sorted
 * keys) per day: what `test/comptages-columnar.test.ts` compares with the goldens in
 * `test/fixtures/comptages-golden/`, written by the JSON arc-days of commit ddbc118
 * (`npx tsx test/comptages-golden.ts` regenerates them from the current code).
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stableStringify } from '../engine/hash.ts';

const REPO = join(import.meta.dirname, '..');
const BIN = join(REPO, 'pipeline', 'bin.mjs');

/** Datasets: the bundled sample, and each road-count fixture alone in a batch folder. */
export const DATASETS: Record<string, { dir?: string; csv?: string; range: [string, string] }> = {
  sample: { dir: join(REPO, 'data'), range: ['2025-10-28', '2025-11-06'] },
  'bad-rows': {
    csv: join(REPO, 'test/fixtures/comptages/bad-rows.csv'),
    range: ['2024-03-03', '2024-03-05'],
  },
  'dst-offsets': {
    csv: join(REPO, 'test/fixtures/comptages/dst-offsets.csv'),
    range: ['2024-03-30', '2024-10-28'],
  },
  'dst-wallclock': {
    csv: join(REPO, 'test/fixtures/comptages/dst-wallclock.csv'),
    range: ['2024-10-26', '2024-10-28'],
  },
};

/** Runs `materialize --select +comptages_metrics` in a scratch project; day → canonical JSON of the metrics. */
export async function metricsOf(name: string): Promise<Record<string, string>> {
  const ds = DATASETS[name]!;
  const root = await mkdtemp(join(tmpdir(), 'cityflow-golden-'));
  try {
    const data = join(root, 'data');
    if (ds.dir) await cp(ds.dir, data, { recursive: true });
    else {
      await mkdir(join(data, 'batch'), { recursive: true });
      await cp(ds.csv!, join(data, 'batch', 'comptages-routiers-permanents.csv'));
    }
    await promisify(execFile)(
      process.execPath,
      [
        BIN,
        'materialize',
        '--select',
        '+comptages_metrics',
        '--from',
        ds.range[0],
        '--to',
        ds.range[1],
        '--no-tui',
      ],
      {
        cwd: REPO,
        env: {
          PATH: process.env.PATH,
          HOME: root,
          CI: 'true',
          DATA_DIR: data,
          OUTPUT_DIR: join(root, 'output'),
          STATE_DIR: join(root, 'state'),
        },
      },
    );
    const dir = join(root, 'output', 'comptages_metrics');
    const out: Record<string, string> = {};
    for (const f of (await readdir(dir).catch(() => [])).filter((f) => f.endsWith('.json')).sort())
      out[f.slice(0, -5)] = stableStringify(JSON.parse(await readFile(join(dir, f), 'utf8')));
    return out;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

export const goldenPath = (name: string): string =>
  join(REPO, 'test/fixtures/comptages-golden', `${name}.json`);

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  for (const name of Object.keys(DATASETS)) {
    const m = await metricsOf(name);
    await writeFile(goldenPath(name), JSON.stringify(m, null, 1) + '\n');
    console.log(name, Object.keys(m).length, 'days');
  }
}
