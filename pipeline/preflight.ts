/**
 * What a command checks before it plans or computes anything, so that a configuration mistake is one
 * message and exit code 2 instead of a run built from nothing:
 * - raw input: a missing, unreadable or empty DATA_DIR (a typo, a volume not mounted) — or in S3 mode a
 *   raw prefix without any object — would plan "today" from no data, and with `--partition` turn
 *   every stored value of that day into "no data". The message says the absolute path it looked at, and
 *   how a relative setting was resolved (the project folder), with a hint when run from elsewhere;
 * - the database: DynamoDB tables that do not exist (`pipeline setup` not run) would fail every unit.
 *   MongoDB needs no such check: its collections and indexes are created by the first store.
 * Failures that say nothing about the configuration (S3 or DynamoDB unreachable) are left to the run,
 * whose retries, fallback and per-unit errors deal with them.
 */
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { maskSecrets } from '../engine/redact.ts';
import { ConfigError, s3ClientSettings, type Config } from './config.ts';
import { UsageError } from './days.ts';

/** Raw input present: DATA_DIR in local mode, the raw prefix in S3 mode. Throws ConfigError (exit 2). */
export async function checkRawInput(config: Config, signal?: AbortSignal): Promise<void> {
  if (config.rawFromS3) return checkS3RawPrefix(config, signal);
  return checkDataDir(config);
}

/** DATA_DIR exists, is a folder (or a link to one) and holds at least one file. Throws ConfigError. */
export async function checkDataDir(config: Pick<Config, 'dataDir' | 'dataDirFrom'>): Promise<void> {
  const dir = config.dataDir;
  const problem = await dataDirProblem(dir);
  if (!problem) return;
  const from = config.dataDirFrom;
  const how =
    from && !path.isAbsolute(from.setting)
      ? ` (${from.default ? `DATA_DIR not set, default ${from.setting}` : `DATA_DIR=${from.setting}`}, relative to ${from.base} ${from.cwd})`
      : '';
  const hint = from && !path.isAbsolute(from.setting) ? await elsewhere(from.setting, from.cwd) : '';
  throw new ConfigError([
    `DATA_DIR: ${dir} ${problem}${how}. Nothing was run: without raw input every day would be ` +
      `computed from no data. Set DATA_DIR to the folder of the raw data (api/…, batch/…) or mount it${hint}`,
  ]);
}

/** Why `dir` cannot be the raw data folder, or undefined when it can. */
async function dataDirProblem(dir: string): Promise<string | undefined> {
  let st;
  try {
    st = await stat(dir); // follows a link: a link to nothing is "does not exist"
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR'
      ? 'does not exist'
      : `cannot be read (${code ?? (err as Error).message})`;
  }
  if (!st.isDirectory()) return 'is not a folder';
  try {
    if (!(await hasFile(dir, 8))) return 'is empty (no file in it or in its sub-folders)';
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return `cannot be read (${e.code ?? e.message}${e.path && e.path !== dir ? ` at ${e.path}` : ''})`;
  }
  return undefined;
}

/** Whether `dir` holds a file (hidden ones like .gitkeep do not count), `depth` folders deep at most. */
async function hasFile(dir: string, depth: number): Promise<boolean> {
  const entries: Dirent[] = await readdir(dir, { withFileTypes: true });
  const folders: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    const kind = e.isSymbolicLink()
      ? await stat(p).then(
          (s) => (s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other'),
          () => 'file', // a dangling link is data that is missing: the run names it
        )
      : e.isDirectory()
        ? 'dir'
        : e.isFile()
          ? 'file'
          : 'other';
    if (kind === 'file') return true;
    if (kind === 'dir') folders.push(p);
  }
  if (depth <= 1) return false;
  for (const f of folders) if (await hasFile(f, depth - 1)) return true;
  return false;
}

/** `; from /a/b it would be /a/b/data, which holds files: run there or give an absolute path`. */
async function elsewhere(setting: string, cwd: string): Promise<string> {
  for (let d = path.dirname(cwd); ; d = path.dirname(d)) {
    const candidate = path.resolve(d, setting);
    if (!(await dataDirProblem(candidate)))
      return `; run from ${d}, where it is ${candidate}, or set DATA_DIR to an absolute path`;
    if (path.dirname(d) === d) return '';
  }
}

async function checkS3RawPrefix(config: Config, signal?: AbortSignal): Promise<void> {
  const bucket = config.s3RawBucket;
  if (!bucket) return; // loadConfig already refused this
  const { createS3Client } = await import('../io-managers/s3/client.ts');
  const { rawPrefixState } = await import('../io-managers/s3/raw-check.ts');
  const client = createS3Client({ ...s3ClientSettings(config), maxAttempts: 2 });
  try {
    const r = await rawPrefixState(client, bucket, config.s3RawPrefix, signal);
    const at = config.s3EndpointUrl ? ` at ${maskSecrets(config.s3EndpointUrl)}` : '';
    const url = `s3://${bucket}/${config.s3RawPrefix ? `${config.s3RawPrefix}/` : ''}`;
    if (r.state === 'empty')
      throw new ConfigError([
        `S3_RAW_BUCKET / S3_RAW_PREFIX: no object at all under ${url}${at}. Nothing was run: without raw ` +
          `input every day would be computed from no data. Check S3_RAW_BUCKET=${bucket} and ` +
          `S3_RAW_PREFIX=${config.s3RawPrefix}, or upload the raw data first (pipeline upload)`,
      ]);
  } finally {
    client.destroy();
  }
}

/**
 * DynamoDB mode: the metrics and reports tables exist, and with SHARED_STATE=dynamodb the index and
 * unit-lock tables. Throws UsageError (exit 2) naming the missing ones.
 */
export async function checkDatabaseReady(
  config: Config,
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
): Promise<void> {
  const tables = [
    ...(config.database === 'dynamodb' ? [config.dynamodbMetricsTable, config.dynamodbReportsTable] : []),
    ...(config.sharedState === 'dynamodb' ? [config.dynamodbIndexTable, config.dynamodbLocksTable] : []),
  ];
  if (!tables.length) return;
  const { missingTables } = await import('../io-managers/dynamodb/tables-check.ts');
  const endpoint = env.AWS_ENDPOINT_URL_DYNAMODB;
  const missing = await missingTables({
    region: config.awsRegion,
    ...(endpoint && { endpoint }),
    tables,
    signal,
  });
  if (!missing?.length) return;
  const where = `${endpoint ? maskSecrets(endpoint) : 'AWS'} (region ${config.awsRegion})`;
  throw new UsageError(
    `DynamoDB table${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ` +
      `${missing.length > 1 ? 'do' : 'does'} not exist at ${where}: run \`pipeline setup\` first ` +
      `(it creates them). Nothing was computed.`,
  );
}
