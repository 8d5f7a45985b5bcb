import { defineConfig } from 'vitest/config';

// `npm run bench`: benchmarks run as one vitest file so they can reuse the test
// helpers that start real services. They print ratios; they do not gate CI.
export default defineConfig({
  test: {
    include: ['bench/**/*.bench.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
