/**
 * Shared setup for the S3 tests: a client on the gateway started by test/servers/ceph.global.ts,
 * a fresh bucket per test file, and a command counter (an SDK middleware) to prove which requests
 * were sent.
 */
import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import { createS3Client, type S3ClientOptions } from '../../io-managers/s3/client.ts';

/** Empty when a gateway is available; otherwise why the S3 tests are skipped. */
export function s3SkipReason(): string {
  const reason = inject('s3SkipReason');
  if (reason === undefined)
    return 'no S3 test server: run with --globalSetup test/servers/ceph.global.ts (see docs/s3.md)';
  return reason;
}

/**
 * The `pipeline` command's S3-mode settings against the test gateway (or a proxy in front of it at
 * `endpoint`): raw input under `raw/` and reports under `reports/` of `bucket`.
 */
export function s3ModeEnv(base: NodeJS.ProcessEnv, bucket: string, endpoint: string): NodeJS.ProcessEnv {
  return {
    ...base,
    USE_S3: 'true',
    AWS_REGION: 'eu-west-3',
    AWS_ACCESS_KEY_ID: inject('s3AccessKeyId'),
    AWS_SECRET_ACCESS_KEY: inject('s3SecretAccessKey'),
    S3_ENDPOINT_URL: endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    S3_RAW_BUCKET: bucket,
    S3_RAW_PREFIX: 'raw',
    S3_REPORTS_BUCKET: bucket,
    S3_REPORTS_PREFIX: 'reports',
  };
}

export function testClient(extra: Partial<S3ClientOptions> = {}): S3Client {
  return createS3Client({
    region: 'eu-west-3',
    endpoint: inject('s3Endpoint'),
    forcePathStyle: true,
    credentials: { accessKeyId: inject('s3AccessKeyId'), secretAccessKey: inject('s3SecretAccessKey') },
    ...extra,
  });
}

/**
 * Creates a uniquely named bucket. Created through a us-east-1 client: for other regions the SDK
 * sends a LocationConstraint that Ceph RGW (zone group "default") rejects. Object calls are signed
 * for the project's default region (eu-west-3), which RGW accepts.
 */
export async function freshBucket(_client: S3Client, label: string): Promise<string> {
  const bucket = `cf-${label}-${randomUUID().slice(0, 8)}`;
  const admin = testClient({ region: 'us-east-1' });
  try {
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    admin.destroy();
  }
  return bucket;
}

export async function put(
  client: S3Client,
  bucket: string,
  key: string,
  body: string | Buffer,
): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

/** Counts commands by name (`GetObjectCommand`, `HeadObjectCommand`…) as they are sent. */
export function countCommands(client: S3Client): { counts: Record<string, number>; reset(): void } {
  const counts: Record<string, number> = {};
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      counts[name] = (counts[name] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: `countCommands-${randomUUID()}` },
  );
  return {
    counts,
    reset() {
      for (const k of Object.keys(counts)) delete counts[k];
    },
  };
}

/** Deterministic bytes (not all equal, so each part has its own MD5). */
export function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    b[i] = s >>> 16;
  }
  return b;
}
