/**
 * A small project for the UI tests, in a temp folder: a CSV source, an asset with a check and a
 * quarantined row (with automation declared: eager, a cron schedule, freshness), a statically partitioned asset whose units take SLOW_MS each (to watch and cancel
 * runs), and one project page. `pipeline ui` runs on it as a real child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'pipeline', 'bin.mjs');

const CONFIG = `import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { defineAsset, defineSource, eager, freshness, onCron, staticPartitions } from 'cityflow';
import { defineConfig } from 'cityflow/config';

const rawCounts = defineSource({ key: 'raw_counts', locate: () => ({ prefix: 'counts', match: /\\.csv$/ }) });
const totalBikes = defineAsset({
  key: 'total_bikes',
  group: 'counts',
  schema: z.object({ stations: z.number(), bikes: z.number() }),
  deps: { raw: rawCounts },
  checks: [{ name: 'some_bikes', fn: (v) => ({ status: v.bikes > 0 ? 'pass' : 'fail' }) }],
  automation: [eager(), onCron('0 6 * * *', { partitions: 'latest' }), freshness({ maxLag: '26h' })],
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
  group: 'cities',
  partitions: staticPartitions(['paris', 'lyon', 'lille', 'nice', 'nantes', 'rennes']),
  schema: z.number(),
  deps: { total: totalBikes },
  compute: async ({ total }) => {
    await new Promise((r) => setTimeout(r, Number(process.env.SLOW_MS ?? 0)));
    return total.bikes;
  },
});
export default defineConfig({
  assets: [rawCounts, totalBikes, perCity],
  pages: [
    {
      id: 'summary',
      title: 'Summary',
      asset: 'total_bikes',
      render: (v, partition) => '<!doctype html><title>' + partition + '</title><p id="v">' + JSON.stringify(v) + '</p>',
    },
  ],
});
`;

export interface UiProject {
  dir: string;
  url: string;
  token: string;
  child: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

export const makeProject = (): Promise<string> => writeCountsProject('cityflow-ui-', CONFIG);

/**
 * A temp project folder with `config` as its cityflow.config.ts, `zod` linked into its node_modules and
 * the counts CSV (one bad row) under data/counts. Shared by the UI, lock and queue fixtures.
 */
export async function writeCountsProject(prefix: string, config: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await mkdir(join(dir, 'data', 'counts'), { recursive: true });
  await mkdir(join(dir, 'node_modules'));
  await symlink(
    join(import.meta.dirname, '..', '..', 'node_modules', 'zod'),
    join(dir, 'node_modules', 'zod'),
  );
  await writeFile(join(dir, 'data', 'counts', 'today.csv'), 'station,bikes\nA,3\nB,5\nC,-1\n');
  await writeFile(join(dir, 'cityflow.config.ts'), config);
  return dir;
}

/** `pipeline ui --port 0` (plus `args`) in `dir`; resolves once it prints its URL. */
export async function startUiProcess(
  dir: string,
  env: NodeJS.ProcessEnv = {},
  args: string[] = [],
): Promise<UiProject> {
  const child = spawn(process.execPath, [BIN, 'ui', '--port', '0', ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir, CI: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pipeline ui did not start: ${err}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /CityFlow UI on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`pipeline ui exited with ${code}: ${err}`));
    });
  });
  const page = await (await fetch(url)).text();
  const token = /name="cityflow-token" content="([^"]+)"/.exec(page)![1]!;
  return {
    dir,
    url,
    token,
    child,
    stderr: () => err,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export const removeProject = (dir: string) => rm(dir, { recursive: true, force: true });
