import { dirname, join } from 'node:path';
import {
  acquireUnitLocks,
  StateStore,
  type UnitSet,
  type UnitLockRelease,
  type IndexBackend,
  LocalIndexBackend,
  type Definitions,
  type IOManager,
  type SourceIO,
  sweepTempFiles,
} from '../engine/index.ts';
import type { DynamoDbIOManager } from '../io-managers/dynamodb/dynamodb-io-manager.ts';
import type { SharedState } from '../io-managers/dynamodb/shared-state.ts';
import { LocalFsIOManager } from '../io-managers/local-fs.ts';
import { LocalSourceIO } from '../io-managers/local-source.ts';
import type { MongoDbIOManager } from '../io-managers/mongodb/mongodb-io-manager.ts';
import type { SourceStats } from '../io-managers/s3/s3-source.ts';
import { ConfigError, describeMode, loadConfig, printableConfig, type Config } from './config.ts';
import { findConfig, type FoundConfig } from './config-file.ts';
import { frameworkLink, importConfig } from './config-load.ts';
import { resolveDefinitions } from './config-resolve.ts';
import type { ConfigContext, ProjectPage } from './define-config.ts';
import type { S3Bindings } from './s3-bindings.ts';

/** The environment's bindings: definitions with their storage, the state dir, and how they were chosen. */
export interface Runtime {
  config: Config;
  /** The project's config module (`cityflow.config.ts`) and how it was found. */
  project: FoundConfig;
  defs: Definitions;
  /** The index as this process first read it (every asset of `defs` loaded); see `openState` for a fresh one. */
  state: StateStore;
  /** Where the index lives: the state dir's files, or DynamoDB (SHARED_STATE=dynamodb). */
  indexBackend: IndexBackend;
  /** The index as written now by any process, every asset of `defs` loaded. */
  openState(): Promise<StateStore>;
  quarantineDir: string;
  modeLine: string;
  printableConfig: Record<string, string>;
  /** The project's pages (`pages` of its config), for `pipeline ui` and `pipeline report --html`. */
  pages: readonly ProjectPage[];
  /** Why raw input fell back from S3 to DATA_DIR in this process (the run was degraded), if it did. */
  degraded(): string | undefined;
  /** In S3 mode: LIST requests, objects listed, bodies downloaded, files served from the cache. */
  rawInputStats(): SourceStats | undefined;
  /** In S3 mode: whether this run's listings so far (prefetched) found raw objects, once done. */
  rawInputListed(signal?: AbortSignal): Promise<boolean>;
  /** The shared index and unit locks (SHARED_STATE=dynamodb), for `pipeline setup`. */
  sharedState?: SharedState;
  /** The database IO manager when one is configured (for `pipeline setup`). */
  database?: DynamoDbIOManager | MongoDbIOManager;
  /**
   * Locks what a run writes: the units it builds (asset × partition) in the state dir's lock table, then
   * in the output dir's (two configurations may share one OUTPUT_DIR with different STATE_DIRs), all of
   * them at once in each table, waiting (saying for whom) while a live run holds one of them
   * (engine/unit-locks.ts); then removes the temp files whose writer is gone. Without `units` the run
   * locks every unit (`all`): it runs alone, as every run did before unit locks. Returns the release.
   * With SHARED_STATE=dynamodb the one lock table is DynamoDB's (io-managers/dynamodb/unit-locks.ts),
   * with a lease, and the release carries the fencing token the run's index writes must carry.
   */
  lockForRun(
    runId: string,
    onWait: (msg: string) => void,
    signal?: AbortSignal,
    units?: UnitSet,
  ): Promise<UnitLockRelease>;
  close(): Promise<void>;
}

/** The output dir's unit-lock table (the state dir's is `<STATE_DIR>/locks/`). */
export const OUTPUT_LOCKS = '.cityflow-locks';
/** The state dir's unit-lock table. */
export const STATE_LOCKS = 'locks';

/**
 * Environment → bindings, then the project's definitions. What is generic lives here: the settings
 * (config.ts), the state dir and its lock, the output lock, and the IO managers the environment chooses —
 * `local` (JSON files in OUTPUT_DIR), `store` (DynamoDB, MongoDB, or `local`), raw `sources` (DATA_DIR, or
 * S3 through a local cache with fallback to DATA_DIR). What each asset is stored with is the project's
 * config (`cityflow.config.ts`, see define-config.ts): by default, everything in `store`.
 */
