/**
 * One validated configuration from the environment (`process.env` + `.env`, real variables win).
 * Mode rules follow the original (SPEC §4.1): raw input from S3 when `AWS_EXECUTION_ENV` is set or
 * `USE_S3=true`; DynamoDB when `AWS_EXECUTION_ENV` is set, `USE_DYNAMODB=true` or
 * `DATABASE_TYPE=dynamodb`; MongoDB when `DATABASE_TYPE=mongodb`; otherwise embedded local files.
 * Secrets (AWS keys, session tokens) are never kept here: the AWS SDK credential chain reads them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { z } from 'zod';
import type { S3ClientOptions } from '../io-managers/s3/client.ts';
import { maskSecrets } from '../engine/redact.ts';

export type DatabaseKind = 'local' | 'dynamodb' | 'mongodb';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Config {
  /** DATA_DIR, absolute (a relative setting is resolved against the project folder, see LoadConfigOptions.cwd). */
  dataDir: string;
  /** DATA_DIR as written (or its default) and the directory it was resolved against, for messages. */
  dataDirFrom?: { setting: string; default: boolean; cwd: string; base: string };
  outputDir: string;
  stateDir: string;
  /** The backend chosen for metrics and reports after applying the mode rules. */
  database: DatabaseKind;
  /** Raw input read from S3 (and the report CSV written there). */
  rawFromS3: boolean;
  /** `DATABASE_TYPE` as given (or its default), before the forcing rules. */
  databaseType: DatabaseKind;
  useS3: boolean;
  useDynamoDB: boolean;
  awsExecutionEnv?: string;
  awsRegion: string;
  awsProfile?: string;
  /**
   * Only whether static keys are present in the environment; the SDK chain reads the values.
   * The access key id is kept as a hint (first 4 characters: the key type, e.g. AKIA/ASIA).
   */
  awsStaticKeys: { accessKeyIdHint?: string; hasSecretAccessKey: boolean; hasSessionToken: boolean };
  mongodbUrl: string;
  mongodbDatabase: string;
  dynamodbMetricsTable: string;
  dynamodbReportsTable: string;
  /**
   * Where the index and the unit locks live: `local` (the state dir) or `dynamodb` (shared by
   * coordinators on several machines, with the intermediates in S3). SHARED_STATE; default `dynamodb`
   * in AWS mode (AWS_EXECUTION_ENV), else `local`.
   */
  sharedState: 'local' | 'dynamodb';
  dynamodbIndexTable: string;
  dynamodbLocksTable: string;
  /** A unit-lock entry without a refresh for this long is taken to be its holder's that is gone. */
  unitLockLeaseMs: number;
  /** Where the intermediates go with SHARED_STATE=dynamodb (default: the reports bucket, `intermediates`). */
  s3IntermediatesBucket?: string;
  s3IntermediatesPrefix: string;
  s3RawBucket?: string;
  s3RawPrefix: string;
  s3CacheDir: string;
  /** Byte budget of the S3 cache; least-recently-used objects are evicted after each run. */
  s3CacheMaxBytes: number;
  s3ReportsBucket?: string;
  s3ReportsPrefix: string;
  s3EndpointUrl?: string;
  s3ForcePathStyle: boolean;
  /** Raw input falls back to DATA_DIR when S3 keeps failing with transient errors (S3_FALLBACK, default on). */
  s3Fallback: boolean;
  /** Units computed at once by a run (see `runConcurrency`): PIPELINE_CONCURRENCY, else the CPU count. */
  pipelineConcurrency: number;
  /** Where `pipelineConcurrency` comes from. */
  pipelineConcurrencyFrom: 'PIPELINE_CONCURRENCY' | 'CPU count';
  logLevel: LogLevel;
}

/** Raised for invalid settings; `problems` lists every bad variable with what to do about it. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nFix the environment variables (or .env) and run again.',
    );
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** `.env` file to read (never overriding real variables); false to skip. Default `<cwd>/.env`. */
  envFile?: string | false;
  /** Base for relative paths and of `.env`: the project folder. Default `process.cwd()`. */
  cwd?: string;
  /** What `cwd` is, for messages (default "the current directory"). */
  base?: string;
}

type Env = Record<string, string | undefined>;

// S3 bucket naming rules (3–63 chars, lowercase letters, digits, dots and hyphens).
const bucketName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    'must be a valid S3 bucket name (3-63 lowercase letters, digits, . or -)',
  );
