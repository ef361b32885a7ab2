/**
 * Whether the raw prefix holds anything at all, asked once before a run plans (one ListObjectsV2 of at
 * most one key). An empty prefix is a configuration mistake — a typo in S3_RAW_PREFIX, data not
 * uploaded — not days without data: the pipeline refuses to run rather than computing every day from no
 * input. A failure answers `unknown`: the source itself reports it (a missing bucket, access denied) or
 * retries and falls back (S3 unreachable).
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { folderPrefix } from './objects.ts';
import { describeS3Error } from './client.ts';

export type RawPrefixState =
  { state: 'has-objects' } | { state: 'empty' } | { state: 'unknown'; reason: string };

export async function rawPrefixState(
  client: S3Client,
  bucket: string,
  prefix: string,
  signal?: AbortSignal,
): Promise<RawPrefixState> {
  try {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: folderPrefix(prefix), MaxKeys: 1 }),
      { abortSignal: signal },
    );
    return (page.KeyCount ?? page.Contents?.length ?? 0) > 0 ? { state: 'has-objects' } : { state: 'empty' };
  } catch (err) {
    return { state: 'unknown', reason: describeS3Error(err) };
  }
}
