import { join } from 'node:path';
import {
  acquireDirLock,
  defineDefinitions,
  StateStore,
  type Definitions,
  type IOManager,
  type SourceIO,
  sweepTempFiles,
} from '../engine/index.ts';
import { cityflowAssets } from '../assets/definitions.ts';
import type { DynamoDbIOManager } from '../io-managers/dynamodb/dynamodb-io-manager.ts';
import { LocalFsIOManager } from '../io-managers/local-fs.ts';
import { LocalSourceIO } from '../io-managers/local-source.ts';
import type { MongoDbIOManager } from '../io-managers/mongodb/mongodb-io-manager.ts';
import { describeMode, loadConfig, printableConfig, type Config } from './config.ts';

/** The environment's bindings: definitions with their storage, the state dir, and how they were chosen. */
export interface Runtime {
  config: Config;
  defs: Definitions;
  state: StateStore;
  quarantineDir: string;
  modeLine: string;
  printableConfig: Record<string, string>;
  /** Why raw input fell back from S3 to DATA_DIR in this process (the run was degraded), if it did. */
  degraded(): string | undefined;
  /** The database IO manager when one is configured (for `pipeline setup`). */
  database?: DynamoDbIOManager | MongoDbIOManager;
  /**
   * Locks what a run writes: the state dir, then the output dir (two configurations may share one
   * OUTPUT_DIR with different STATE_DIRs), and then removes the temp files that killed writes left in
   * them. Returns the release.
   */
  lockForRun(
    runId: string,
    onWait: (msg: string) => void,
    signal?: AbortSignal,
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** The output dir's lock file (the state dir's is `<STATE_DIR>/lock`). */
export const OUTPUT_LOCK = '.cityflow-lock';

/**
 * Environment → bindings. Asset code names a binding (`metrics`, `reports`, `report_files`,
 * `intermediate`); this is the only place that decides what stands behind each:
 * - metrics and reports: DynamoDB, MongoDB, or local JSON files (SPEC §4.1 rules, in config.ts);
 * - report files (the CSV): local files, or S3 in S3 mode;
 * - intermediates (per-arc-per-day road counts): always local files in OUTPUT_DIR (large, rebuildable);
 * - raw sources: DATA_DIR, or S3 through a local cache with fallback to DATA_DIR.
 */
export async function createRuntime(opts: {
  /** stderr lines: storage warnings (`warn`) and cache upkeep (`info`). */
  log: (msg: string, level?: 'info' | 'warn') => void;
  env?: NodeJS.ProcessEnv;
}): Promise<Runtime> {
  const config = loadConfig(opts.env ?? process.env);
  const local = new LocalFsIOManager({ rootDir: config.outputDir });
  const closers: (() => Promise<void>)[] = [];

  // Database drivers are imported only when configured: local runs never load them.
  let database: DynamoDbIOManager | MongoDbIOManager | undefined;
  if (config.database === 'dynamodb') {
    const { DynamoDbIOManager } = await import('../io-managers/dynamodb/dynamodb-io-manager.ts');
    database = new DynamoDbIOManager({
      region: config.awsRegion,
      // DynamoDB Local or any compatible endpoint; the SDK also reads this variable by itself.
      endpoint: (opts.env ?? process.env).AWS_ENDPOINT_URL_DYNAMODB,
      metricsTable: config.dynamodbMetricsTable,
      reportsTable: config.dynamodbReportsTable,
    });
  } else if (config.database === 'mongodb') {
    const { MongoDbIOManager } = await import('../io-managers/mongodb/mongodb-io-manager.ts');
    database = new MongoDbIOManager({ url: config.mongodbUrl, database: config.mongodbDatabase });
  }
  if (database?.close) closers.push(() => database.close!());
  const store: IOManager = database ?? local;

  const localSources = new LocalSourceIO({
    dataDir: config.dataDir,
    hashCacheFile: join(config.stateDir, 'source-hashes.json'),
  });
  let sources: SourceIO = localSources;
  let reportFiles: IOManager = local;
  const s3 = config.rawFromS3 ? await createS3Bindings(config, localSources, opts.log) : undefined;
  if (s3) {
    sources = s3.sources;
    reportFiles = s3.reportFiles(local);
    closers.push(s3.close);
  }

  const defs = defineDefinitions({
    assets: cityflowAssets,
    io: {
      default: local,
      intermediate: local,
      metrics: store,
      reports: s3 ? s3.mirrorReports(store) : store,
      report_files: reportFiles,
    },
    sources,
  });
  const modeLine = describeMode(config);
  const state = new StateStore(config.stateDir);
  return {
    config,
    defs,
    state,
    quarantineDir: join(config.outputDir, '_quarantine'),
    modeLine,
    printableConfig: printableConfig(config),
    degraded: () => s3?.sources.fallbackReason,
    database,
    lockForRun: async (runId, onWait, signal) => {
      const releaseState = await state.acquireLock(runId, onWait, signal);
      let releaseOutput: () => Promise<void>;
      try {
        releaseOutput = await acquireDirLock(config.outputDir, OUTPUT_LOCK, runId, {
          what: 'output lock',
          onWait,
          signal,
          note: `its STATE_DIR is ${config.stateDir}: configurations sharing an OUTPUT_DIR run one at a time`,
        });
        await sweepTempFiles([config.outputDir], { depth: 3 });
        await sweepTempFiles([config.stateDir], { depth: 2 });
      } catch (err) {
        await releaseState();
        throw err;
      }
      return async () => {
        await releaseOutput();
        await releaseState();
      };
    },
    close: async () => {
      for (const c of closers) await c();
    },
  };
}

interface S3Bindings {
  sources: SourceIO & { readonly fallbackReason?: string };
  reportFiles(primary: IOManager): IOManager;
  mirrorReports(primary: IOManager): IOManager;
  close(): Promise<void>;
}

/** Loaded lazily so local runs never load the S3 client. */
async function createS3Bindings(
  config: Config,
  localSources: SourceIO,
  log: (msg: string, level?: 'info' | 'warn') => void,
): Promise<S3Bindings> {
  const { createS3Bindings: create } = await import('./s3-bindings.ts');
  return create(config, localSources, log);
}