const prefix = z
  .string()
  .refine((s) => !s.split('/').includes('..'), 'must not contain ".."')
  .transform((s) => s.replace(/^\/+|\/+$/g, ''));
const flag = z.stringbool({
  truthy: ['true', '1', 'yes', 'on'],
  falsy: ['false', '0', 'no', 'off'],
});
const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12 };
/** A byte size such as `10GB`, `500 MB` or `1048576` (decimal units: 1 GB = 10^9 bytes). */
const byteSize = z
  .string()
  .regex(/^\s*\d+(\.\d+)?\s*(b|kb|mb|gb|tb)?\s*$/i, 'must be a size such as 10GB, 500MB or a number of bytes')
  .transform((s) => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(s)!;
    return Math.round(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!);
  });
const tableName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)');

const envSchema = z.object({
  DATA_DIR: z.string().default('./data'),
  OUTPUT_DIR: z.string().default('./output'),
  STATE_DIR: z.string().default('./.cityflow'),
  DATABASE_TYPE: z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.enum(['local', 'dynamodb', 'mongodb'], { message: 'must be local, dynamodb or mongodb' }))
    .optional(),
  USE_S3: flag.default(false),
  USE_DYNAMODB: flag.default(false),
  AWS_EXECUTION_ENV: z.string().optional(),
  AWS_REGION: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must look like an AWS region (e.g. eu-west-3)')
    .default('eu-west-3'),
  AWS_PROFILE: z.string().optional(),
  AWS_ACCESS_KEY_ID: z.string().optional(),
  AWS_SECRET_ACCESS_KEY: z.string().optional(),
  AWS_SESSION_TOKEN: z.string().optional(),
  MONGODB_URL: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\/\S+$/, 'must start with mongodb:// or mongodb+srv://')
    .default('mongodb://localhost:27017/'),
  MONGODB_DATABASE: z
    .string()
    .regex(/^[^/\\. "$*<>:|?]{1,63}$/, 'must be a MongoDB database name')
    .default('cityflow'),
  DYNAMODB_METRICS_TABLE: tableName.default('cityflow-metrics'),
  DYNAMODB_REPORTS_TABLE: tableName.default('cityflow-reports'),
  SHARED_STATE: z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.enum(['local', 'dynamodb'], { message: 'must be local or dynamodb' }))
    .optional(),
  DYNAMODB_INDEX_TABLE: tableName.default('cityflow-index'),
  DYNAMODB_LOCKS_TABLE: tableName.default('cityflow-locks'),
  UNIT_LOCK_LEASE_SECONDS: z.coerce
    .number({ message: 'must be a number of seconds' })
    .min(1, 'must be at least 1 (second)')
    .max(3600, 'must be at most 3600 (seconds)')
    .default(30),
  S3_INTERMEDIATES_BUCKET: bucketName.optional(),
  S3_INTERMEDIATES_PREFIX: prefix.default('intermediates'),
  S3_RAW_BUCKET: bucketName.optional(),
  S3_RAW_PREFIX: prefix.default('raw'),
  S3_CACHE_DIR: z.string().default('./.cache/s3'),
  S3_CACHE_MAX_SIZE: byteSize.default(10e9),
  S3_REPORTS_BUCKET: bucketName.optional(),
  S3_REPORTS_PREFIX: prefix.default('reports'),
  S3_ENDPOINT_URL: z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL, e.g. http://127.0.0.1:7480' })
    .optional(),
  S3_FORCE_PATH_STYLE: flag.optional(),
  S3_FALLBACK: flag.default(true),
  PIPELINE_CONCURRENCY: z.coerce
    .number({ message: 'must be a whole number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(64, 'must be at most 64')
    .optional(),
  LOG_LEVEL: z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.enum(['debug', 'info', 'warn', 'error'], { message: 'must be debug, info, warn or error' }))
    .default('info'),
});

/** Empty strings count as unset (a `.env` line `S3_ENDPOINT_URL=` means "no endpoint"). */
function withoutEmpty(env: Env): Env {
  const out: Env = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && v.trim() !== '') out[k] = v.trim();
  }
  return out;
}

function readEnvFile(file: string): Env {
  if (!existsSync(file)) return {};
  return parseDotenv(readFileSync(file));
}

