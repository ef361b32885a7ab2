/**
 * Mistakes and failures a person must be able to act on, through the real `pipeline` CLI:
 * - DATA_DIR missing (a typo, a volume not mounted), empty, or resolved against the wrong directory: exit 2
 *   with the absolute path it looked at, nothing planned or computed, the good outputs of an earlier run
 *   untouched (they used to become "no data" days: exit 0, reports gone);
 * - writes that fail for lack of room, rights or size: the failed unit's message names the file and says
 *   what the error means (ENOSPC, EFBIG used to say only "…, write").
 * Disk full and a read-only file system use small tmpfs mounts when this process may mount (root with
 * CAP_SYS_ADMIN, as on this project's machines and CI containers), else those two tests are skipped with
 * the reason; engine/write-error.test.ts injects the same errors into the write itself everywhere.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmod, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, scratchProject, snapshot, type Finished } from './cli-process.ts';

const DAY = '2025-11-03';
const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

/** Runs the CLI to the end; `shell` prefixes it (e.g. `ulimit -f 200;`), `uid` runs it as that user. */
function cli(
  env: NodeJS.ProcessEnv,
  args: string[],
  opts: { cwd?: string; shell?: string; uid?: number } = {},
): Promise<Finished> {
  const child = opts.shell
    ? spawn('bash', ['-c', `${opts.shell} exec "$0" "$@"`, process.execPath, BIN, ...args], {
        env,
        cwd: opts.cwd,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(process.execPath, [BIN, ...args], {
        env,
        cwd: opts.cwd,
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(opts.uid !== undefined && { uid: opts.uid, gid: opts.uid }),
      });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
}

const failedLines = (r: Finished): string[] =>
  (r.stdout + r.stderr).split('\n').filter((l) => l.includes('✗ failed'));

describe('DATA_DIR missing or empty is a configuration error, never a run from no data', () => {
  let root: string;
  let env: NodeJS.ProcessEnv;
  let before: Map<string, string>;
  let indexBefore: Map<string, string>;

  beforeAll(async () => {
    ({ root, env } = await scratchProject('cityflow-no-datadir-'));
    roots.push(root);
    const good = await cli(env, ['materialize', '--all', '--partition', DAY, '--json']);
    expect(good.code, good.stderr).toBe(0);
    before = await snapshot(env.OUTPUT_DIR!);
    indexBefore = await snapshot(path.join(env.STATE_DIR!, 'index'));
    expect([...before.keys()]).toContain(`daily_report/${DAY}.json`);
  }, 60_000);

  it('a DATA_DIR that does not exist: exit 2 naming it, with --partition the stored day untouched', async () => {
    const missing = path.join(root, 'dta'); // a typo
    for (const args of [
      ['materialize', '--all', '--partition', DAY, '--json'],
      ['materialize', '--all', '--force'],
      ['plan', '--all'],
      ['why', 'daily_report', '--partition', DAY],
    ]) {
      const r = await cli({ ...env, DATA_DIR: missing }, args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`DATA_DIR: ${missing} does not exist`);
      expect(r.stderr).toContain('Nothing was run');
      expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace
      expect(r.stdout).not.toMatch(/materialized|skipped/);
    }
    expect(await snapshot(env.OUTPUT_DIR!)).toEqual(before);
    expect(await snapshot(path.join(env.STATE_DIR!, 'index'))).toEqual(indexBefore);
  }, 60_000);

  it('an empty DATA_DIR (only hidden files, empty sub-folders): exit 2 "is empty"', async () => {
    const empty = path.join(root, 'mnt', 'raw');
    await mkdir(path.join(empty, 'api', 'bikes'), { recursive: true });
    await writeFile(path.join(empty, '.gitkeep'), '');
    const r = await cli({ ...env, DATA_DIR: empty }, ['materialize', '--all', '--partition', DAY]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`DATA_DIR: ${empty} is empty (no file in it or in its sub-folders)`);
    expect(await snapshot(env.OUTPUT_DIR!)).toEqual(before);
  });

  it('a DATA_DIR that is a file, or a link to nothing: exit 2 naming it', async () => {
    const file = path.join(root, 'data.csv');
    await writeFile(file, 'x\n');
    const r = await cli({ ...env, DATA_DIR: file }, ['plan', '--all']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`DATA_DIR: ${file} is not a folder`);
    const link = path.join(root, 'raw-link');
    await symlink(path.join(root, 'unmounted-volume'), link);
    const l = await cli({ ...env, DATA_DIR: link }, ['plan', '--all']);
    expect(l.code, l.stderr).toBe(2);
    expect(l.stderr).toContain(`DATA_DIR: ${link} does not exist`);
  });

  it('run from a sub-directory: the relative DATA_DIR is said resolved (absolute path, cwd) with where it exists', async () => {
    const sub = path.join(root, 'assets');
    await mkdir(sub, { recursive: true });
    const { DATA_DIR: _unset, ...noDataDir } = env;
    const r = await cli(noDataDir, ['materialize', '--all'], { cwd: sub });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      `DATA_DIR: ${path.join(sub, 'data')} does not exist (DATA_DIR not set, default ./data, ` +
        `relative to the current directory ${sub})`,
    );
    expect(r.stderr).toContain(`run from ${root}, where it is ${path.join(root, 'data')}`);
    const typo = await cli({ ...env, DATA_DIR: './dat' }, ['plan', '--all'], { cwd: root });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain(
      `DATA_DIR: ${path.join(root, 'dat')} does not exist (DATA_DIR=./dat, relative to the current directory ${root})`,
    );
    expect(await snapshot(env.OUTPUT_DIR!)).toEqual(before);
  });

  it('pipeline upload from a missing DATA_DIR: exit 2 before contacting S3', async () => {
    const missing = path.join(root, 'not-mounted');
    const r = await cli(
      { ...env, DATA_DIR: missing, S3_RAW_BUCKET: 'cityflow-raw', S3_ENDPOINT_URL: 'http://127.0.0.1:9' },
      ['upload', '--no-tui'],
    );
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`DATA_DIR: ${missing} does not exist`);
  });
});

/** Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN); empty when it can, else why not. */
function mountSkipReason(): string {
  if (process.platform !== 'linux') return 'tmpfs mounts need Linux';
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  const dir = path.join(tmpdir(), `cityflow-mount-probe-${process.pid}`);
  try {
    execFileSync('mkdir', ['-p', dir]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir]);
    return '';
  } catch {
    return 'mount -t tmpfs is not permitted here';
  } finally {
    execFileSync('rm', ['-rf', dir]);
  }
}

describe('failed writes name the file and say what to do', () => {
  const mountSkip = mountSkipReason();
  const mounts: string[] = [];
  afterAll(() => {
    for (const m of mounts.reverse()) execFileSync('umount', ['-l', m]);
  });

  it('a file over the size limit (ulimit -f): EFBIG names the file', async () => {
    const { root, env } = await scratchProject('cityflow-efbig-');
    roots.push(root);
    // 200 KiB: the référentiel metrics (≈ 1 MB) cannot be written, the small ones can.
    const r = await cli(env, ['materialize', '--all', '--partition', DAY, '--json'], {
      shell: 'ulimit -f 200;',
    });
    const failed = failedLines(r);
    console.log(`[EFBIG] exit ${r.code}; ${failed.length} failed: ${failed[0]}`);
    expect(r.code).toBe(1);
    expect(failed.length).toBeGreaterThan(0);
    const file = path.join(env.OUTPUT_DIR!, 'referentiel_metrics', `${DAY}.json`);
    expect(failed.join('\n')).toContain(`cannot write ${file}: file too large (` /* bytes */);
    expect(failed.join('\n')).toContain('over the file-size limit of this process (ulimit -f)');
    // No temp file left behind.
    expect((await readdir(path.dirname(file))).filter((f) => f.includes('.tmp-'))).toEqual([]);
  }, 60_000);

  it.skipIf(mountSkip !== '')(
    `disk full (OUTPUT_DIR on a 200 KB tmpfs): ENOSPC names the file${mountSkip ? ` — SKIPPED: ${mountSkip}` : ''}`,
    async () => {
      const { root, env } = await scratchProject('cityflow-enospc-');
      roots.push(root);
      const out = env.OUTPUT_DIR!;
      await mkdir(out, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=200k', 'tmpfs', out]);
      mounts.push(out);
      const r = await cli(env, ['materialize', '--all', '--partition', DAY, '--json']);
      const failed = failedLines(r);
      console.log(`[ENOSPC] exit ${r.code}; ${failed.length} failed: ${failed[0]}`);
      expect(r.code).toBe(1);
      expect(failed.length).toBeGreaterThan(0);
      for (const l of failed)
        expect(l).toMatch(
          new RegExp(
            `cannot write ${out}/\\S+: no space left on the file system that holds ${out}/\\S+: free some space`,
          ),
        );
      execFileSync('umount', [out]);
      mounts.pop();
    },
    60_000,
  );

  it.skipIf(mountSkip !== '')(
    `a read-only file system (one asset folder mounted ro): EROFS names the file${mountSkip ? ` — SKIPPED: ${mountSkip}` : ''}`,
    async () => {
      const { root, env } = await scratchProject('cityflow-erofs-');
      roots.push(root);
      const dir = path.join(env.OUTPUT_DIR!, 'bikes_metrics');
      await mkdir(dir, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', dir]);
      mounts.push(dir);
      const r = await cli(env, ['materialize', '--all', '--partition', DAY, '--json']);
      const failed = failedLines(r);
      console.log(`[EROFS] exit ${r.code}; ${failed.length} failed: ${failed[0]}`);
      expect(r.code).toBe(1);
      expect(failed.length).toBe(1);
      expect(failed[0]).toContain(
        `cannot write ${dir}/${DAY}.json: ${dir} is on a read-only file system: mount it read-write, or write elsewhere`,
      );
      execFileSync('umount', [dir]);
      mounts.pop();
    },
    60_000,
  );

  it('a folder this user may not write in (chmod 555; as `nobody` when run as root): EACCES names the file', async () => {
    const { root, env } = await scratchProject('cityflow-eacces-');
    roots.push(root);
    const dir = path.join(env.OUTPUT_DIR!, 'bikes_metrics');
    await mkdir(dir, { recursive: true });
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      // root writes anywhere: run as `nobody`, with everything else of the project open to it.
      const open = async (d: string): Promise<void> => {
        await chmod(d, 0o777);
        for (const e of await readdir(d, { withFileTypes: true }))
          if (e.isDirectory()) await open(path.join(d, e.name));
      };
      await open(root);
    }
    await chmod(dir, 0o555);
    const r = await cli(env, ['materialize', '--all', '--partition', DAY, '--json'], {
      ...(asRoot && { uid: 65534 }),
    });
    const failed = failedLines(r);
    console.log(`[EACCES] exit ${r.code}; ${failed.length} failed: ${failed[0]}`);
    expect(r.code, r.stderr).toBe(1);
    expect(failed.length).toBe(1);
    expect(failed[0]).toContain(
      `cannot write ${dir}/${DAY}.json: permission denied: this user cannot write in ${dir}`,
    );
  }, 60_000);
});
