/** ObjectCache.pruneNeeded: what the last prune left decides whether a process that downloaded nothing walks the cache. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { ObjectCache } from './cache.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('ObjectCache.pruneNeeded', () => {
  it('true with no prune on record, then false while the last prune left at most the budget', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cityflow-cache-usage-'));
    dirs.push(dir);
    const cache = new ObjectCache(dir);
    const put = (key: string, body: string) =>
      cache.write('b', key, Readable.from([Buffer.from(body)]), { etag: '"e"', expectedSize: body.length });
    await put('a/x.csv', '1234567890');
    await put('a/y.csv', '1234567890');
    expect(await cache.pruneNeeded(1_000)).toBe(true); // never pruned

    expect(await cache.prune({ maxBytes: 1_000 })).toMatchObject({ kept: 2, keptBytes: 20, removed: 0 });
    expect(await cache.pruneNeeded(1_000)).toBe(false);
    expect(await cache.pruneNeeded(20)).toBe(false);
    expect(await cache.pruneNeeded(19)).toBe(true); // the budget shrank below what is kept

    // Over budget but protected (the run's own objects): the next process must prune.
    expect(await cache.prune({ maxBytes: 5, protectSince: 0 })).toMatchObject({ kept: 2, removed: 0 });
    expect(await cache.pruneNeeded(5)).toBe(true);
    expect(await cache.prune({ maxBytes: 5 })).toMatchObject({ kept: 0, removed: 2 });
    expect(await cache.pruneNeeded(5)).toBe(false);

    await writeFile(path.join(dir, 'usage.json'), 'not json');
    expect(await cache.pruneNeeded(5)).toBe(true);
  });
});
