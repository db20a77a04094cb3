import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Broker and child-process suites bind sockets and files: run files in parallel, tests within a file in order.
    pool: 'forks',
    // Two files at a time on this 2-core machine (vitest's default would be cores − 1 = one, over 15 minutes).
    // Each time two workers made a suite flaky, the cause was a real race the extra load exposed, now fixed: a
    // retained-after-live race on the TV, a migration racing another schema's DROP, the console's rollout
    // redraw, an update's trial cancelled by the poll that withdrew its target, the console tests acting
    // before the first page was drawn.
    maxWorkers: 2,
  },
});
