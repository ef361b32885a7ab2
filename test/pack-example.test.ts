/**
 * CityFlow as a dependency, the way a new user gets it: `npm pack` (its prepack builds the type
 * declarations), the tarball unpacked as `node_modules/cityflow` of a fresh project outside the
 * repository, examples/velib copied there, then `tsc --noEmit` (strict), `pipeline materialize --all`
 * and `pipeline why` run through the package's own `bin`.
 *
 * Offline and CI-proof: the tarball's dependencies are not fetched from the registry but linked from this
 * repository's node_modules (installed by `npm ci`): only the packages cityflow's `dependencies` (and the
 * example's) reach in package-lock.json, so a package the published code imports without declaring it
 * fails here.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const REPO = join(import.meta.dirname, '..');
const EXAMPLE = join(REPO, 'examples/velib');

let work: string;
let proj: string;
let packed: string[];

interface Lock {
  packages: Record<
    string,
    {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
    }
  >;
}

/** Top-level packages of the lockfile that `roots` reach through their dependencies. */
function closure(lock: Lock, roots: string[]): Set<string> {
  const seen = new Set<string>();
  const queue = [...roots];
  while (queue.length) {
    const name = queue.pop()!;
    const entry = lock.packages[`node_modules/${name}`];
    if (seen.has(name) || !entry) continue; // an optional dependency not installed on this platform
    seen.add(name);
    queue.push(
      ...Object.keys({ ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies }),
    );
  }
  return seen;
}

const env = (cwd: string): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: cwd, CI: 'true' });

