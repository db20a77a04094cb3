import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Broker and child-process suites bind sockets and files: run files in parallel, tests within a file in order.
    pool: 'forks',
    // Most files wait on sockets, child processes and Chromium, not on the CPU: two at a time even on a
    // 2-core machine (vitest's default there is one). More cores: one per core but one.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
