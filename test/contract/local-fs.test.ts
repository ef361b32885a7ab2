import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMPACT_JSON_FROM, LocalFsIOManager } from '../../io-managers/local-fs.ts';
import { describeIOManagerContract } from './io-manager-contract.ts';

describeIOManagerContract('local files', async () => {
  const rootDir = await mkdtemp(join(tmpdir(), 'cityflow-contract-'));
  return {
    manager: new LocalFsIOManager({ rootDir }),
    cleanup: () => rm(rootDir, { recursive: true, force: true }),
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
