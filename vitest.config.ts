import { defineConfig } from 'vitest/config';

/**
 * Test files that talk to the real servers (Ceph RGW, DynamoDB Local, the MongoDB stand-in). They get
 * their own project so that running only unit tests (`npx vitest run engine`) starts no server; a file
 * left out of this list that needs a server fails loudly (its `inject(...)` value is undefined).
 */
const SERVER_TESTS = [
  'test/s3/**/*.test.ts',
  'test/db/**/*.test.ts',
  'test/contract/dynamodb.test.ts',
  'test/contract/mongodb.test.ts',
  'test/e2e-modes.test.ts',
  'test/faults/db-faults.test.ts',
  'test/faults/s3-faults.test.ts',
  'test/faults/operator-errors-servers.test.ts',
  'test/security/no-secrets.test.ts',
  'test/security/s3-escaping-keys.test.ts',
  'test/automation/s3-sensor.test.ts',
  'test/queue/aws-mode.test.ts',
  'test/locks/shared-state.test.ts',
];

/** The queue executor's tests: each file starts its own redis-server (test/servers/redis.ts). */
const QUEUE_TESTS = ['test/queue/**/*.test.ts'];

export default defineConfig({
  test: {
    exclude: ['node_modules/**', 'bench/**'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['**/*.test.ts', '**/*.test.tsx'],
          exclude: ['node_modules/**', 'bench/**', ...SERVER_TESTS, ...QUEUE_TESTS],
          typecheck: { enabled: true, include: ['**/*.test-d.ts'] },
        },
      },
      {
        extends: true,
        test: { name: 'queue', include: QUEUE_TESTS, exclude: ['node_modules/**', ...SERVER_TESTS] },
      },
      {
        extends: true,
        test: {
          name: 'servers',
          include: SERVER_TESTS,
          globalSetup: ['test/servers/db.global.ts', 'test/servers/ceph.global.ts'],
        },
      },
    ],
  },
});
