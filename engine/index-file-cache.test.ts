import { mkdtemp, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resetIndexCache } from './index-file-cache.ts';
import { StateStore } from './state.ts';

let dir: string;
let racyWas: number;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityflow-index-cache-'));
  racyWas = resetIndexCache(0);
});
afterEach(async () => {
  resetIndexCache(racyWas);
  await rm(dir, { recursive: true, force: true });
});

const rec = (dataVersion: string, runId = 'r1') => ({
  dataVersion,
  codeVersion: 'c1',
  inputVersions: {},
  runId,
  at: '2025-01-01T00:00:00Z',
  metadata: { bytes: 1, durationMs: 1, location: 'x', dataVersion },
});
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const file = () => join(dir, 'index', 'a.json');

async function seed(partitions: Record<string, string>): Promise<void> {
  const s = new StateStore(dir);
  for (const [p, v] of Object.entries(partitions)) s.recordSuccess('a', p, rec(v));
  await s.flush();
}

describe('the index file cache behind StateStore', () => {
  it('parses an unchanged file once for every store, and reads a change made by another store', async () => {
    await seed({ '2025-01-01': 'v1' });
    const first = new StateStore(dir).partitionsOf('a');
    expect(new StateStore(dir).partitionsOf('a')).toBe(first); // the same parsed object
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first['2025-01-01'])).toBe(true);

    const writer = new StateStore(dir); // another run (a store of its own, as another process has)
    writer.recordFailure('a', '2025-01-01', { runId: 'r2', at: '2025-01-02T00:00:00Z', error: 'boom' });
    writer.recordSuccess('a', '2025-01-02', rec('v2', 'r2'));
    await writer.flush();
    const after = new StateStore(dir);
    expect(after.get('a', '2025-01-01')?.lastFailure?.error).toBe('boom');
    expect(after.get('a', '2025-01-02')?.dataVersion).toBe('v2');
    expect(first['2025-01-02']).toBeUndefined(); // the old snapshot was not touched
  });

  it("keeps one store's unflushed records out of the others (copy on write)", async () => {
    await seed({ '2025-01-01': 'v1' });
    const a = new StateStore(dir);
    const shared = a.partitionsOf('a');
    a.recordSuccess('a', '2025-01-02', rec('mine'));
    a.recordFailure('a', '2025-01-01', { runId: 'r2', at: '2025-01-02T00:00:00Z', error: 'x' });
    expect(a.get('a', '2025-01-02')?.dataVersion).toBe('mine');
    expect(a.get('a', '2025-01-01')?.lastFailure?.error).toBe('x');
    const b = new StateStore(dir);
    expect(b.partitionsOf('a')).toBe(shared);
    expect(b.get('a', '2025-01-02')).toBeUndefined();
    expect(b.get('a', '2025-01-01')?.lastFailure).toBeUndefined();
    expect(Object.keys(shared)).toEqual(['2025-01-01']);
    await a.flush();
    expect(new StateStore(dir).get('a', '2025-01-02')?.dataVersion).toBe('mine');
  });

  it('re-reads a file replaced by a rename even with the same size and mtime', async () => {
    await seed({ '2025-01-01': 'v1' });
    const t = new Date('2025-06-01T00:00:00Z');
    await utimes(file(), t, t);
    expect(new StateStore(dir).get('a', '2025-01-01')?.dataVersion).toBe('v1');
    const text = await readFile(file(), 'utf8');
    const tmp = `${file()}.tmp`;
    await writeFile(tmp, text.replaceAll('v1', 'v9')); // same size
    await utimes(tmp, t, t);
    await rename(tmp, file());
    expect((await stat(file())).mtimeMs).toBe(t.getTime());
    expect(new StateStore(dir).get('a', '2025-01-01')?.dataVersion).toBe('v9');
  });

  it('re-reads a file rewritten in place with its mtime put back', async () => {
    await seed({ '2025-01-01': 'v1' });
    const t = new Date('2025-06-01T00:00:00Z');
    await utimes(file(), t, t);
    expect(new StateStore(dir).get('a', '2025-01-01')?.dataVersion).toBe('v1');
    await pause(20); // past the file system's timestamp tick
    await writeFile(file(), (await readFile(file(), 'utf8')).replaceAll('v1', 'v8'));
    await utimes(file(), t, t);
    expect(new StateStore(dir).get('a', '2025-01-01')?.dataVersion).toBe('v8');
  });

  it('does not keep a file modified within the last 2 s, and forgets a deleted one', async () => {
    resetIndexCache(); // the real window
    await seed({ '2025-01-01': 'v1' });
    const one = new StateStore(dir).partitionsOf('a');
    const two = new StateStore(dir).partitionsOf('a');
    expect(two).not.toBe(one); // parsed again: too recent to trust its stamp
    expect(two).toEqual(one);
    await rm(file());
    expect(new StateStore(dir).partitionsOf('a')).toEqual({});
  });

  it('says which file is unreadable, and does not keep it', async () => {
    await seed({ '2025-01-01': 'v1' });
    await writeFile(file(), '{"2025-01-01": {');
    expect(() => new StateStore(dir).get('a', '2025-01-01')).toThrow(
      /State index .*a\.json is unreadable .*; delete it to rebuild/,
    );
    await writeFile(file(), JSON.stringify({ '2025-01-02': rec('v2') }));
    expect(new StateStore(dir).get('a', '2025-01-02')?.dataVersion).toBe('v2');
  });
});
