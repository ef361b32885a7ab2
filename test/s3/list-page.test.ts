/**
 * The listing's own parser (io-managers/s3/list-page.ts) against the SDK's on a real Ceph RADOS
 * Gateway: the same keys, sizes, ETags, sub-folders and pages, for keys that need XML escaping.
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listPage, type ListPage } from '../../io-managers/s3/list-page.ts';
import { freshBucket, put, s3SkipReason, testClient } from './helpers.ts';

const skip = s3SkipReason();

const KEYS = [
  'r/a&b.csv',
  'r/less<than>.csv',
  `r/quotes "double" 'single'.csv`,
  'r/space and + plus %20.csv',
  'r/é accent/ü.json',
  'r/emoji 😀/x.json',
  'r/ideograph 中/x.json',
  'r/tab\there.csv',
  'r/dt=2025-01-01/hour=00/bikes_data.csv',
  'r/dt=2025-01-01/hour=01/bikes_data.csv',
  'r/folder/',
];

describe.skipIf(skip !== '')(`ListObjectsV2 pages on Ceph RGW${skip ? ` — SKIPPED: ${skip}` : ''}`, () => {
  let client: S3Client;
  let bucket: string;

  beforeAll(async () => {
    client = testClient();
    bucket = await freshBucket(client, 'listpage');
    await Promise.all(KEYS.map((k, i) => put(client, bucket, k, 'x'.repeat(i))));
  });
  afterAll(() => client?.destroy());

  /** Every page of a listing, by listPage and by the SDK alone. */
  async function both(input: { Prefix: string; Delimiter?: string; MaxKeys?: number }) {
    const ours: ListPage[] = [];
    const sdk: Omit<ListPage, 'parsedBy'>[] = [];
    let token: string | undefined;
    do {
      const p = await listPage(client, { Bucket: bucket, ...input, ContinuationToken: token });
      ours.push(p);
      token = p.isTruncated ? p.nextContinuationToken : undefined;
    } while (token);
    do {
      const o = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, ...input, ContinuationToken: token }),
      );
      sdk.push({
        contents: (o.Contents ?? []).map((c) => ({ Key: c.Key!, Size: c.Size!, ETag: c.ETag! })),
        commonPrefixes: (o.CommonPrefixes ?? []).map((c) => c.Prefix!),
        isTruncated: o.IsTruncated === true,
        nextContinuationToken: o.NextContinuationToken,
      });
      token = o.IsTruncated ? o.NextContinuationToken : undefined;
    } while (token);
    return { ours, sdk };
  }

  it('the same objects as the SDK, read by the fast parser', async () => {
    const { ours, sdk } = await both({ Prefix: 'r/' });
    expect(ours.map((p) => p.parsedBy)).toEqual(['cityflow']);
    expect(ours.map(({ parsedBy: _, ...p }) => p)).toEqual(sdk);
    expect(ours[0]!.contents.map((c) => c.Key).sort()).toEqual([...KEYS].sort());
    expect(ours[0]!.contents.every((c) => /^".+"$/.test(c.ETag))).toBe(true);
  });

  it('the same pages (continuation tokens) and sub-folders', async () => {
    const paged = await both({ Prefix: 'r/', MaxKeys: 4 });
    expect(paged.ours.length).toBe(3);
    expect(paged.ours.map(({ parsedBy: _, ...p }) => p)).toEqual(paged.sdk);
    const folders = await both({ Prefix: 'r/', Delimiter: '/' });
    expect(folders.ours.map(({ parsedBy: _, ...p }) => p)).toEqual(folders.sdk);
    expect(folders.ours[0]!.commonPrefixes).toContain('r/emoji 😀/');
    expect(folders.ours[0]!.parsedBy).toBe('cityflow');
  });

  it('an error answer is the SDK error it was', async () => {
    await expect(listPage(client, { Bucket: `${bucket}-missing`, Prefix: 'r/' })).rejects.toMatchObject({
      name: 'NoSuchBucket',
    });
  });
});
