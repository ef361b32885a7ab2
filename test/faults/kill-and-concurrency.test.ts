import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeValue, formatOf } from '../../engine/encode.ts';
import { LocalFsIOManager } from '../../io-managers/local-fs.ts';
import { scratchProject, seeded, snapshot, startPipeline } from './cli-process.ts';

const KILLS = 30;
const SEED = 20251104;
let clean: Map<string, string>;
let cleanMs = 0;
const roots: string[] = [];

beforeAll(async () => {
  const p = await scratchProject('cityflow-clean-');
  roots.push(p.root);
  const t0 = Date.now();
  const r = await startPipeline(p.env, ['materialize', '--all', '--no-tui']).done;
  cleanMs = Date.now() - t0;
  expect(r.code).toBe(0);
  clean = await snapshot(join(p.root, 'output'));
  expect(clean.size).toBeGreaterThan(10);
}, 120_000);
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

/** Output files that are JSON must parse: a half-written file would not. */
async function assertWhole(out: Map<string, string>): Promise<void> {
  for (const [path, text] of out) {
    if (path.endsWith('.json')) expect(() => JSON.parse(text), path).not.toThrow();
  }
}

/**
 * The converging run after the kills: it must finish (a lock nobody can identify as stale must fail the
 * test, not hang it) and leave exactly the clean run's bytes in `outputDir`.
 */
async function convergesTo(
  env: NodeJS.ProcessEnv,
  outputDir: string,
  clean: Map<string, string>,
): Promise<void> {
  const last = startPipeline(env, ['materialize', '--all', '--no-tui', '--json']);
  const watchdog = setTimeout(() => last.child.kill('SIGKILL'), 60_000);
  const final = await last.done;
  clearTimeout(watchdog);
  expect(final.signal, `the converging run hung: ${final.stderr}`).toBe(null);
  expect(final.code, final.stderr).toBe(0);
  const after = await snapshot(outputDir);
  expect([...after.keys()].sort()).toEqual([...clean.keys()].sort());
  for (const [k, v] of clean) expect(after.get(k), k).toBe(v);
}

describe('kill -9 at random points of materialize --all', () => {
  it(`leaves no half-written output and the next run converges to the clean outputs (${KILLS} kills mid-run, seed ${SEED})`, async () => {
    const rand = seeded(SEED);
    const p = await scratchProject('cityflow-kill-');
    roots.push(p.root);
    let killedMidRun = 0;
    let runs = 0;
    // Runs go on until KILLS of them were killed mid-run: a run that finishes before its kill time (a
    // resuming run may have little left to do) does not count. Capped so a broken kill cannot loop.
    // Kills land within a full run's duration: the clean run's, or less once a forced (full) run took less
    // (the clean run may have been timed while the rest of the suite loaded the machine).
    let window = cleanMs;
    for (let i = 0; killedMidRun < KILLS && i < KILLS * 3; i++) {
      runs++;
      const delay = Math.round(rand() * window);
      // Every other run forces a full rebuild, so kills also land while existing outputs are being replaced.
      const args = ['materialize', '--all', '--no-tui', ...(i % 2 ? ['--force'] : [])];
      const t0 = Date.now();
      const { child, done } = startPipeline(p.env, args);
      const timer = setTimeout(() => child.kill('SIGKILL'), delay);
      const r = await done;
      clearTimeout(timer);
      if (r.signal === 'SIGKILL') killedMidRun++;
      else if (i % 2) window = Math.min(window, Date.now() - t0);
      await assertWhole(await snapshot(join(p.root, 'output')));
      // The state index stays readable after every kill.
      for (const f of await readdir(join(p.root, 'state', 'index')).catch(() => [] as string[])) {
        if (!f.endsWith('.json')) continue;
        const text = await readFile(join(p.root, 'state', 'index', f), 'utf8');
        expect(() => JSON.parse(text), f).not.toThrow();
      }
    }
    await convergesTo(p.env, join(p.root, 'output'), clean);
    console.log(
      `kill -9: ${killedMidRun} kills landed mid-run in ${runs} runs (clean run ${cleanMs} ms), outputs byte-identical: ${clean.size} files`,
    );
    expect(killedMidRun).toBe(KILLS);
  }, 600_000);
});

