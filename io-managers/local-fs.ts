import { createHash, randomInt } from 'node:crypto';
import { statSync } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { openFileAtomic, writeFileAtomic } from '../engine/atomic.ts';
import {
  decodeValue,
  encodedForStorage,
  FORMAT_FILES,
  formatOf,
  type EncodedValue,
} from '../engine/encode.ts';
import { fileStorageSchema, type FileStorage } from '../engine/storage.ts';
import {
  MissingValueError,
  type IOContext,
  type IOManager,
  type StoredStat,
  type StoreResult,
  type ValueWriter,
} from '../engine/io.ts';

const SAFE_SEGMENT = /^[A-Za-z0-9_.=-]+$/;

function safeSegment(s: string, what: string): string {
  if (!SAFE_SEGMENT.test(s) || s === '.' || s === '..')
    throw new Error(`Unsafe ${what} for a file name: ${JSON.stringify(s)}`);
  return s;
}

/** The asset's `storage.file` section (engine/storage.ts); JSON in `.json` files by default. */
const fileOf = (ctx: IOContext): FileStorage => ctx.storage?.file ?? {};

const extensionOf = (ctx: IOContext): string =>
  fileOf(ctx).extension ?? FORMAT_FILES[formatOf(ctx.storage)].extension;

/** @deprecated moved to engine/hash.ts (canonical JSON is compact from this size). */
export { COMPACT_JSON_FROM } from '../engine/hash.ts';

/** What the `.version` file of a value says (one line of JSON). */
interface VersionRecord {
  dataVersion: string;
  /** Size of the value file it describes. */
  bytes: number;
  /** SHA-256 (hex) of the value file it describes. */
  sha256: string;
}

function parseVersionRecord(text: string): VersionRecord | null {
  let r: Partial<VersionRecord>;
  try {
    r = JSON.parse(text) as Partial<VersionRecord>;
  } catch {
    return null; // the previous layout: the bare data version, not bound to the value (rebuilt once)
  }
  return r &&
    typeof r === 'object' &&
    typeof r.dataVersion === 'string' &&
    typeof r.bytes === 'number' &&
    typeof r.sha256 === 'string'
    ? { dataVersion: r.dataVersion, bytes: r.bytes, sha256: r.sha256 }
    : null;
}

/** The steps of a store, in order (see `LocalFsOptions.onStoreStep`). */
export type LocalStoreStep = 'write-value' | 'rename-value' | 'write-version' | 'rename-version';

export interface LocalFsOptions {
  rootDir: string;
  /**
   * Fault injection in tests: awaited before each step of a store. A promise that never settles stops
   * the store there for good, leaving the files as a process killed at that point would.
   */
  onStoreStep?: (step: LocalStoreStep, path: string) => Promise<void> | void;
}

/**
 * The embedded default store: `<rootDir>/<asset key>/<partition key or "all">.json` (the asset's
 * `storage.file.extension` if it declares one; text assets hold the text itself), plain JSON (or the CSV text) that anyone can read, written atomically.
 *
 * Beside it, `<file>.version` binds the engine's data version to that exact content:
 * `{"dataVersion","bytes","sha256"}` of the value file. Both files are given the same modification
 * time, unique to the store that wrote them. `stat` is cheap: one `stat` of the value and one small
 * read; when size and modification time match, the pair is one store's (no re-read of a 2.4 MB value).
 * Otherwise (a store killed between its two renames, a value replaced behind the engine's back, a copy
 * that did not keep modification times) the value is hashed: the version is reported only if the hash
 * matches, else `stat` says nothing is stored and the unit is rebuilt. A `.version` of the previous
 * layout (the bare version) is not trusted either: those units are rebuilt once.
 */
export class LocalFsIOManager implements IOManager {
  readonly name = 'local-fs';
  readonly accepts = { section: 'file', schema: fileStorageSchema } as const;
  readonly storesTables = true;
  constructor(private readonly opts: LocalFsOptions) {}

  pathOf(ctx: IOContext): string {
    return join(
      this.opts.rootDir,
      safeSegment(ctx.assetKey, 'asset key'),
      `${safeSegment(ctx.partitionKey, 'partition key')}.${extensionOf(ctx)}`,
    );
  }

