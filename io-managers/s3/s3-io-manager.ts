/**
 * IOManager storing JSON values at `s3://<bucket>/<prefix>/<assetKey>/<partition>.json` (text assets,
 * `storage: { file: { format: 'text', extension } }`, as their text under their extension; table assets
 * as an Arrow IPC stream, `.arrows`): the bytes the engine encoded (engine/encode.ts), with the
 * engine's data version in the object metadata so `stat` is one HEAD. A PUT is atomic on S3:
 * readers see the old object or the new one, never a mix.
 */
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  MissingValueError,
  type IOContext,
  type IOManager,
  type StoreResult,
  type StoredStat,
} from '../../engine/io.ts';
import {
  bytesOf,
  decodeValue,
  encodedForStorage,
  FORMAT_FILES,
  formatOf,
  type EncodedValue,
} from '../../engine/encode.ts';
import { fileStorageSchema } from '../../engine/storage.ts';
import { assertSafeKey } from './cache.ts';
import { isNotFound } from './client.ts';

/** S3 user metadata keys are lower-cased by servers; keep ours lower-case. */
const VERSION_META = 'cityflow-data-version';

export interface S3IOManagerOptions {
  client: S3Client;
  bucket: string;
  /** Folder inside the bucket, e.g. `assets`. */
  prefix: string;
}

const extensionOf = (ctx: IOContext): string =>
  ctx.storage?.file?.extension ?? FORMAT_FILES[formatOf(ctx.storage)].extension;

export class S3IOManager implements IOManager {
  readonly name = 's3';
  /** Reads `storage.file` (format, extension), as the local-files manager does. */
  readonly accepts = { section: 'file', schema: fileStorageSchema } as const;
  readonly storesTables = true;
  private readonly root: string;

  constructor(private readonly opts: S3IOManagerOptions) {
    this.root = opts.prefix.replace(/^\/+|\/+$/g, '');
  }

  /** Object key of one unit. Asset keys may contain `/` (folders); unsafe segments are refused. */
  keyFor(ctx: IOContext): string {
    assertSafeKey(ctx.assetKey);
    if (ctx.partitionKey.includes('/'))
      throw new Error(`Partition key cannot contain "/": ${ctx.partitionKey}`);
    assertSafeKey(ctx.partitionKey);
    const rel = `${ctx.assetKey}/${ctx.partitionKey}.${extensionOf(ctx)}`;
    return this.root ? `${this.root}/${rel}` : rel;
  }

  private url(key: string): string {
    return `s3://${this.opts.bucket}/${key}`;
  }

  async load(ctx: IOContext): Promise<unknown> {
    const key = this.keyFor(ctx);
    try {
      const res = await this.opts.client.send(new GetObjectCommand({ Bucket: this.opts.bucket, Key: key }));
      if (!res.Body) throw new Error(`Empty response body for ${this.url(key)}`);
      return decodeValue(await res.Body.transformToByteArray(), formatOf(ctx.storage));
    } catch (err) {
      if (isNotFound(err)) throw new MissingValueError(ctx.assetKey, ctx.partitionKey, this.url(key));
      throw err;
    }
  }

  /** PUTs the bytes the engine encoded (their hash is `dataVersion`), or the value encoded the same way. */
  async store(
    ctx: IOContext,
    value: unknown,
    dataVersion: string,
    encoded?: EncodedValue,
  ): Promise<StoreResult> {
    const key = this.keyFor(ctx);
    const enc = await encodedForStorage(ctx.storage, ctx.assetKey, value, encoded);
    const format = enc.format;
    const body = bytesOf(enc);
    const bytes = enc.bytes;
    await this.opts.client.send(
      new PutObjectCommand({
        Bucket: this.opts.bucket,
        Key: key,
        Body: body,
        ContentLength: bytes,
        ContentType: FORMAT_FILES[format].contentType,
        // Metadata travels in HTTP headers: ASCII only, so the version is URI-encoded.
        Metadata: { [VERSION_META]: encodeURIComponent(dataVersion) },
      }),
    );
    return { bytes, location: this.url(key) };
  }

  async stat(ctx: IOContext): Promise<StoredStat | null> {
    const key = this.keyFor(ctx);
    try {
      const res = await this.opts.client.send(new HeadObjectCommand({ Bucket: this.opts.bucket, Key: key }));
      const v = res.Metadata?.[VERSION_META];
      if (v === undefined) return null; // not written by this manager
      return {
        dataVersion: decodeURIComponent(v),
        ...(res.ContentLength !== undefined && { bytes: res.ContentLength }),
        location: this.url(key),
      };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }
}