/**
 * Reads and validates the configuration. Throws `ConfigError` listing every invalid variable.
 * When `env` is `process.env`, variables from `.env` that are not already set are also copied into
 * `process.env` (like `dotenv.config()`), so the AWS SDK credential chain sees them.
 */
export function loadConfig(env: Env = process.env, options: LoadConfigOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const envFile = options.envFile ?? path.join(cwd, '.env');
  const fromFile = envFile === false ? {} : readEnvFile(envFile);
  if (env === process.env) {
    for (const [k, v] of Object.entries(fromFile)) if (process.env[k] === undefined) process.env[k] = v;
  }
  const merged = withoutEmpty({ ...fromFile, ...env });

  const parsed = envSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const name = String(i.path[0] ?? '?');
        // Never echo the value of a secret variable; URLs are shown with their credentials masked.
        const shown = isSecretVar(name) ? '' : ` (got ${maskSecrets(JSON.stringify(merged[name] ?? ''))})`;
        return `${name}${shown}: ${i.message}`;
      }),
    );
  }
  const e = parsed.data;
  const problems: string[] = [];

  const rawFromS3 = e.AWS_EXECUTION_ENV !== undefined || e.USE_S3;
  const dynamoForcedBy = e.AWS_EXECUTION_ENV
    ? `AWS_EXECUTION_ENV=${e.AWS_EXECUTION_ENV}`
    : e.USE_DYNAMODB
      ? 'USE_DYNAMODB=true'
      : undefined;
  let database: DatabaseKind = e.DATABASE_TYPE ?? 'local';
  if (dynamoForcedBy) {
    if (e.DATABASE_TYPE !== undefined && e.DATABASE_TYPE !== 'dynamodb') {
      problems.push(
        `DATABASE_TYPE=${e.DATABASE_TYPE} conflicts with ${dynamoForcedBy} (which selects DynamoDB): unset one of them`,
      );
    }
    database = 'dynamodb';
  }
  if (rawFromS3) {
    const why = e.AWS_EXECUTION_ENV ? `AWS_EXECUTION_ENV is set` : 'USE_S3=true';
    if (!e.S3_RAW_BUCKET) problems.push(`S3_RAW_BUCKET: required because ${why} (raw input is read from S3)`);
    if (!e.S3_REPORTS_BUCKET)
      problems.push(`S3_REPORTS_BUCKET: required because ${why} (the report CSV is written to S3)`);
  }
  const sharedState = e.SHARED_STATE ?? (e.AWS_EXECUTION_ENV !== undefined ? 'dynamodb' : 'local');
  if (sharedState === 'dynamodb' && !rawFromS3)
    problems.push(
      'SHARED_STATE=dynamodb: needs S3 mode (AWS_EXECUTION_ENV or USE_S3=true), where the intermediates ' +
        'are shared; set USE_S3=true with S3_RAW_BUCKET and S3_REPORTS_BUCKET, or SHARED_STATE=local',
    );
  if (e.AWS_SECRET_ACCESS_KEY && !e.AWS_ACCESS_KEY_ID)
    problems.push('AWS_ACCESS_KEY_ID: required when AWS_SECRET_ACCESS_KEY is set');
  if (e.AWS_ACCESS_KEY_ID && !e.AWS_SECRET_ACCESS_KEY)
    problems.push('AWS_SECRET_ACCESS_KEY: required when AWS_ACCESS_KEY_ID is set');
  if (problems.length > 0) throw new ConfigError(problems);

  const abs = (p: string) => path.resolve(cwd, p);
  return {
    dataDir: abs(e.DATA_DIR),
    dataDirFrom: {
      setting: e.DATA_DIR,
      default: merged.DATA_DIR === undefined,
      cwd,
      base: options.base ?? 'the current directory',
    },
    outputDir: abs(e.OUTPUT_DIR),
    stateDir: abs(e.STATE_DIR),
    database,
    rawFromS3,
    databaseType: e.DATABASE_TYPE ?? 'local',
    useS3: e.USE_S3,
    useDynamoDB: e.USE_DYNAMODB,
    ...(e.AWS_EXECUTION_ENV !== undefined && { awsExecutionEnv: e.AWS_EXECUTION_ENV }),
    awsRegion: e.AWS_REGION,
    ...(e.AWS_PROFILE !== undefined && { awsProfile: e.AWS_PROFILE }),
    awsStaticKeys: {
      ...(e.AWS_ACCESS_KEY_ID !== undefined && { accessKeyIdHint: `${e.AWS_ACCESS_KEY_ID.slice(0, 4)}****` }),
      hasSecretAccessKey: e.AWS_SECRET_ACCESS_KEY !== undefined,
      hasSessionToken: e.AWS_SESSION_TOKEN !== undefined,
    },
    mongodbUrl: e.MONGODB_URL,
    mongodbDatabase: e.MONGODB_DATABASE,
    dynamodbMetricsTable: e.DYNAMODB_METRICS_TABLE,
    dynamodbReportsTable: e.DYNAMODB_REPORTS_TABLE,
    sharedState,
    dynamodbIndexTable: e.DYNAMODB_INDEX_TABLE,
    dynamodbLocksTable: e.DYNAMODB_LOCKS_TABLE,
    unitLockLeaseMs: Math.round(e.UNIT_LOCK_LEASE_SECONDS * 1000),
    ...((e.S3_INTERMEDIATES_BUCKET ?? e.S3_REPORTS_BUCKET) !== undefined && {
      s3IntermediatesBucket: e.S3_INTERMEDIATES_BUCKET ?? e.S3_REPORTS_BUCKET,
    }),
    s3IntermediatesPrefix: e.S3_INTERMEDIATES_PREFIX,
    ...(e.S3_RAW_BUCKET !== undefined && { s3RawBucket: e.S3_RAW_BUCKET }),
    s3RawPrefix: e.S3_RAW_PREFIX,
    s3CacheDir: abs(e.S3_CACHE_DIR),
    s3CacheMaxBytes: e.S3_CACHE_MAX_SIZE,
    ...(e.S3_REPORTS_BUCKET !== undefined && { s3ReportsBucket: e.S3_REPORTS_BUCKET }),
    s3ReportsPrefix: e.S3_REPORTS_PREFIX,
    ...(e.S3_ENDPOINT_URL !== undefined && { s3EndpointUrl: e.S3_ENDPOINT_URL }),
    // Custom endpoints (Ceph, MinIO) need path-style addressing; AWS itself prefers virtual hosts.
    s3ForcePathStyle: e.S3_FORCE_PATH_STYLE ?? e.S3_ENDPOINT_URL !== undefined,
    s3Fallback: e.S3_FALLBACK,
    pipelineConcurrency: e.PIPELINE_CONCURRENCY ?? availableParallelism(),
    pipelineConcurrencyFrom: e.PIPELINE_CONCURRENCY === undefined ? 'CPU count' : 'PIPELINE_CONCURRENCY',
    logLevel: e.LOG_LEVEL,
  };
}

