import { join, resolve } from 'node:path';
import { defineDefinitions, StateStore, type Definitions } from '../engine/index.ts';
import { cityflowAssets } from '../assets/definitions.ts';
import { LocalFsIOManager } from '../io-managers/local-fs.ts';
import { LocalSourceIO } from '../io-managers/local-source.ts';

/** The environment's bindings: definitions with their storage, the state dir, and how they were chosen. */
export interface Runtime {
  defs: Definitions;
  state: StateStore;
  quarantineDir: string;
  modeLine: string;
  printableConfig: Record<string, string>;
  close(): Promise<void>;
}

export async function createRuntime(_opts: { log: (msg: string) => void }): Promise<Runtime> {
  const env = process.env;
  const dataDir = resolve(env.DATA_DIR ?? 'data');
  const outputDir = resolve(env.OUTPUT_DIR ?? 'output');
  const stateDir = resolve(env.STATE_DIR ?? '.cityflow');
  const local = new LocalFsIOManager({ rootDir: outputDir });
  const defs = defineDefinitions({
    assets: cityflowAssets,
    io: { default: local },
    sources: new LocalSourceIO({ dataDir, hashCacheFile: join(stateDir, 'source-hashes.json') }),
  });
  return {
    defs,
    state: new StateStore(stateDir),
    quarantineDir: join(outputDir, '_quarantine'),
    modeLine: `Local mode: raw from ${dataDir}, outputs in ${outputDir}`,
    printableConfig: { DATA_DIR: dataDir, OUTPUT_DIR: outputDir, STATE_DIR: stateDir },
    close: async () => {},
  };
}
