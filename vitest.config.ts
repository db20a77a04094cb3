import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Broker and child-process suites bind sockets and files: run files in parallel, tests within a file in order.
    pool: 'forks',
    // Two files at a time on this 2-core machine (vitest's default would be cores − 1 = one). Two workers once
    // made suites flaky; the causes were real bugs (a retained-after-live race on the TV, a migration racing
    // another schema's DROP), both fixed. One at a time the suite took over 15 minutes.
    maxWorkers: 2,
  },
});
