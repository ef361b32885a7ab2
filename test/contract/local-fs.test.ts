import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeInto, encodeValue } from '../../engine/encode.ts';
import { COMPACT_JSON_FROM, LocalFsIOManager } from '../../io-managers/local-fs.ts';
import { describeIOManagerContract, stopPoint } from './io-manager-contract.ts';

describeIOManagerContract('local files', async () => {
  const rootDir = await mkdtemp(join(tmpdir(), 'cityflow-contract-'));
  return {
    manager: new LocalFsIOManager({ rootDir }),
    cleanup: () => rm(rootDir, { recursive: true, force: true }),
    interruptedAt: (n) => {
      const { stop, stopped } = stopPoint();
      let ops = 0;
      const manager = new LocalFsIOManager({
        rootDir,
        onStoreStep: () => (ops++ === n ? stop() : undefined),
      });
      return { manager, stopped };
    },
  };
});

describe('local files: JSON layout', () => {
  it('indents small values, writes big ones compact; both load back equal', async () => {
    const rootDir = await mkdtemp(join(tmpdir(), 'cityflow-json-layout-'));
    try {
      const m = new LocalFsIOManager({ rootDir });
      const ctx = (partitionKey: string) => ({ assetKey: 'arcs', partitionKey, runId: 'r' });
      const small = [{ arc_id: '4264', flow: [1, null, 2] }];
      // ≈ 2 × COMPACT_JSON_FROM of compact JSON: one day of arc-days is ≈ 9 times that.
      const big = Array.from({ length: Math.ceil((2 * COMPACT_JSON_FROM) / 60) }, (_, i) => ({
        arc_id: String(i),
        flow: [i, null, i + 1, 12.5],
      }));
      await m.store(ctx('2025-11-03'), small, 'v1');
      await m.store(ctx('2025-11-04'), big, 'v2');
      const smallText = await readFile(join(rootDir, 'arcs', '2025-11-03.json'), 'utf8');
      const bigText = await readFile(join(rootDir, 'arcs', '2025-11-04.json'), 'utf8');
      expect(smallText).toBe(JSON.stringify(small, null, 2));
      expect(bigText).toBe(JSON.stringify(big));
      expect(bigText.length).toBeGreaterThanOrEqual(COMPACT_JSON_FROM);
      expect(await m.load(ctx('2025-11-03'))).toEqual(small);
      expect(await m.load(ctx('2025-11-04'))).toEqual(big);
    } finally {
      await rm(rootDir, { recursive: true, force: true });
    }
  });
});

describe('local files: a value written as it is encoded (openValue)', () => {
  const ctx = { assetKey: 'metrics', partitionKey: '2025-11-04' };
  const big = (bad?: number) => ({
    date: '2025-11-04',
    metrics: Array.from({ length: 20_000 }, (_, i) => ({
      arc: `Rue n°${i} é`,
      v: i === bad ? Infinity : i / 3,
    })),
  });

  it('the same bytes, version and .version as store with the bytes in memory', async () => {
    const rootDir = await mkdtemp(join(tmpdir(), 'cityflow-stream-'));
    try {
      const m = new LocalFsIOManager({ rootDir });
      const value = big();
      const inMemory = await encodeValue(value, 'json', 'metrics');
      const writer = await m.openValue(ctx);
      const digest = await encodeInto(value, 'json', 'metrics', writer);
      const { chunks, ...sameDigest } = inMemory;
      expect(digest).toEqual(sameDigest);
      const stored = await writer.commit(digest);
      expect(stored.bytes).toBe(inMemory.bytes);
      const bytes = await readFile(m.pathOf(ctx));
      expect(bytes.equals(Buffer.concat(chunks as Uint8Array[]))).toBe(true);
      expect(await m.stat(ctx)).toMatchObject({ dataVersion: inMemory.dataVersion, bytes: inMemory.bytes });
      expect(await m.load(ctx)).toEqual(value);
    } finally {
      await rm(rootDir, { recursive: true, force: true });
    }
  });

  it('an encoding that fails half-way, once aborted, leaves the previous value and no temp file', async () => {
    const rootDir = await mkdtemp(join(tmpdir(), 'cityflow-stream-'));
    try {
      const m = new LocalFsIOManager({ rootDir });
      await m.store(ctx, { total: 1 }, 'v1');
      const writer = await m.openValue(ctx);
      // The bad number is near the end: pieces were written before the error.
      const err = await encodeInto(big(19_990), 'json', 'metrics', writer).catch((e: unknown) => e);
      expect(String(err)).toMatch(/non-finite number Infinity/);
      await writer.abort();
      expect(await readdir(join(rootDir, 'metrics'))).toEqual(['2025-11-04.json', '2025-11-04.json.version']);
      expect(await m.load(ctx)).toEqual({ total: 1 });
      expect(await m.stat(ctx)).toMatchObject({ dataVersion: 'v1' });
    } finally {
      await rm(rootDir, { recursive: true, force: true });
    }
  });
});

