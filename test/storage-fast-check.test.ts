import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  daily,
  defineAsset,
  defineDefinitions,
  execute,
  plan,
  StateStore,
  type IOContext,
  type StoredStat,
} from '../engine/index.ts';
import { LocalFsIOManager } from '../io-managers/local-fs.ts';
import { LocalSourceIO } from '../io-managers/local-source.ts';
import { MirrorIOManager } from '../io-managers/mirror.ts';

/** The real local store, counting the full `stat` calls a plan makes. */
class CountingLocalFs extends LocalFsIOManager {
  fullStats = 0;
  override stat(ctx: IOContext): Promise<StoredStat | null> {
    this.fullStats++;
    return super.stat(ctx);
  }
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityflow-fast-check-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const days = { from: '2025-11-01', to: '2025-11-10' };

function setup(opts: { mirrored?: boolean } = {}) {
  const io = new CountingLocalFs({ rootDir: join(dir, 'out') });
  const copies: string[] = [];
  const mirror = new MirrorIOManager(io, [
    async (ctx) => {
      copies.push(ctx.partitionKey);
      return `copy:${ctx.partitionKey}`;
    },
  ]);
  const numbers = defineAsset({
    key: 'numbers',
    partitions: daily(),
    schema: z.array(z.number()),
    codeVersion: 'v1',
    compute: (_inputs, { partitionKey }) => [Number(partitionKey.slice(8)), 2, 3],
  });
  const defs = defineDefinitions({
    assets: [numbers],
    io: { default: opts.mirrored ? mirror : io },
    sources: new LocalSourceIO({ dataDir: join(dir, 'data') }),
  });
  const state = new StateStore(join(dir, 'state'));
  const planAll = () => plan(defs, state, { selected: new Set(['numbers']), days });
  return { io, copies, state, planAll, run: async () => execute(defs, state, await planAll(), {}) };
}

describe('storage check of a plan: the IO manager’s stamp first, the full stat only when it differs', () => {
  it('a no-op plan of stored values makes no full stat; a replaced, touched or deleted value is caught', async () => {
    const { io, state, planAll, run } = setup();
    expect((await run()).status).toBe('success');
    const stamp = state.get('numbers', '2025-11-04')?.metadata?.storageStamp;
    expect(stamp).toMatch(/^\d+:\d+(\.\d+)?$/);

    io.fullStats = 0;
    const fresh = await planAll();
    expect(fresh.units.filter((u) => u.decision === 'run')).toEqual([]);
    expect(io.fullStats).toBe(0);

    // Same size, other content (written in place: same directory entry); another value's mtime set to now;
    // a third deleted. Each is caught: the first two by the full stat (hash), the third as missing.
    const path = (day: string) => join(dir, 'out', 'numbers', `${day}.json`);
    const text = await readFile(path('2025-11-04'), 'utf8');
    await writeFile(path('2025-11-04'), text.replace('4', '5'));
    await utimes(path('2025-11-05'), new Date(), new Date());
    await rm(path('2025-11-06'));
    io.fullStats = 0;
    const after = await planAll();
    const rebuilt = after.units.filter((u) => u.decision === 'run').map((u) => u.partition);
    expect(rebuilt.sort()).toEqual(['2025-11-04', '2025-11-06']);
    // Only the three changed files went to the full stat; 2025-11-05 (touched, same bytes) is still stored.
    expect(io.fullStats).toBe(3);
    expect(after.unit('numbers', '2025-11-05')?.decision).toBe('skip');
  });

  it('a mirrored store (primary + copies) records the primary’s stamp: its no-op plan makes no full stat either', async () => {
    const { io, copies, state, planAll, run } = setup({ mirrored: true });
    expect((await run()).status).toBe('success');
    expect(copies).toHaveLength(10);
    expect(state.get('numbers', '2025-11-04')?.metadata?.storageStamp).toMatch(/^\d+:\d+(\.\d+)?$/);
    io.fullStats = 0;
    expect((await planAll()).units.filter((u) => u.decision === 'run')).toEqual([]);
    expect(io.fullStats).toBe(0);
    await rm(join(dir, 'out', 'numbers', '2025-11-06.json'));
    const after = await planAll();
    expect(after.units.filter((u) => u.decision === 'run').map((u) => u.partition)).toEqual(['2025-11-06']);
    expect(io.fullStats).toBe(1);
  });
});
