/** The S3 IOManager through the shared IOManager contract suite, plus its S3-specific behaviour, on Ceph RGW. */
import { createHash } from 'node:crypto';
import { Table, tableFromArrays } from 'apache-arrow';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeValue } from '../../engine/encode.ts';
import { S3IOManager } from '../../io-managers/s3/s3-io-manager.ts';
import { UnsafeKeyError } from '../../io-managers/s3/cache.ts';
import { describeIOManagerContract, stopPoint } from '../contract/io-manager-contract.ts';
import { countCommands, freshBucket, s3SkipReason, testClient } from './helpers.ts';

const skip = s3SkipReason();

if (skip === '') {
  describeIOManagerContract('S3 (Ceph RGW)', async () => {
    const client = testClient();
    const bucket = await freshBucket(client, 'contract');
    return {
      manager: new S3IOManager({ client, bucket, prefix: 'assets' }),
      cleanup: async () => client.destroy(),
      // Fault injection: a client whose n-th request (and every later one) is never sent.
      interruptedAt: (n) => {
        const { stop, stopped } = stopPoint();
        const dying = testClient();
        let requests = 0;
        dying.middlewareStack.add((next) => (args) => (requests++ >= n ? stop() : next(args)), {
          step: 'initialize',
          name: 'interruptedAt',
        });
        return {
          manager: new S3IOManager({ client: dying, bucket, prefix: 'assets' }),
          stopped,
          dispose: async () => dying.destroy(),
        };
      },
    };
  });
}

describe.skipIf(skip !== '')(`S3IOManager specifics${skip ? ` — SKIPPED: ${skip}` : ''}`, () => {
  let client: S3Client;
  let bucket: string;
  let manager: S3IOManager;
  let counter: ReturnType<typeof countCommands>;

  beforeAll(async () => {
    client = testClient();
    counter = countCommands(client);
    bucket = await freshBucket(client, 'iomgr');
    manager = new S3IOManager({ client, bucket, prefix: '/assets/' });
  });
  afterAll(() => client?.destroy());

  it('stores at <prefix>/<assetKey>/<partition>.json as canonical JSON, with the data version in metadata', async () => {
    const ctx = { assetKey: 'metrics/bikes', partitionKey: '2025-11-04' };
    const res = await manager.store(ctx, { total: 3 }, 'v1:é/=+');
    expect(res).toEqual({ bytes: 16, location: `s3://${bucket}/assets/metrics/bikes/2025-11-04.json` });
    const head = await client.send(
      new HeadObjectCommand({ Bucket: bucket, Key: 'assets/metrics/bikes/2025-11-04.json' }),
    );
    expect(head.ContentType).toBe('application/json; charset=utf-8');
    const body = await client.send(
      new GetObjectCommand({ Bucket: bucket, Key: 'assets/metrics/bikes/2025-11-04.json' }),
    );
    // The bytes engine/encode.ts gives (canonical JSON: sorted keys, indented when small).
    expect(await body.Body?.transformToString()).toBe('{\n  "total": 3\n}');
    // stat is a single HEAD, and the non-ASCII version survives the header round trip.
    counter.reset();
    expect(await manager.stat(ctx)).toEqual({
      dataVersion: 'v1:é/=+',
      bytes: 16,
      location: `s3://${bucket}/assets/metrics/bikes/2025-11-04.json`,
    });
    expect(counter.counts).toEqual({ HeadObjectCommand: 1 });
  });

  it('stores a table value as the Arrow IPC stream the engine encoded (.arrows), loaded back as a Table', async () => {
    const table = tableFromArrays({ n: Int32Array.of(1, 2, 3) });
    const encoded = await encodeValue(table, 'arrow');
    const ctx = { assetKey: 'cells', partitionKey: 'all', storage: { file: { format: 'arrow' } } } as const;
    const res = await manager.store(ctx, table, encoded.dataVersion, encoded);
    expect(res).toEqual({ bytes: encoded.bytes, location: `s3://${bucket}/assets/cells/all.arrows` });
    const body = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'assets/cells/all.arrows' }));
    expect(body.ContentType).toBe('application/vnd.apache.arrow.stream');
    const bytes = await body.Body!.transformToByteArray();
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(encoded.sha256);
    const loaded = (await manager.load(ctx)) as Table;
    expect([...loaded.getChild('n')!.toArray()]).toEqual([1, 2, 3]);
    expect(await manager.stat(ctx)).toMatchObject({ dataVersion: encoded.dataVersion, bytes: encoded.bytes });
  });

  it('refuses asset or partition keys that would escape the prefix', async () => {
    await expect(manager.store({ assetKey: '../other', partitionKey: 'all' }, 1, 'v')).rejects.toThrow(
      UnsafeKeyError,
    );
    await expect(manager.load({ assetKey: 'a', partitionKey: '2025/11' })).rejects.toThrow(
      'cannot contain "/"',
    );
  });
});