/**
 * The raw files the data-changing kill test edits: every day's bikes file (one counter's count) and
 * weather file (one temperature). Variant 0 is the bundled sample; others change one number per file.
 */
async function rawVariants(dataDir: string): Promise<(variant: number) => Promise<void>> {
  const files: { path: string; text: string; field: number }[] = [];
  for (const [source, hour, field] of [
    ['bikes', '14', 4], // Comptage horaire
    ['weather', '02', 1], // temperature_2m
  ] as const) {
    for (const day of await readdir(join(dataDir, 'api', source))) {
      const dir = join(dataDir, 'api', source, day, `hour=${hour}`);
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (!name.endsWith('.csv')) continue;
        files.push({ path: join(dir, name), text: await readFile(join(dir, name), 'utf8'), field });
      }
    }
  }
  expect(files.length).toBeGreaterThanOrEqual(16);
  return async (variant) => {
    for (const f of files) {
      const lines = f.text.split('\n');
      const sep = lines[0]!.includes(';') ? ';' : ',';
      const cells = lines[1]!.split(sep);
      cells[f.field] = (Number(cells[f.field]) + variant).toFixed(1);
      lines[1] = cells.join(sep);
      await writeFile(f.path, variant ? lines.join('\n') : f.text);
    }
  };
}

/**
 * Every stored value whose `stat` reports a data version must be that version's value (the engine's
 * content hash of what `load` returns): a version vouching for another value is what makes a later run
 * skip a unit whose file holds a killed run's result.
 */
async function assertVersionsMatchValues(outputDir: string): Promise<number> {
  const io = new LocalFsIOManager({ rootDir: outputDir });
  let checked = 0;
  for (const asset of await readdir(outputDir)) {
    if (asset.startsWith('_') || asset.startsWith('.')) continue;
    for (const name of await readdir(join(outputDir, asset)).catch(() => [] as string[])) {
      const m = /^(.+)\.(json|csv|arrows)$/.exec(name);
      if (!m) continue;
      const ctx = {
        assetKey: asset,
        partitionKey: m[1]!,
        ...(m[2] === 'csv' && { storage: { file: { format: 'text', extension: 'csv' } } as const }),
        ...(m[2] === 'arrows' && { storage: { file: { format: 'arrow' } } as const }),
      };
      const st = await io.stat(ctx);
      if (!st) continue;
      expect(
        (await encodeValue(await io.load(ctx), formatOf(ctx.storage))).dataVersion,
        `${asset}/${name} is not the value of version ${st.dataVersion}`,
      ).toBe(st.dataVersion);
      checked++;
    }
  }
  return checked;
}

/** Temp files left by killed writes, under a dir (relative paths). */
async function tempFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else if (e.name.includes('.tmp-')) out.push(join(d, e.name).slice(dir.length + 1));
    }
  };
  await walk(dir);
  return out.sort();
}

const DATA_KILLS = 16;
const DATA_SEED = 20251204;