function isSecretVar(name: string): boolean {
  return /SECRET|TOKEN|PASSWORD|ACCESS_KEY|MONGODB_URL/i.test(name);
}

/**
 * One line saying where raw input comes from and where outputs go (the project's config may add what it
 * publishes elsewhere: see `describe` in define-config.ts).
 */
export function describeMode(config: Config): string {
  const why = config.awsExecutionEnv
    ? `AWS mode: AWS_EXECUTION_ENV=${config.awsExecutionEnv}`
    : config.rawFromS3 || config.database !== 'local'
      ? `Mixed mode: ${[config.useS3 && 'USE_S3=true', config.useDynamoDB && 'USE_DYNAMODB=true', config.databaseType !== 'local' && `DATABASE_TYPE=${config.databaseType}`].filter(Boolean).join(', ')}`
      : 'Local mode';
  const raw = config.rawFromS3
    ? `raw from ${s3Url(config.s3RawBucket, config.s3RawPrefix)}${config.s3EndpointUrl ? ` at ${maskSecrets(config.s3EndpointUrl)}` : ''} (cache ${config.s3CacheDir})`
    : `raw from ${config.dataDir}`;
  const metrics =
    config.database === 'dynamodb'
      ? `metrics to DynamoDB ${config.dynamodbMetricsTable} (${config.awsRegion})`
      : config.database === 'mongodb'
        ? `metrics to MongoDB ${config.mongodbDatabase} at ${maskSecrets(config.mongodbUrl)}`
        : `metrics to local JSON files in ${config.outputDir}`;
  const shared =
    config.sharedState === 'dynamodb'
      ? `, index and unit locks in DynamoDB ${config.dynamodbIndexTable} / ${config.dynamodbLocksTable}`
      : '';
  return `${why} → ${raw}, ${metrics}${shared}`;
}

