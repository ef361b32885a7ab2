import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts', '**/*.test.tsx'],
    exclude: ['node_modules/**', 'bench/**'],
    typecheck: { enabled: true, include: ['**/*.test-d.ts'] },
    testTimeout: 60_000,
    hookTimeout: 180_000,
    globalSetup: ['test/servers/db.global.ts', 'test/servers/ceph.global.ts'],
  },
});
