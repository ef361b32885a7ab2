/**
 * A MirrorIOManager copy to S3: after each store, the value is PUT once more at a key the project
 * chooses (e.g. a report published for readers outside the pipeline). A PUT is atomic: readers see the
 * previous object or the new one.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { IOContext } from '../../engine/io.ts';
import type { Mirror } from '../mirror.ts';
import { describeS3Error } from './client.ts';

export interface S3MirrorOptions {
  client: S3Client;
  bucket: string;
  /** The object key of a unit's copy. */
  key: (ctx: IOContext) => string;
  /** The object's body; default: strings as they are, other values as indented JSON plus a newline. */
  body?: (value: unknown) => string;
  /** Default `application/json; charset=utf-8`. */
  contentType?: string;
  /** Names the copy in errors (default "a copy of <asset>"): `S3 publish of <what> to s3://… failed (…)`. */
  what?: string;
}

const defaultBody = (value: unknown): string =>
  typeof value === 'string' ? value : JSON.stringify(value, null, 2) + '\n';

/** PUTs one object; returns its `s3://` URL. A failure says it was the publish, and where. */
export async function putCopy(
  opts: Pick<S3MirrorOptions, 'client' | 'bucket'>,
  key: string,
  body: string,
  contentType: string,
  what: string,
): Promise<string> {
  const url = `s3://${opts.bucket}/${key}`;
  try {
    await opts.client.send(
      new PutObjectCommand({
        Bucket: opts.bucket,
        Key: key,
        Body: body,
        ContentLength: Buffer.byteLength(body),
        ContentType: contentType,
      }),
    );
  } catch (err) {
    // Say which step failed: the publish to S3, not the computation or the primary copy.
    throw new Error(`S3 publish of ${what} to ${url} failed (${describeS3Error(err)})`, { cause: err });
  }
  return url;
}

/** A Mirror (io-managers/mirror.ts) writing each stored value to S3 as well. */
export function s3Mirror(opts: S3MirrorOptions): Mirror {
  return (ctx, value) =>
    putCopy(
      opts,
      opts.key(ctx),
      (opts.body ?? defaultBody)(value),
      opts.contentType ?? 'application/json; charset=utf-8',
      opts.what ?? `a copy of ${ctx.assetKey}`,
    );
}
