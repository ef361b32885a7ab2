import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sweepTempFiles, writeFileAtomic } from './atomic.ts';
import { processStartMs } from './pid.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityflow-atomic-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

// 2^22 + 1 is above Linux's pid_max default: no such process.
const DEAD = 4_194_305;

describe('sweepTempFiles', () => {
  it('removes the temp files of dead processes and old ones of reused pids, keeps everything else', async () => {
    await mkdir(join(dir, 'asset', 'deeper'), { recursive: true });
    // Before pid 1 started: its writer was another process of that pid (a container restarted since).
    const old = new Date((processStartMs(1) ?? Date.now()) - 60_000);
    const files = {
      dead: join(dir, 'asset', `2025-11-04.json.tmp-${DEAD}-0123abcd`),
      deadVersion: join(dir, 'asset', `2025-11-04.json.version.tmp-${DEAD}-89abcdef`),
      // pid 1 is alive (in a container: the pipeline itself, restarted): left before it started.
      reusedOld: join(dir, 'asset', `2025-11-03.json.tmp-1-00000000`),
      // This process writing right now.
      mine: join(dir, 'asset', `2025-11-02.json.tmp-${process.pid}-ffffffff`),
      value: join(dir, 'asset', '2025-11-04.json'),
      lookalike: join(dir, 'asset', 'notes.tmp-12-zz'),
      tooDeep: join(dir, 'asset', 'deeper', `x.json.tmp-${DEAD}-0123abcd`),
    };
    for (const f of Object.values(files)) await writeFile(f, '{');
    await utimes(files.reusedOld, old, old);
    const removed = await sweepTempFiles([dir, join(dir, 'missing')], { depth: 2 });
    expect(removed.sort()).toEqual([files.dead, files.deadVersion, files.reusedOld].sort());
    expect((await readdir(join(dir, 'asset'))).sort()).toEqual(
      [
        '2025-11-02.json.tmp-' + process.pid + '-ffffffff',
        '2025-11-04.json',
        'deeper',
        'notes.tmp-12-zz',
      ].sort(),
    );
    expect(await readdir(join(dir, 'asset', 'deeper'))).toHaveLength(1); // below depth 2
  });

  it.skipIf(processStartMs(process.ppid) === undefined)(
    'keeps a live writer’s temp file however old, when another run started after it (concurrent runs)',
    async () => {
      // The parent process (alive, started before this file was written) writing a big value for 60 s;
      // the sweeping run started after that write began. Before unit locks, such a file (older than the
      // sweeping process) was removed.
      const parentStart = processStartMs(process.ppid)!;
      const written = new Date(Math.max(parentStart + 5_000, Date.now() - 60_000));
      const live = join(dir, `2025-11-04.json.tmp-${process.ppid}-0123abcd`);
      await writeFile(live, '{');
      await utimes(live, written, written);
      const removed = await sweepTempFiles([dir], { startedAtMs: Date.now() + 60_000 });
      expect(removed).toEqual([]);
      expect(await readdir(dir)).toEqual([`2025-11-04.json.tmp-${process.ppid}-0123abcd`]);
    },
  );

  it('a write leaves no temp file, and sets the time it is given', async () => {
    const path = join(dir, 'a', 'b.json');
    await writeFileAtomic(path, '{}', { mtime: 1_700_000_000.123456 });
    expect(await readdir(join(dir, 'a'))).toEqual(['b.json']);
    expect((await stat(path)).mtimeMs).toBeCloseTo(1_700_000_000_123.456, 2);
  });

  it('a value given in pieces is written as their concatenation, in order', async () => {
    const path = join(dir, 'pieces.arrows');
    const pieces = [Buffer.from('ab'), new Uint8Array(0), Buffer.alloc(300_000, 7), Buffer.from('z')];
    await writeFileAtomic(path, pieces);
    expect((await readFile(path)).equals(Buffer.concat(pieces))).toBe(true);
  });
});