describe('local files: a value and its version are one unit', () => {
  const ctx = { assetKey: 'metrics', partitionKey: '2025-11-04' };
  let rootDir: string;
  let m: LocalFsIOManager;
  let path: string;
  beforeEach(async () => {
    rootDir = await mkdtemp(join(tmpdir(), 'cityflow-pair-'));
    m = new LocalFsIOManager({ rootDir });
    path = m.pathOf(ctx);
  });
  afterEach(() => rm(rootDir, { recursive: true, force: true }));

  it('the value file stays plain JSON; `.version` names the version, size and hash of that content', async () => {
    await m.store(ctx, { total: 3 }, 'v1');
    const text = await readFile(path, 'utf8');
    expect(text).toBe(JSON.stringify({ total: 3 }, null, 2));
    expect(JSON.parse(await readFile(`${path}.version`, 'utf8'))).toEqual({
      dataVersion: 'v1',
      bytes: Buffer.byteLength(text),
      sha256: createHash('sha256').update(text).digest('hex'),
    });
    const [v, s] = await Promise.all([
      stat(path, { bigint: true }),
      stat(`${path}.version`, { bigint: true }),
    ]);
    expect(v.mtimeNs).toBe(s.mtimeNs); // written together
  });

  it('a value replaced behind the engine’s back is not reported under the old version', async () => {
    await m.store(ctx, { total: 3 }, 'v1');
    await writeFile(path, JSON.stringify({ total: 4 }, null, 2)); // same size, other content
    expect(await m.stat(ctx)).toBeNull();
    await writeFile(path, JSON.stringify({ total: 40 }, null, 2)); // other size
    expect(await m.stat(ctx)).toBeNull();
  });

  it('a copy that did not keep modification times is still recognised, by its hash', async () => {
    await m.store(ctx, { total: 3 }, 'v1');
    await utimes(path, new Date(2020, 0, 1), new Date(2020, 0, 1));
    expect((await m.stat(ctx))?.dataVersion).toBe('v1');
  });

  it('a `.version` of the previous layout (the bare version, not bound to the value) counts as missing', async () => {
    await mkdir(join(rootDir, 'metrics'), { recursive: true });
    await writeFile(path, JSON.stringify({ total: 3 }, null, 2));
    await writeFile(`${path}.version`, 'a1b2c3d4e5f60718');
    expect(await m.stat(ctx)).toBeNull();
    await m.store(ctx, { total: 3 }, 'a1b2c3d4e5f60718'); // the rebuild stores it in the new layout
    expect((await m.stat(ctx))?.dataVersion).toBe('a1b2c3d4e5f60718');
  });

  // Bytes this process read (Linux: rchar counts every read(2), the thread pool's included).
  const bytesRead = async (): Promise<number> =>
    Number(/rchar: (\d+)/.exec(await readFile('/proc/self/io', 'utf8'))?.[1]);

  it.skipIf(!existsSync('/proc/self/io'))(
    'stat does not re-read an intact pair’s value (a 2.4 MB day is not read at each plan)',
    async () => {
      await m.store(ctx, { arcs: 'x'.repeat(2_400_000) }, 'big');
      let before = await bytesRead();
      expect((await m.stat(ctx))?.dataVersion).toBe('big');
      const fast = (await bytesRead()) - before;
      // Copied without their times: the value is hashed once to be believed.
      await utimes(path, new Date(2020, 0, 1), new Date(2020, 0, 1));
      before = await bytesRead();
      expect((await m.stat(ctx))?.dataVersion).toBe('big');
      const hashed = (await bytesRead()) - before;
      console.log(`stat read ${fast} B of an intact pair, ${hashed} B of an unpaired 2.4 MB value`);
      expect(fast).toBeLessThan(16_384);
      expect(hashed).toBeGreaterThan(2_400_000);
    },
  );
});