export async function createRuntime(opts: {
  /** stderr lines: storage warnings (`warn`) and cache upkeep (`info`). */
  log: (msg: string, level?: 'info' | 'warn') => void;
  env?: NodeJS.ProcessEnv;
  /** `--config` as given. */
  configFile?: string;
  /**
   * For a command that plans over every source (`materialize`, `plan`): in S3 mode, start listing what
   * the last run listed while the project's modules load (S3SourceIO.prefetch).
   */
  prefetchSources?: boolean;
}): Promise<Runtime> {
  const env = opts.env ?? process.env;
  const project = findConfig({ flag: opts.configFile, env, packageRoot: frameworkLink().sourceRoot });
  // Relative paths (and `.env`) belong to the project's folder, wherever in it the command runs; with no
  // project of their own (the package's config as the last resort) to the current directory.
  const config = loadConfig(
    env,
    project.from === 'CityFlow package' ? {} : { cwd: dirname(project.file), base: 'the project folder' },
  );
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c();
  };

  const localSources = new LocalSourceIO({
    dataDir: config.dataDir,
    hashCacheFile: join(config.stateDir, 'source-hashes.json'),
  });
  closers.push(() => localSources.close());
  // Before the project's modules: a prefetched listing goes on while they load.
  const s3 = config.rawFromS3 ? await createS3Bindings(config, localSources, opts.log) : undefined;
  if (s3) closers.push(s3.close);
  if (s3 && opts.prefetchSources) s3.sources.prefetch();
  let loaded: Awaited<ReturnType<typeof importConfig>>;
  try {
    loaded = await importConfig(project);
  } catch (err) {
    await close();
    throw err;
  }

  const local = new LocalFsIOManager({ rootDir: config.outputDir });

  // Database drivers are imported only when configured: local runs never load them.
  let database: DynamoDbIOManager | MongoDbIOManager | undefined;
  if (config.database === 'dynamodb') {
    const { DynamoDbIOManager } = await import('../io-managers/dynamodb/dynamodb-io-manager.ts');
    database = new DynamoDbIOManager({
      region: config.awsRegion,
      // DynamoDB Local or any compatible endpoint; the SDK also reads this variable by itself.
      endpoint: env.AWS_ENDPOINT_URL_DYNAMODB,
      metricsTable: config.dynamodbMetricsTable,
      reportsTable: config.dynamodbReportsTable,
    });
  } else if (config.database === 'mongodb') {
    const { MongoDbIOManager } = await import('../io-managers/mongodb/mongodb-io-manager.ts');
    database = new MongoDbIOManager({ url: config.mongodbUrl, database: config.mongodbDatabase });
  }
  if (database?.close) closers.push(() => database.close!());
  const store: IOManager = database ?? local;

  // The index and the unit locks shared by coordinators on several machines (SHARED_STATE=dynamodb).
  let shared: SharedState | undefined;
  if (config.sharedState === 'dynamodb') {
    const { createSharedState } = await import('../io-managers/dynamodb/shared-state.ts');
    const s = createSharedState({
      region: config.awsRegion,
      endpoint: env.AWS_ENDPOINT_URL_DYNAMODB,
      indexTable: config.dynamodbIndexTable,
      locksTable: config.dynamodbLocksTable,
      leaseMs: config.unitLockLeaseMs,
    });
    shared = s;
    closers.push(async () => s.close());
  }
  const indexBackend: IndexBackend = shared?.index ?? new LocalIndexBackend(config.stateDir);

  // Shared by every machine: what the project keeps on one machine's disk otherwise (intermediates).
  let sharedFiles: IOManager | undefined;
  if (shared && s3) {
    if (!config.s3IntermediatesBucket)
      throw new ConfigError([
        'S3_INTERMEDIATES_BUCKET: required with SHARED_STATE=dynamodb (or S3_REPORTS_BUCKET, its default)',
      ]);
    const { S3IOManager } = await import('../io-managers/s3/s3-io-manager.ts');
    sharedFiles = new S3IOManager({
      client: s3.client,
      bucket: config.s3IntermediatesBucket,
      prefix: config.s3IntermediatesPrefix,
    });
  }

  const ctx: ConfigContext = {
    settings: config,
    env,
    local,
    store,
    sources: s3?.sources ?? localSources,
    ...(s3 && { s3: { client: s3.client } }),
    ...(sharedFiles && { shared: sharedFiles }),
    log: opts.log,
    onClose: (fn) => void closers.push(async () => void (await fn())),
  };
  let defs: Definitions;
  let describe: string | undefined;
  let pages: readonly ProjectPage[];
  try {
    ({ defs, describe, pages } = await resolveDefinitions(loaded, ctx));
  } catch (err) {
    await close();
    throw err;
  }
  const modeLine = describe ? `${describeMode(config)}, ${describe}` : describeMode(config);
  const state = new StateStore(config.stateDir, indexBackend);
  const lockStateUnits = async (
    runId: string,
    onWait: (msg: string) => void,
    signal: AbortSignal | undefined,
    units: UnitSet,
  ): Promise<UnitLockRelease> =>
    shared
      ? shared.locks.acquire(runId, units, { onWait, onLost: onWait, signal })
      : acquireUnitLocks(join(config.stateDir, STATE_LOCKS), runId, units, {
          what: 'unit locks',
          onWait,
          signal,
        });
  return {
    config,
    project,
    defs,
    state,
    quarantineDir: join(config.outputDir, '_quarantine'),
    modeLine,
    pages,
    printableConfig: { CITYFLOW_CONFIG: `${project.file} (${project.from})`, ...printableConfig(config) },
    degraded: () => s3?.sources.fallbackReason,
    rawInputStats: () => s3?.sources.stats(),
    rawInputListed: (signal) => s3?.sources.listedObjects(signal) ?? Promise.resolve(false),
    database,
    sharedState: shared,
    indexBackend,
    openState: async () => {
      const s = new StateStore(config.stateDir, indexBackend);
      await s.load(defs.graph.order);
      return s;
    },
    lockForRun: async (runId, onWait, signal, units = 'all') => {
      const releaseState = await lockStateUnits(runId, onWait, signal, units);
      let releaseOutput: () => Promise<void>;
      try {
        // The shared lock table is every coordinator's (whatever its OUTPUT_DIR): no second table.
        releaseOutput = shared
          ? async () => {}
          : await acquireUnitLocks(join(config.outputDir, OUTPUT_LOCKS), runId, units, {
              what: 'output unit locks',
              onWait,
              signal,
              note: `its STATE_DIR is ${config.stateDir}: configurations sharing an OUTPUT_DIR do not build the same units at once`,
            });
        // Only the temp files whose writer is gone: other runs may be writing.
        await sweepTempFiles([config.outputDir], { depth: 3 });
        await sweepTempFiles([config.stateDir], { depth: 2 });
      } catch (err) {
        await releaseState();
        throw err;
      }
      return Object.assign(
        async () => {
          await releaseOutput();
          await releaseState();
        },
        { fence: releaseState.fence, lost: releaseState.lost },
      );
    },
    close,
  };
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
