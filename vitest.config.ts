import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Broker and child-process suites bind sockets and files: run files in parallel, tests within a file in order.
    pool: 'forks',
    // vitest's default: one file at a time on a 2-core machine (cores − 1). Two at a time halved the wall time
    // here but made timing-sensitive suites flaky under the extra load (README "Tests").
  },
});
