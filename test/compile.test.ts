/**
 * The `pipeline` command runs the sources compiled by pipeline/compile.mjs (esbuild, file by file, cached
 * by source hash). Checked on a copy of the project: the first start compiles, later starts reuse the
 * build, and editing one asset's compute function re-runs that asset and its dependents only (code
 * versions of the other assets do not move when another file changes).
 */
import {
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markBuildInUse } from '../pipeline/compile.mjs';
import { copyProject, runCopy } from './faults/cli-process.ts';

let root: string;
let env: NodeJS.ProcessEnv;
const CACHE = (): string => join(root, 'node_modules/.cache/cityflow');

interface PlanUnit {
  asset: string;
  partition: string;
  decision: 'run' | 'skip';
  reasons: { kind: string }[];
}

const pipeline = (...args: string[]): Promise<string> => runCopy({ root, env }, args);

async function builds(): Promise<string[]> {
  const names = await readdir(CACHE()).catch(() => [] as string[]);
  return names.filter((n) => /^[0-9a-f]{16}$/.test(n)).sort();
}

beforeAll(async () => {
  ({ root, env } = await copyProject('cityflow-compile-'));
}, 120_000);
afterAll(() => rm(root, { recursive: true, force: true }));

describe('compiled CLI', () => {
  it('compiles once per source state, and a code edit re-runs exactly the edited asset and its dependents', async () => {
    const first = JSON.parse(
      await pipeline('materialize', '--all', '--json').then((s) => s.trim().split('\n').at(-1)!),
    ) as {
      materialized: number;
    };
    expect(first.materialized).toBeGreaterThan(0);
    expect(await builds()).toHaveLength(1);
    const [build] = await builds();
    // Same layout as the sources, relative imports rewritten to .js (nothing left importing .ts).
    const cli = await readFile(join(CACHE(), build!, 'pipeline/cli.js'), 'utf8');
    expect(cli).toMatch(/from "\.\/runtime\.js"/);
    expect(cli).not.toMatch(/from "\.{1,2}\/[^"]*\.tsx?"/);

    const noop = JSON.parse(await pipeline('plan', '--all', '--json')) as { units: PlanUnit[] };
    expect(noop.units.filter((u) => u.decision === 'run')).toEqual([]);
    expect(await builds()).toEqual([build]);

    // Edit weather_metrics' compute function (an extra statement that never throws changes its code).
    const defsPath = join(root, 'assets/weather/asset.ts');
    const defs = await readFile(defsPath, 'utf8');
    const at = defs.indexOf("key: 'weather_metrics'");
    expect(at).toBeGreaterThan(0);
    const computeAt = defs.indexOf('compute: ', at);
    const bodyAt = defs.indexOf('{', defs.indexOf('=>', computeAt)) + 1;
    await writeFile(
      defsPath,
      defs.slice(0, bodyAt) + "\n    if (raw.length < 0) throw new Error('edited');" + defs.slice(bodyAt),
    );

    const plan = JSON.parse(await pipeline('plan', '--all', '--json')) as { units: PlanUnit[] };
    expect(await builds()).toHaveLength(2);
    const toRun = new Set(plan.units.filter((u) => u.decision === 'run').map((u) => u.asset));
    expect([...toRun].sort()).toEqual(['daily_report', 'daily_report_csv', 'weather_metrics']);
    const codeChanged = new Set(
      plan.units.filter((u) => u.reasons.some((r) => r.kind === 'code_changed')).map((u) => u.asset),
    );
    expect([...codeChanged]).toEqual(['weather_metrics']);
  }, 120_000);

  it('an edit that keeps the size and the modification time still rebuilds (the stamp looks at ctime too)', async () => {
    const path = join(root, 'assets/weather/asset.ts');
    const old = new Date('2020-01-01T00:00:00Z');
    await utimes(path, old, old);
    await pipeline('list', '--json'); // the stamp is written again, after every file's times
    const before = await builds();
    // Past the stamp's one-second "racy" window, so the stamp alone decides.
    await new Promise((r) => setTimeout(r, 1100));
    const text = await readFile(path, 'utf8');
    const edited = text.replace("key: 'weather_metrics'", "key: 'weather_metricz'");
    expect(edited.length).toBe(text.length);
    await writeFile(path, edited);
    await utimes(path, old, old); // size and times as before: only ctime tells (as after `cp -p`)
    const listed = JSON.parse(await pipeline('list', '--json')) as { key: string }[];
    expect(listed.map((a) => a.key)).toContain('weather_metricz');
    expect((await builds()).length).toBe(before.length + 1);
  }, 120_000);

  it('bundles each vendored package with the exports Node gives its importers (CommonJS ones too)', async () => {
    const { hash } = JSON.parse(await readFile(join(CACHE(), 'sources-stamp.json'), 'utf8')) as {
      hash: string;
    };
    const build = join(CACHE(), hash);
    const manifest = JSON.parse(await readFile(join(build, 'vendor/vendored.json'), 'utf8')) as Record<
      string,
      { file: string }
    >;
    // Both kinds are there: ES modules (zod) and CommonJS read by Node's lexer (graphology-dag).
    expect(Object.keys(manifest)).toEqual(expect.arrayContaining(['zod', 'commander', 'graphology-dag']));
    for (const [name, { file }] of Object.entries(manifest)) {
      const bundle = (await import(pathToFileURL(join(build, file)).href)) as Record<string, unknown>;
      const installed = (await import(name)) as Record<string, unknown>;
      const shape = (ns: Record<string, unknown>): string[] =>
        Object.keys(ns)
          .filter((k) => k !== 'module.exports')
          .map((k) => `${k}: ${typeof ns[k]}`);
      expect(shape(bundle), name).toEqual(shape(installed));
    }
  }, 60_000);

  it("loads zod's other languages when one is first used, with the installed zod's messages", async () => {
    const { hash } = JSON.parse(await readFile(join(CACHE(), 'sources-stamp.json'), 'utf8')) as {
      hash: string;
    };
    // In a process of its own: what the bundle loads, then the messages in French.
    const probe = (
      zod: string,
    ): { before: boolean; after: boolean; fr: string; en: string; names: string[] } => {
      const script = `
        import { createRequire } from 'node:module';
        const { z, config, locales } = await import(${JSON.stringify(zod)});
        const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((f) => f.endsWith('zod-locales.cjs'));
        const before = loaded();
        const message = () => z.string().min(3).safeParse(1).error.issues[0].message + ' / ' + z.string().min(3).safeParse('a').error.issues[0].message;
        const en = message();
        config(locales.fr());
        const fr = message();
        console.log(JSON.stringify({ before, after: loaded(), fr, en, names: Object.keys(locales) }));
      `;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: root,
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as ReturnType<typeof probe>;
    };
    const bundled = probe(pathToFileURL(join(CACHE(), hash, 'vendor/zod.js')).href);
    const installed = probe('zod');
    expect(bundled.before).toBe(false);
    expect(bundled.after).toBe(true);
    expect(bundled.fr).not.toBe(bundled.en);
    expect({ ...bundled, before: false, after: false }).toEqual({
      ...installed,
      before: false,
      after: false,
    });
  }, 60_000);

  it('an upgrade of a package a bundle holds, not vendored by name (p-limit → yocto-queue), rebuilds', async () => {
    // Real folders instead of links, so that the copy resolves its own yocto-queue from its p-limit.
    for (const name of ['p-limit', 'yocto-queue']) {
      const dir = join(root, 'node_modules', name);
      await rm(dir);
      await cp(join(import.meta.dirname, '..', 'node_modules', name), dir, { recursive: true });
    }
    await pipeline('list', '--json');
    const before = await builds();
    const manifest = join(root, 'node_modules/yocto-queue/package.json');
    const pkg = JSON.parse(await readFile(manifest, 'utf8')) as { version: string };
    await writeFile(manifest, JSON.stringify({ ...pkg, version: `${pkg.version}-patched` }));
    await pipeline('list', '--json');
    expect((await builds()).length).toBe(before.length + 1);
  }, 120_000);

  it('links the project to the running build when node_modules is a symbolic link into another folder', async () => {
    // A second checkout sharing the first one's node_modules (a git worktree, say): the build cache's
    // path names the other folder, and the project must still get the running engine, not a second one.
    const copy = await copyProject('cityflow-linked-');
    const shared = await mkdtemp(join(tmpdir(), 'cityflow-shared-'));
    try {
      await rename(join(copy.root, 'node_modules'), join(shared, 'node_modules'));
      await symlink(join(shared, 'node_modules'), join(copy.root, 'node_modules'));
      const out = await runCopy(copy, ['materialize', '--all', '--json']);
      const summary = JSON.parse(out.trim().split('\n').at(-1)!) as { materialized: number; failed: number };
      expect(summary.failed).toBe(0);
      expect(summary.materialized).toBeGreaterThan(0);
    } finally {
      await rm(copy.root, { recursive: true, force: true });
      await rm(shared, { recursive: true, force: true });
    }
  }, 120_000);

  it('keeps the builds in use and the three last used, and removes the others when it builds', async () => {
    const HOUR = 3600_000;
    const ago = (ms: number): Date => new Date(Date.now() - ms);
    const age = async (dir: string): Promise<number> => Date.now() - (await stat(dir)).mtimeMs;
    // Every build so far unused for 6 h, until a start marks the one it runs in use.
    for (const b of await builds()) await utimes(join(CACHE(), b), ago(6 * HOUR), ago(6 * HOUR));
    await pipeline('--version');
    const marked: string[] = [];
    for (const b of await builds()) if ((await age(join(CACHE(), b))) < HOUR) marked.push(b);
    expect(marked).toHaveLength(1);
    const running = marked[0]!;
    const unused = (await builds()).filter((b) => b !== running);

    // Builds of other processes, last marked 5, 10, 20 min and 2 to 5 h ago; an interrupted build; the
    // compile cache of older versions, which kept one folder for every build.
    const fake = async (name: string, ms: number): Promise<string> => {
      await mkdir(join(CACHE(), name, 'pipeline'), { recursive: true });
      await writeFile(join(CACHE(), name, 'build.json'), '{}\n');
      await utimes(join(CACHE(), name), ago(ms), ago(ms));
      return name;
    };
    const recent = [
      await fake('a000000000000005', 5 * 60_000),
      await fake('a000000000000010', 10 * 60_000),
      await fake('a000000000000020', 20 * 60_000),
    ];
    for (const h of [2, 3, 4, 5]) await fake(`b00000000000000${h}`, h * HOUR);
    await fake('tmp-1-1', 2 * HOUR);
    await mkdir(join(CACHE(), 'v8/v24-old'), { recursive: true });

    // A source edit: the next start builds anew and prunes.
    const file = join(root, 'engine/hash.ts');
    await writeFile(file, (await readFile(file, 'utf8')) + '\n// prune test\n');
    await pipeline('--version');
    const after = await builds();
    const fresh = after.filter((b) => !(unused.includes(b) || b === running || /^[ab]0/.test(b)));
    expect(fresh).toHaveLength(1);
    // Kept: the new build; the three last used (the one that ran, 5 and 10 min); 20 min (used within the
    // hour). Removed: the unused ones beyond those, the interrupted build, the old compile cache.
    expect(after.sort()).toEqual([...fresh, running, ...recent].sort());
    const rest = await readdir(CACHE());
    expect(rest).not.toContain('tmp-1-1');
    expect(rest).not.toContain('v8');
  }, 120_000);

  it('a process marks its build in use again while it runs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cityflow-in-use-'));
    try {
      const old = new Date(Date.now() - 2 * 3600_000);
      await utimes(dir, old, old);
      markBuildInUse(dir, 50);
      expect(Date.now() - (await stat(dir)).mtimeMs).toBeLessThan(60_000); // marked at once
      await utimes(dir, old, old);
      await new Promise((r) => setTimeout(r, 200));
      expect(Date.now() - (await stat(dir)).mtimeMs).toBeLessThan(60_000); // and again later
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