describe('kill -9 while the raw data changes between runs', () => {
  it(`never leaves a value under another value's version; converges to the clean outputs of the final data (${DATA_KILLS} kills, seed ${DATA_SEED})`, async () => {
    const rand = seeded(DATA_SEED);
    const p = await scratchProject('cityflow-kill-data-');
    roots.push(p.root);
    const output = join(p.root, 'output');
    const setVariant = await rawVariants(join(p.root, 'data'));
    expect((await startPipeline(p.env, ['materialize', '--all', '--no-tui']).done).code).toBe(0);
    // How long a run takes that rebuilds what one raw change touches: the kills land within it.
    await setVariant(1);
    let t0 = Date.now();
    expect((await startPipeline(p.env, ['materialize', '--all', '--no-tui']).done).code).toBe(0);
    const changedMs = Date.now() - t0;
    let window = changedMs;
    let kills = 0;
    let runs = 0;
    let checked = 0;
    let leftBehind = 0;
    let variant = 1;
    for (let i = 0; kills < DATA_KILLS && i < DATA_KILLS * 3; i++) {
      // The data changes before every run: alternately back to the sample, and to one of two edits.
      variant = variant ? 0 : 1 + (i % 4 === 1 ? 1 : 0);
      await setVariant(variant);
      runs++;
      t0 = Date.now();
      const { child, done } = startPipeline(p.env, ['materialize', '--all', '--no-tui']);
      const timer = setTimeout(() => child.kill('SIGKILL'), Math.round(rand() * window));
      const r = await done;
      clearTimeout(timer);
      if (r.signal === 'SIGKILL') kills++;
      else {
        expect(r.code, r.stderr).toBe(0);
        window = Math.min(window, Date.now() - t0); // every run rebuilds what the data change touched
      }
      await assertWhole(await snapshot(output));
      checked += await assertVersionsMatchValues(output);
      // What the kill left half-written (the next run removes it).
      leftBehind += (await tempFiles(output)).length + (await tempFiles(join(p.root, 'state'))).length;
    }
    // The final data is the sample's: the converging run must give the clean run's bytes.
    await setVariant(0);
    t0 = Date.now();
    await convergesTo(p.env, output, clean);
    expect(await assertVersionsMatchValues(output)).toBeGreaterThan(60);
    // Nothing is left to do, and no temp file of the killed writes is left behind.
    const planned = JSON.parse((await startPipeline(p.env, ['plan', '--all', '--json']).done).stdout) as {
      units: { decision: string }[];
    };
    expect(planned.units.filter((u) => u.decision !== 'skip')).toEqual([]);
    expect(await tempFiles(output)).toEqual([]);
    expect(await tempFiles(join(p.root, 'state'))).toEqual([]);
    console.log(
      `kill -9 with changing data: ${kills} kills in ${runs} runs (a changed run ${changedMs} ms), ` +
        `${checked} stored versions checked against their values, ${leftBehind} temp files left by kills ` +
        `(removed by the next run), converging run ${Date.now() - t0} ms, outputs byte-identical: ${clean.size} files`,
    );
    expect(kills).toBe(DATA_KILLS);
  }, 600_000);
});

describe('two materialize processes on one state dir', () => {
  it('the second waits for the units the first builds, says for whom, and rebuilds nothing twice', async () => {
    const p = await scratchProject('cityflow-lock-');
    roots.push(p.root);
    const a = startPipeline(p.env, ['materialize', '--all', '--no-tui', '--json']);
    await new Promise((r) => setTimeout(r, 300));
    const b = startPipeline(p.env, ['materialize', '--all', '--no-tui', '--json']);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    const sa = JSON.parse(ra.stdout.trim().split('\n').at(-1)!) as { materialized: number; skipped: number };
    const sb = JSON.parse(rb.stdout.trim().split('\n').at(-1)!) as { materialized: number; skipped: number };
    // Whichever got the lock first built everything; the other found it all up to date.
    expect(Math.min(sa.materialized, sb.materialized)).toBe(0);
    expect(Math.max(sa.materialized, sb.materialized)).toBe(sa.materialized + sa.skipped);
    expect(ra.stderr + rb.stderr).toMatch(
      /waiting for run \S+ \(pid \d+\) to release the unit locks of \d+ unit\(s\) this run builds: /,
    );
    expect(await readdir(join(p.root, 'state', 'locks'))).toEqual([]);
    const out = await snapshot(join(p.root, 'output'));
    for (const [k, v] of clean) expect(out.get(k), k).toBe(v);
  }, 120_000);
});

