import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFsIOManager } from '../../io-managers/local-fs.ts';
import { describeIOManagerContract } from './io-manager-contract.ts';

describeIOManagerContract('local files', async () => {
  const rootDir = await mkdtemp(join(tmpdir(), 'cityflow-contract-'));
  return {
    manager: new LocalFsIOManager({ rootDir }),
    cleanup: () => rm(rootDir, { recursive: true, force: true }),
  };
});
