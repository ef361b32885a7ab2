/**
 * vitest globalSetup: starts one Ceph RADOS Gateway per test run (installing it with
 * scripts/install-ceph.sh if missing and possible) and provides its address to tests:
 * `inject('s3Endpoint')`, `inject('s3AccessKeyId')`, `inject('s3SecretAccessKey')`, or
 * `inject('s3SkipReason')` (non-empty when no gateway could be started; S3 tests skip with it).
 * With CI or CITYFLOW_REQUIRE_S3=1 set, failing to start is an error instead of a skip.
 * Set CITYFLOW_S3_TEST_ENDPOINT (+ _ACCESS_KEY_ID / _SECRET_ACCESS_KEY) to use a running server instead.
 */
import type { TestProject } from 'vitest/node';
import { ensureCephInstalled, startCeph } from './ceph.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    s3Endpoint: string;
    s3AccessKeyId: string;
    s3SecretAccessKey: string;
    s3SkipReason: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const provide = (endpoint: string, id: string, secret: string, skip: string): void => {
    project.provide('s3Endpoint', endpoint);
    project.provide('s3AccessKeyId', id);
    project.provide('s3SecretAccessKey', secret);
    project.provide('s3SkipReason', skip);
  };
  const external = process.env.CITYFLOW_S3_TEST_ENDPOINT;
  if (external) {
    provide(
      external,
      process.env.CITYFLOW_S3_TEST_ACCESS_KEY_ID ?? '',
      process.env.CITYFLOW_S3_TEST_SECRET_ACCESS_KEY ?? '',
      '',
    );
    return async () => {};
  }
  const missing = await ensureCephInstalled();
  // On CI (or with CITYFLOW_REQUIRE_S3=1) a missing gateway is a failure, not a skip.
  const required = Boolean(process.env.CI || process.env.CITYFLOW_REQUIRE_S3);
  if (missing) {
    if (required) throw new Error(missing);
    provide('', '', '', missing);
    return async () => {};
  }
  try {
    const ceph = await startCeph();
    provide(ceph.endpoint, ceph.accessKeyId, ceph.secretAccessKey, '');
    return () => ceph.stop();
  } catch (err) {
    if (required) throw err;
    provide('', '', '', (err as Error).message);
    return async () => {};
  }
}
