/**
 * A MongoDB wire-protocol server for tests. No real `mongod` installs offline here, so by default this
 * starts CongoDB (from `@push.rocks/smartmongo`) in process, in memory, on a free 127.0.0.1 port.
 * CongoDB does not enforce unique indexes, has no string/numeric `_id`, no transactions: the code under
 * test must not rely on those. Set `MONGODB_TEST_URL` to run the same tests against a real mongod.
 */
// The congodb sub-module alone: the package index also loads mongodb-memory-server and smartdata.
import { CongoServer } from '@push.rocks/smartmongo/dist_ts/congodb/index.js';
import { freePort } from './dynamodb.ts';

export interface RunningMongo {
  url: string;
  /** `congodb` (in process) or `external` (MONGODB_TEST_URL). */
  kind: 'congodb' | 'external';
  stop(): Promise<void>;
}

export async function startMongo(): Promise<RunningMongo> {
  const external = process.env.MONGODB_TEST_URL;
  if (external) return { url: external, kind: 'external', stop: async () => {} };
  const port = await freePort();
  const server = new CongoServer({ host: '127.0.0.1', port, storage: 'memory' });
  await server.start();
  return {
    url: `mongodb://127.0.0.1:${port}`,
    kind: 'congodb',
    stop: () => server.stop(),
  };
}
