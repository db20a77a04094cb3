// The modules `npm run mutate` covers: what Stryker mutates and which suites judge each mutant.
// Keep in step with the score table in test/README.md.
export const MODULES = {
  engine: {
    mutate: ['device/engine/**/*.ts'],
    tests: ['test/engine/**/*.test.ts'],
  },
  ledger: {
    mutate: ['device/ledger.ts'],
    tests: [
      'test/device/ledger.test.ts',
      'test/device/commit-failure.test.ts',
      'test/device/ledger-storage.test.ts',
      'test/device/requests.test.ts',
    ],
  },
  store: {
    mutate: ['device/store/event-store.ts', 'device/store/open.ts'],
    tests: [
      'test/device/ledger.test.ts',
      'test/device/commit-failure.test.ts',
      'test/device/store*.test.ts',
      'test/device/requests.test.ts',
    ],
  },
  broker: {
    mutate: [
      'device/broker/acl.ts',
      'device/broker/directory.ts',
      'protocol/secrets.ts',
      'device/broker/attempts.ts',
      // broker.ts is large: its login (authenticate) and presence parts (the presence branch of
      // authorizePublish, checkPresence, onDisconnect).
      'device/broker/broker.ts:555-606',
      'device/broker/broker.ts:656-676',
      'device/broker/broker.ts:724-769',
    ],
    tests: [
      'test/device/broker.test.ts',
      'test/device/directory.test.ts',
      'test/device/acl*.test.ts',
      'test/device/abuse.test.ts',
      'test/device/presence.test.ts',
      'test/device/logins.test.ts',
    ],
  },
  requests: {
    mutate: ['device/requests.ts'],
    tests: [
      'test/device/broker.test.ts',
      'test/device/requests*.test.ts',
      'test/device/print-spool.test.ts',
      'test/device/commit-failure.test.ts',
    ],
  },
  effects: {
    mutate: ['device/effects/**/*.ts'],
    tests: ['test/device/outputs.test.ts', 'test/device/print-spool.test.ts', 'test/device/effects*.test.ts'],
  },
  // Cloud suites run on SQLite and PostgreSQL; `TEST_DATABASES=sqlite npm run mutate -- ingest` judges on one.
  // Not uplink.test.ts (a real box draining into the cloud, 20 s a run): ingest*.test.ts send the same
  // batches and check more of what they become.
  ingest: {
    mutate: ['cloud/ingest/**/*.ts'],
    tests: ['test/cloud/ingest*.test.ts', 'test/cloud/uplink-content.test.ts', 'test/cloud/dossiers.test.ts'],
  },
  reports: {
    mutate: ['cloud/reports/**/*.ts'],
    tests: [
      'test/cloud/reports*.test.ts',
      'test/cloud/ingest-projection.test.ts',
      'test/cloud/uplink-content.test.ts',
    ],
  },
  conform: {
    mutate: [
      'hardware-sim/conform/checks.ts',
      'hardware-sim/conform/box-check.ts',
      'hardware-sim/conform/device-check.ts',
    ],
    tests: ['test/hardware/conform-*.test.ts'],
  },
};