describe('two configurations sharing one OUTPUT_DIR with different STATE_DIRs', () => {
  it('do not build the same units at once: the second waits for the output unit locks, says why, and the runs do not overlap', async () => {
    const p = await scratchProject('cityflow-shared-out-');
    roots.push(p.root);
    const other = { ...p.env, STATE_DIR: join(p.root, 'state-b') };
    const a = startPipeline(p.env, ['materialize', '--all', '--no-tui', '--json']);
    await new Promise((r) => setTimeout(r, 300));
    const b = startPipeline(other, ['materialize', '--all', '--no-tui', '--json']);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    expect(ra.stderr + rb.stderr).toMatch(
      /waiting for run \S+ \(pid \d+\) to release the output unit locks of \d+ unit\(s\) this run builds: .* in \S+\.cityflow-locks \(its STATE_DIR is \S+: configurations sharing an OUTPUT_DIR do not build the same units at once\)/,
    );
    // The run logs say when each ran: one after the other.
    const span = async (stateDir: string): Promise<[number, number]> => {
      const [name] = await readdir(join(stateDir, 'runs'));
      const events = (await readFile(join(stateDir, 'runs', name!), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; at: string });
      const at = (t: string) => Date.parse(events.find((e) => e.type === t)!.at);
      return [at('run_started'), at('run_finished')];
    };
    const [sa, sb] = [await span(p.env.STATE_DIR!), await span(other.STATE_DIR)];
    expect(sa[1] <= sb[0] || sb[1] <= sa[0], `runs overlapped: ${JSON.stringify([sa, sb])}`).toBe(true);
    expect(await readdir(join(p.root, 'output', '.cityflow-locks'))).toEqual([]);
    const out = await snapshot(join(p.root, 'output'));
    for (const [k, v] of clean) expect(out.get(k), k).toBe(v);
  }, 120_000);
});

describe('a stale lock whose pid is alive again', () => {
  it.skipIf(!existsSync('/proc/1/stat'))(
    'is taken over: pid 1 (as in a restarted container) with another start time is not the holder',
    async () => {
      const p = await scratchProject('cityflow-pid1-');
      roots.push(p.root);
      await mkdir(join(p.root, 'state', 'locks'), { recursive: true });
      // The lock a killed container run left: pid 1 of before. Pid 1 is alive now, with another start time.
      const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
      const lock = { pid: 1, runId: 'killed', startTime: '1', bootId, refreshMs: 2000, units: 'all' };
      await writeFile(join(p.root, 'state', 'locks', 'killed.units.json'), JSON.stringify(lock));
      const run = startPipeline(p.env, ['materialize', '--all', '--no-tui', '--json']);
      const watchdog = setTimeout(() => run.child.kill('SIGKILL'), 60_000);
      const r = await run.done;
      clearTimeout(watchdog);
      expect(r.signal, `the run waited on a lock nobody holds: ${r.stderr}`).toBe(null);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(
        /taking over the unit locks of run killed \(pid 1\) in \S+: that process is gone/,
      );
      expect(await readdir(join(p.root, 'state', 'locks'))).toEqual([]);
    },
    90_000,
  );
});

describe('Ctrl-C during a run', () => {
  it('records the run as cancelled, leaves whole files, and a re-run resumes to the clean result', async () => {
    const p = await scratchProject('cityflow-sigint-');
    roots.push(p.root);
    const { child, done } = startPipeline(p.env, ['materialize', '--all', '--no-tui']);
    // Wait until the run has started materializing, then interrupt.
    await new Promise<void>((resolve) => {
      child.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('materialized')) resolve();
      });
    });
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/Cancelling/);
    const runs = await readdir(join(p.root, 'state', 'runs'));
    const log = (await readFile(join(p.root, 'state', 'runs', runs[0]!), 'utf8')).trim().split('\n');
    expect(JSON.parse(log.at(-1)!)).toMatchObject({ type: 'run_finished', status: 'cancelled' });
    await expect(
      snapshot(join(p.root, 'output')).then((o) => [...o.values()].every((t) => t.length > 0)),
    ).resolves.toBe(true);
    const again = await startPipeline(p.env, ['materialize', '--all', '--no-tui', '--json']).done;
    expect(again.code).toBe(0);
    const summary = JSON.parse(again.stdout.trim().split('\n').at(-1)!) as {
      skipped: number;
      materialized: number;
    };
    expect(summary.skipped).toBeGreaterThan(0); // what finished before Ctrl-C is not rebuilt
    const out = await snapshot(join(p.root, 'output'));
    for (const [k, v] of clean) expect(out.get(k), k).toBe(v);
  }, 120_000);
});
