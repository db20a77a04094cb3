// The modules `npm run mutate` covers: what Stryker mutates and which suites judge each mutant.
// Keep in step with the score table in test/README.md.
import { readFileSync } from 'node:fs';
import { URL } from 'node:url';

/**
 * `file:first-last` for the lines from the one starting with `from` up to the one before the line starting with
 * `to`: a part of a large file named by its code, not by numbers that go stale as the file changes (they did:
 * a run once mutated the wrong 130 lines). Throws when either line is missing.
 */
function lines(file, from, to) {
  const all = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8').split('\n');
  const first = all.findIndex((l) => l.startsWith(from));
  const end = first < 0 ? -1 : all.findIndex((l, i) => i > first && l.startsWith(to));
  if (first < 0 || end < 0) throw new Error(`mutate: ${file} has no part from "${from}" to "${to}"`);
  return `${file}:${first + 1}-${end}`;
}
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
      // authorizePublish, checkPresence, onDisconnect), found by the code that opens and ends each part.
      lines('device/broker/broker.ts', '  private async authenticate(', '  private authorizePublish('),
      lines(
        'device/broker/broker.ts',
        '    const presenceId = parsePresenceTopic(topic);',
        '    const statusId =',
      ),
      lines('device/broker/broker.ts', '  private checkPresence(', '  private errorReply('),
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
      // The desk's newer paths: a dossier lookup (answered, or said unavailable) and requests refused on a
      // low UPS battery.
      'test/device/dossier-lookup.test.ts',
      'test/device/power.test.ts',
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
      // periodRanges: which month, week and day rows a period reads (a unit test, no database).
      'test/cloud/report-periods.test.ts',
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
