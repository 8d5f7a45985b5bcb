import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration suites start real registries on loopback; keep the 2-core machine calm.
    maxWorkers: 2,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
