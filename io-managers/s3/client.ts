/**
 * S3 client factory. Everything comes from explicit options (the pipeline maps its config onto
 * them); credentials come from the AWS SDK default chain (env keys, AWS_PROFILE, instance role)
 * unless given explicitly (tests).
 */
import { S3Client } from '@aws-sdk/client-s3';

export interface S3ClientOptions {
  region: string;
  /** Any S3-compatible server (Ceph RGW, MinIO); omit for AWS. */
  endpoint?: string;
  /** Path-style URLs (`http://host/bucket/key`), needed by most non-AWS servers. */
  forcePathStyle?: boolean;
  /** Explicit keys; omit to use the SDK default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Named profile from ~/.aws (AWS_PROFILE). */
  profile?: string;
  /** Total attempts per request, first try included (standard retry: exponential backoff + jitter). */
  maxAttempts?: number;
  /** Abort a TCP connect after this long (ms). */
  connectionTimeoutMs?: number;
  /** Abort a request whose socket stays idle this long (ms). */
  requestTimeoutMs?: number;
}

export const DEFAULT_MAX_ATTEMPTS = 4;

const ignore = (): void => {};
/**
 * The SDK logs nothing by default, except that its retry layer then writes "An error was encountered
 * in a non-retryable streaming request." to the console for every upload body that fails or is
 * aborted (Ctrl-C during `pipeline upload`). Those failures already reach the caller as errors, so the
 * client gets a logger that stays quiet.
 */
const QUIET_LOGGER = { trace: ignore, debug: ignore, info: ignore, warn: ignore, error: ignore };

export function createS3Client(opts: S3ClientOptions): S3Client {
  return new S3Client({
    region: opts.region,
    ...(opts.endpoint !== undefined && { endpoint: opts.endpoint }),
    forcePathStyle: opts.forcePathStyle ?? false,
    ...(opts.credentials !== undefined && { credentials: opts.credentials }),
    ...(opts.profile !== undefined && { profile: opts.profile }),
    // The SDK's default aws-chunked checksums make Ceph RGW answer 411 and corrupt objects on
    // lighter servers; compute/validate checksums only when an operation requires them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Standard mode retries throttling, 5xx, timeouts and connection errors with backoff + jitter.
    retryMode: 'standard',
    logger: QUIET_LOGGER,
    maxAttempts: Math.max(1, opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS),
    requestHandler: {
      connectionTimeout: opts.connectionTimeoutMs ?? 5_000,
      requestTimeout: opts.requestTimeoutMs ?? 120_000,
    },
  });
}

/** HTTP status of an SDK error (`err.$metadata.httpStatusCode`), e.g. 304 for If-None-Match hits. */
export function httpStatusOf(err: unknown): number | undefined {
  const meta = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return meta?.httpStatusCode;
}

/** True for "the object (or bucket) is not there" answers. */
export function isNotFound(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || httpStatusOf(err) === 404;
}

/**
 * True for failures a later attempt could fix: the network (connection refused or reset, DNS, timeouts),
 * HTTP 5xx, throttling (429, SlowDown), or what the SDK marks retryable. Not: access denied, no such
 * bucket, bad credentials, a wrong region — configuration errors that no retry or fallback should hide.
 */
export function isTransientS3Error(err: unknown): boolean {
  if (describeS3Error(err).startsWith('S3 unreachable')) return true;
  const e = err as { name?: string; $retryable?: unknown; transient?: unknown } | null;
  if (e?.$retryable || e?.transient === true) return true;
  const status = httpStatusOf(err);
  if (status !== undefined) return status >= 500 || status === 429;
  return ['SlowDown', 'Throttling', 'ThrottlingException', 'RequestTimeout', 'TimeoutError'].includes(
    e?.name ?? '',
  );
}

/**
 * A short, credential-free reason for an S3 failure: the network error code (ECONNREFUSED,
 * ENOTFOUND, ETIMEDOUT…) or the S3 error name with its HTTP status. Never the raw message, which
 * could echo signed URLs or headers.
 */
export function describeS3Error(err: unknown): string {
  const seen = new Set<unknown>();
  const codeOf = (e: unknown): string | undefined => {
    if (!e || typeof e !== 'object' || seen.has(e)) return undefined;
    seen.add(e);
    const o = e as { code?: unknown; errors?: unknown[]; cause?: unknown };
    if (typeof o.code === 'string' && /^E[A-Z_]+$/.test(o.code)) return o.code;
    for (const inner of o.errors ?? []) {
      const c = codeOf(inner);
      if (c) return c;
    }
    return codeOf(o.cause);
  };
  const code = codeOf(err);
  if (code) return `S3 unreachable: ${code}`;
  const name = (err as { name?: unknown } | null)?.name;
  const status = httpStatusOf(err);
  if (name === 'TimeoutError' || name === 'RequestTimeout') return 'S3 unreachable: timeout';
  const label = typeof name === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? name : 'error';
  return `S3 ${label}${status ? ` (HTTP ${status})` : ''}`;
}