  async load(ctx: IOContext): Promise<unknown> {
    const path = this.pathOf(ctx);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new MissingValueError(ctx.assetKey, ctx.partitionKey, path);
      throw err;
    }
    return decodeValue(bytes, formatOf(ctx.storage));
  }

  /**
   * Writes the bytes the engine encoded (`encoded`: their hash is `dataVersion`), or, called without
   * them, the value encoded the same way (engine/encode.ts).
   */
  async store(
    ctx: IOContext,
    value: unknown,
    dataVersion: string,
    encoded?: EncodedValue,
  ): Promise<StoreResult> {
    const enc = await encodedForStorage(ctx.storage, ctx.assetKey, value, encoded);
    const writer = await this.openValue(ctx);
    try {
      for (const chunk of enc.chunks) await writer.write(chunk);
    } catch (err) {
      await writer.abort();
      throw err;
    }
    return writer.commit({ ...enc, dataVersion });
  }

  /**
   * The value file written as the engine encodes it (a temp file beside it, renamed into place on
   * commit), then its `.version`: the data version and the size and SHA-256 of the file it describes.
   */
  async openValue(ctx: IOContext): Promise<ValueWriter> {
    const path = this.pathOf(ctx);
    // Now, less a random fraction of a millisecond: no two stores give the same time, so a value and
    // a `.version` of different stores never pair up by chance.
    const mtime = (Date.now() - randomInt(1, 1000) / 1000) / 1000;
    const step = this.opts.onStoreStep ?? (() => {});
    await step('write-value', path);
    const file = await openFileAtomic(path, { mtime, beforeRename: () => step('rename-value', path) });
    return {
      write: (piece) => file.write(piece),
      abort: () => file.abort(),
      commit: async (digest) => {
        await file.commit();
        const record: VersionRecord = {
          dataVersion: digest.dataVersion,
          bytes: digest.bytes,
          sha256: digest.sha256,
        };
        await step('write-version', path);
        await writeFileAtomic(`${path}.version`, JSON.stringify(record) + '\n', {
          mtime,
          beforeRename: () => step('rename-version', path),
        });
        return { bytes: digest.bytes, location: path, stamp: stampOf(path) ?? undefined };
      },
    };
  }

  /** Removes a value no longer current (its unit now has no data): the `.version` first, then the value. */
  async delete(ctx: IOContext): Promise<void> {
    const path = this.pathOf(ctx);
    await rm(`${path}.version`, { force: true });
    await rm(path, { force: true });
  }

  /** The value file has the size and modification time its store recorded (one `stat`; see `stampOf`). */
  isUnchanged(ctx: IOContext, stamp: string): boolean {
    return stampOf(this.pathOf(ctx)) === stamp;
  }

  async stat(ctx: IOContext): Promise<StoredStat | null> {
    const path = this.pathOf(ctx);
    const [st, side] = await Promise.all([
      stat(path, { bigint: true }).catch(orNullIfMissing),
      readVersionFile(`${path}.version`),
    ]);
    if (!st || !side) return null;
    const rec = parseVersionRecord(side.text);
    if (!rec || BigInt(rec.bytes) !== st.size) return null;
    if (st.mtimeNs !== side.mtimeNs) {
      // Not written together (or copied without their times): believe the version only for this content.
      const sha = createHash('sha256')
        .update(await readFile(path))
        .digest('hex');
      if (sha !== rec.sha256) return null;
    }
    return { dataVersion: rec.dataVersion, bytes: rec.bytes, location: path };
  }
}

/**
 * Size and modification time of a file (null if there is none). A store gives its files a modification
 * time with a random sub-millisecond part, so an equal stamp means the very file that store wrote.
 */
function stampOf(path: string): string | null {
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    return st ? `${st.size}:${st.mtimeMs}` : null;
  } catch {
    return null; // unreadable: the full `stat` will say why
  }
}

function orNullIfMissing(err: unknown): null {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
  throw err;
}

/** The `.version` file's text and modification time, from one open file (null when there is none). */
async function readVersionFile(path: string): Promise<{ text: string; mtimeNs: bigint } | null> {
  const fh = await open(path, 'r').catch(orNullIfMissing);
  if (!fh) return null;
  try {
    const [st, text] = await Promise.all([fh.stat({ bigint: true }), fh.readFile('utf8')]);
    return { text, mtimeNs: st.mtimeNs };
  } finally {
    await fh.close();
  }
}
