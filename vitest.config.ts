import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Broker and child-process suites bind sockets and files: run files in parallel, tests within a file in order.
    pool: 'forks',
  },
});