/** The package's `pipeline` bin, as npm links it, run in `cwd`. */
async function pipeline(
  cwd: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [join(proj, 'node_modules/.bin/pipeline'), ...args], {
      cwd,
      env: env(cwd),
    });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function tsc(): Promise<{ code: number; out: string }> {
  try {
    const r = await run(process.execPath, [join(proj, 'node_modules/typescript/bin/tsc'), '--noEmit'], {
      cwd: proj,
    });
    return { code: 0, out: r.stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, out: e.stdout };
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'cityflow-pack-'));
  proj = join(work, 'velib');
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: REPO,
    maxBuffer: 64 * 1024 * 1024,
  });
  // Lifecycle banners may precede the JSON report.
  const report = JSON.parse(stdout.slice(stdout.search(/^\[/m))) as {
    filename: string;
    files: { path: string }[];
  }[];
  packed = report[0]!.files.map((f) => f.path);

  await cp(EXAMPLE, proj, {
    recursive: true,
    filter: (p) => !/[\\/](node_modules|output|\.cityflow)$/.test(p),
  });
  const nm = join(proj, 'node_modules');
  await mkdir(join(nm, 'cityflow'), { recursive: true });
  await run('tar', [
    '-xzf',
    join(work, report[0]!.filename),
    '-C',
    join(nm, 'cityflow'),
    '--strip-components=1',
  ]);

  const lock = JSON.parse(await readFile(join(REPO, 'package-lock.json'), 'utf8')) as Lock;
  const cityflowPkg = JSON.parse(await readFile(join(nm, 'cityflow/package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    bin: Record<string, string>;
  };
  const examplePkg = JSON.parse(await readFile(join(proj, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  const roots = [
    ...Object.keys(cityflowPkg.dependencies),
    ...Object.keys({ ...examplePkg.dependencies, ...examplePkg.devDependencies }).filter(
      (n) => n !== 'cityflow',
    ),
  ];
  for (const name of closure(lock, roots)) {
    await mkdir(join(nm, name, '..'), { recursive: true });
    await symlink(join(REPO, 'node_modules', name), join(nm, name), 'junction');
  }
  await mkdir(join(nm, '.bin'));
  await symlink(join('..', 'cityflow', cityflowPkg.bin.pipeline!), join(nm, '.bin/pipeline'));
}, 240_000);
afterAll(() => rm(work, { recursive: true, force: true }));

describe('the packed tarball, installed in a fresh project with the Vélib example', () => {
  it('is lean: type declarations and sources, no data, tests, benchmarks or Paris assets', () => {
    expect(packed).toContain('dist/engine/index.d.ts');
    expect(packed).toContain('dist/pipeline/define-config.d.ts');
    expect(packed).toContain('pipeline/bin.mjs');
    expect(packed).toContain('engine/asset.ts');
    const top = new Set(packed.map((p) => p.split('/')[0]));
    for (const dir of ['data', 'test', 'bench', 'assets', 'examples', 'docs', 'scripts'])
      expect(top).not.toContain(dir);
    expect(packed.filter((p) => /\.test(-d)?\.tsx?$|fixtures\//.test(p))).toEqual([]);
  });

  it('type-checks strictly against the published declarations: only a planted typo is an error', async () => {
    // One tsc run: the example is clean, and the types really come from the package (a misspelled field
    // of an input is caught).
    const typo = join(proj, 'src/typo.ts');
    await writeFile(
      typo,
      [
        "import { z } from 'zod';",
        "import { defineAsset } from 'cityflow';",
        "import { hourlyOccupancy } from './occupancy/asset.ts';",
        'export const broken = defineAsset({',
        "  key: 'broken',",
        '  schema: z.number(),',
        '  deps: { occupancy: hourlyOccupancy },',
        '  compute: ({ occupancy }) => occupancy[0]!.occupancyy,',
        '});',
        '',
      ].join('\n'),
    );
    const r = await tsc();
    await rm(typo);
    expect(r.code).not.toBe(0);
    const errors = r.out.split('\n').filter((l) => /error TS\d+/.test(l));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^src\/typo\.ts\(8,\d+\): error TS2551: Property 'occupancyy' does not exist/);
  }, 120_000);

  it('materializes the example, then nothing, and `why` explains the ranking', async () => {
    const first = await pipeline(proj, 'materialize', '--all', '--json');
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout.trim().split('\n').at(-1)!)).toMatchObject({
      status: 'success',
      materialized: 3,
      failed: 0,
    });

    // The ranking recomputed here from the raw 2025 snapshot: occupancy = bikes / (bikes + free docks).
    const ranking = JSON.parse(
      await readFile(join(proj, 'output/daily_station_ranking/all.json'), 'utf8'),
    ) as {
      day: string;
      stations: { rank: number; stationCode: string; occupancy: number }[];
    }[];
    expect(ranking.map((d) => [d.day, d.stations.length])).toEqual([
      ['2022-02-23', 24], // 26 stations: 4005 unknown to station_information, 4006 not renting
      ['2024-11-19', 25], // 4005 unknown
      ['2025-10-18', 26],
    ]);
    const raw = JSON.parse(
      await readFile(join(proj, 'data/gbfs/station_status/2025-10-18T0909Z.json'), 'utf8'),
    ) as {
      data: { stations: { stationCode: string; num_bikes_available: number; num_docks_available: number }[] };
    };
    const expected = raw.data.stations
      .map((s) => ({
        stationCode: s.stationCode,
        occupancy: Number(
          (s.num_bikes_available / (s.num_bikes_available + s.num_docks_available)).toFixed(4),
        ),
      }))
      .sort((a, b) => b.occupancy - a.occupancy || a.stationCode.localeCompare(b.stationCode));
    expect(ranking[2]!.stations.map(({ stationCode, occupancy }) => ({ stationCode, occupancy }))).toEqual(
      expected,
    );
    expect(ranking[2]!.stations[0]).toMatchObject({ rank: 1, stationCode: '4201', occupancy: 1 });

    const quarantine = JSON.parse((await pipeline(proj, 'quarantine', '--json')).stdout) as {
      asset: string;
      counts: Record<string, number>;
    }[];
    expect(quarantine).toMatchObject([
      { asset: 'station_snapshots', counts: { unknown_station: 2, not_renting: 1 } },
    ]);

    const again = await pipeline(proj, 'materialize', '--all', '--json');
    expect(JSON.parse(again.stdout.trim().split('\n').at(-1)!)).toMatchObject({
      materialized: 0,
      skipped: 3,
    });

    const why = await pipeline(proj, 'why', 'daily_station_ranking');
    expect(why.code, why.stderr).toBe(0);
    expect(why.stdout).toMatch(
      /^daily_station_ranking \(asset, group velib, unpartitioned, code mod:[0-9a-f]{16}\)/,
    );
    expect(why.stdout).toContain('check enough_stations: pass (non-blocking)');
    expect(why.stdout).toContain('up to date: code and every input unchanged since then');

    // Code versions cover the project's own TypeScript modules and the installed packages' versions.
    const list = JSON.parse((await pipeline(proj, 'list', '--json')).stdout) as {
      key: string;
      codeVersion: string;
    }[];
    const code = list.find((a) => a.key === 'station_snapshots')!.codeVersion;
    const manifest = JSON.parse(
      await readFile(join(proj, '.cityflow/code', `${code.replace(':', '-')}.json`), 'utf8'),
    );
    expect(manifest).toEqual({
      files: {
        'src/gbfs.ts': expect.stringMatching(/^[0-9a-f]{16}$/),
        'src/paris-time.ts': expect.stringMatching(/^[0-9a-f]{16}$/),
        'src/snapshots/asset.ts': expect.stringMatching(/^[0-9a-f]{16}$/),
        'src/snapshots/read.ts': expect.stringMatching(/^[0-9a-f]{16}$/),
      },
      packages: { cityflow: '0.1.0', zod: expect.any(String) },
    });
  }, 120_000);

  it('outside any project: one message saying what to create, exit 2', async () => {
    const r = await pipeline(work, 'list');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `pipeline: no cityflow.config.ts found in ${work} or any folder above it. Create one that exports ` +
        'defineConfig({ assets: [...] }) (see the README, "Your own pipeline"), or pass --config <file> ' +
        '(or set CITYFLOW_CONFIG)\n',
    );
  });
});
