import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Broker and child-process suites bind sockets and files: run files in parallel, tests within a file in order.
    pool: 'forks',
    // One file at a time (vitest's default on 2 cores: cores − 1). Two at a time took 7.5 min instead of ~16,
    // but two of three clean-clone runs each lost one timing-bound browser test (a console alert's webhook,
    // the OTA trial) to the extra load; one race it found was real and is fixed (console rollout redraw).
  },
});