/** `s3://bucket/prefix` (for messages). */
export function s3Url(bucket: string | undefined, prefix: string): string {
  return `s3://${bucket ?? '?'}${prefix ? `/${prefix}` : ''}`;
}

/**
 * Units computed at once by a run: `--concurrency` when given, else PIPELINE_CONCURRENCY, else the CPU
 * count (`os.availableParallelism()`). The one rule for `materialize` and `pipeline env`.
 */
export function runConcurrency(
  config: Pick<Config, 'pipelineConcurrency' | 'pipelineConcurrencyFrom'>,
  flag?: number,
): { value: number; from: '--concurrency' | Config['pipelineConcurrencyFrom'] } {
  if (flag !== undefined) return { value: flag, from: '--concurrency' };
  return { value: config.pipelineConcurrency, from: config.pipelineConcurrencyFrom };
}

/** `4 (CPU count)`. */
export function describeConcurrency(c: ReturnType<typeof runConcurrency>): string {
  return `${c.value} (${c.from})`;
}

/** Every setting as `VARIABLE → value` for display, with secrets masked. */
export function printableConfig(config: Config): Record<string, string> {
  const keys = config.awsStaticKeys;
  const out: Record<string, string> = {
    DATA_DIR: config.dataDir,
    OUTPUT_DIR: config.outputDir,
    STATE_DIR: config.stateDir,
    DATABASE_TYPE: config.databaseType,
    'database (effective)': config.database,
    'raw from S3 (effective)': String(config.rawFromS3),
    USE_S3: String(config.useS3),
    USE_DYNAMODB: String(config.useDynamoDB),
    AWS_EXECUTION_ENV: config.awsExecutionEnv ?? '(unset)',
    AWS_REGION: config.awsRegion,
    AWS_PROFILE: config.awsProfile ?? '(unset)',
    AWS_ACCESS_KEY_ID: keys.accessKeyIdHint ?? '(unset)',
    AWS_SECRET_ACCESS_KEY: keys.hasSecretAccessKey ? '****' : '(unset)',
    AWS_SESSION_TOKEN: keys.hasSessionToken ? '****' : '(unset)',
    MONGODB_URL: maskSecrets(config.mongodbUrl),
    MONGODB_DATABASE: config.mongodbDatabase,
    DYNAMODB_METRICS_TABLE: config.dynamodbMetricsTable,
    DYNAMODB_REPORTS_TABLE: config.dynamodbReportsTable,
    SHARED_STATE: config.sharedState,
    DYNAMODB_INDEX_TABLE: config.dynamodbIndexTable,
    DYNAMODB_LOCKS_TABLE: config.dynamodbLocksTable,
    UNIT_LOCK_LEASE_SECONDS: String(config.unitLockLeaseMs / 1000),
    S3_INTERMEDIATES_BUCKET: config.s3IntermediatesBucket ?? '(unset)',
    S3_INTERMEDIATES_PREFIX: config.s3IntermediatesPrefix,
    S3_RAW_BUCKET: config.s3RawBucket ?? '(unset)',
    S3_RAW_PREFIX: config.s3RawPrefix,
    S3_CACHE_DIR: config.s3CacheDir,
    S3_CACHE_MAX_SIZE: `${config.s3CacheMaxBytes} bytes`,
    S3_REPORTS_BUCKET: config.s3ReportsBucket ?? '(unset)',
    S3_REPORTS_PREFIX: config.s3ReportsPrefix,
    S3_ENDPOINT_URL: config.s3EndpointUrl ? maskSecrets(config.s3EndpointUrl) : '(unset)',
    S3_FORCE_PATH_STYLE: String(config.s3ForcePathStyle),
    S3_FALLBACK: config.s3Fallback ? 'on' : 'off',
    PIPELINE_CONCURRENCY:
      config.pipelineConcurrencyFrom === 'PIPELINE_CONCURRENCY'
        ? String(config.pipelineConcurrency)
        : '(unset)',
    'concurrency (effective)': describeConcurrency(runConcurrency(config)),
    LOG_LEVEL: config.logLevel,
  };
  return out;
}

/** The S3 client settings of a configuration (region, endpoint, addressing, profile). */
export function s3ClientSettings(config: Config): S3ClientOptions {
  return {
    region: config.awsRegion,
    endpoint: config.s3EndpointUrl,
    forcePathStyle: config.s3ForcePathStyle,
    profile: config.awsProfile,
  };
}
