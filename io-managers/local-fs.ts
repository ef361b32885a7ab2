import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../engine/atomic.ts';
import {
  MissingValueError,
  type IOContext,
  type IOManager,
  type StoredStat,
  type StoreResult,
} from '../engine/io.ts';

const SAFE_SEGMENT = /^[A-Za-z0-9_.=-]+$/;

function safeSegment(s: string, what: string): string {
  if (!SAFE_SEGMENT.test(s) || s === '.' || s === '..')
    throw new Error(`Unsafe ${what} for a file name: ${JSON.stringify(s)}`);
  return s;
}

/** Text assets declared with `ioMeta.format: 'csv'` are stored as the text itself, not as JSON. */
const isText = (ctx: IOContext): boolean => ctx.ioMeta?.format === 'csv';

/**
 * The embedded default store: `<rootDir>/<asset key>/<partition key or "all">.json` (`.csv` for text
 * assets), written atomically.
 * The data version is kept in a small sidecar (`.version`) written after the value, so `stat` is cheap.
 */
/** Compact JSON from this size up (characters); indented below it. */
export const COMPACT_JSON_FROM = 256 * 1024;

/**
 * A value's file content: indented JSON when small (a person may open it), compact JSON for big
 * values — one day of road-count arc-days is 2.4 MB compact against 4.2 MB indented, and indenting
 * 222 days of them cost ≈ 10 ms a day and 400 MB of disk for nobody to read.
 */
function jsonBody(value: unknown): string {
  const compact = JSON.stringify(value);
  return compact.length >= COMPACT_JSON_FROM ? compact : JSON.stringify(value, null, 2);
}

export class LocalFsIOManager implements IOManager {
  readonly name = 'local-fs';
  constructor(private readonly opts: { rootDir: string }) {}

  pathOf(ctx: IOContext): string {
    return join(
      this.opts.rootDir,
      safeSegment(ctx.assetKey, 'asset key'),
      `${safeSegment(ctx.partitionKey, 'partition key')}.${isText(ctx) ? 'csv' : 'json'}`,
    );
  }

  async load(ctx: IOContext): Promise<unknown> {
    const path = this.pathOf(ctx);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new MissingValueError(ctx.assetKey, ctx.partitionKey, path);
      throw err;
    }
    return isText(ctx) ? text : JSON.parse(text);
  }

  async store(ctx: IOContext, value: unknown, dataVersion: string): Promise<StoreResult> {
    const path = this.pathOf(ctx);
    if (isText(ctx) && typeof value !== 'string')
      throw new TypeError(`${ctx.assetKey}: a csv asset must produce a string`);
    const body = isText(ctx) ? (value as string) : jsonBody(value);
    await writeFileAtomic(path, body);
    await writeFileAtomic(`${path}.version`, dataVersion);
    return { bytes: Buffer.byteLength(body), location: path };
  }

  async stat(ctx: IOContext): Promise<StoredStat | null> {
    const path = this.pathOf(ctx);
    try {
      const [st, version] = await Promise.all([stat(path), readFile(`${path}.version`, 'utf8')]);
      return { dataVersion: version.trim(), bytes: st.size, location: path };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }
}
