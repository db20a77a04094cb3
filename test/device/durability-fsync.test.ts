// What must hold for a power cut (ARCHITECTURE.md, "Durability"), watched from outside the box: `lobby device`
// runs under the LD_PRELOAD shim (support/fsync-fault.c) recording every fsync/fdatasync, and each ticket a
// kiosk was told must have made the log's WAL durable before the reply left. A SIGKILL test cannot tell a box
// whose log is opened with synchronous=NORMAL (or not in WAL mode) from a sound one; this test can.
import { existsSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Reply } from '../../protocol/index.js';
import { killAllBoxes, killed, startDevice } from '../support/box-process.js';
import { buildFsyncShim } from '../support/faults.js';
import { connectDevice, officeConfig, peripheralsFor, request, secretOf } from '../support/office.js';

afterAll(killAllBoxes);

const shim = buildFsyncShim();

async function writeOffice(dir: string): Promise<string> {
  const configFile = join(dir, 'office.json');
  const peripherals = await peripheralsFor([
    { id: 'kiosk-1', role: 'kiosk' },
    { id: 'keypad-1', role: 'keypad', counter: 1 },
  ]);
  writeFileSync(configFile, JSON.stringify(officeConfig(peripherals), null, 2));
  return configFile;
}

describe('durability of an acknowledged request', () => {
  it.skipIf(typeof shim === 'string')(
    `every ticket and every call a device is told of was fsynced to the WAL before the reply${typeof shim === 'string' ? ` (${shim})` : ''}`,
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'lobby-fsync-count-'));
      const configFile = await writeOffice(dir);
      const dataDir = join(dir, 'data');
      const synced = join(dir, 'fsync.log');
      const box = await startDevice(configFile, dataDir, {
        env: { LD_PRELOAD: (shim as { so: string }).so, LOBBY_FSYNC_LOG: synced },
      });
      const wal = join(realpathSync(dataDir), 'events.db-wal'); // as /proc/self/fd names it
      /** How many times the box has made its WAL durable so far. */
      const walSyncs = () =>
        existsSync(synced)
          ? readFileSync(synced, 'utf8')
              .split('\n')
              .filter((p) => p === wal).length
          : 0;
      const kiosk = await connectDevice(`mqtt://127.0.0.1:${box.port}`, 'kiosk-1', secretOf('kiosk-1'));
      const keypad = await connectDevice(`mqtt://127.0.0.1:${box.port}`, 'keypad-1', secretOf('keypad-1'));
      const asked: [string, () => Promise<Reply>][] = [
        ...Array.from({ length: 5 }, (_, i): [string, () => Promise<Reply>] => [
          `ticket ${i + 1}`,
          () => request(kiosk, 'lobby/v1/tickets/request', { id: `t${i}`, service: 'van-thu' }),
        ]),
        ...Array.from({ length: 3 }, (_, i): [string, () => Promise<Reply>] => [
          `call ${i + 1}`,
          () => request(keypad, 'lobby/v1/counters/1/cmd/next', { id: `n${i}` }),
        ]),
      ];
      for (const [what, ask] of asked) {
        const before = walSyncs();
        const reply = await ask();
        expect(reply.status, `${what}: ${JSON.stringify(reply.error)}`).toBe('ok');
        // Read once the reply is in hand: an fsync after the reply would come too late for a power cut.
        expect(walSyncs() - before, `${what} acknowledged without an fsync of ${wal}`).toBeGreaterThanOrEqual(
          1,
        );
      }
      // A retry is answered from the log: nothing new to make durable, and it still gets the same ticket.
      const retry = await request(kiosk, 'lobby/v1/tickets/request', { id: 't0', service: 'van-thu' });
      expect(retry.data?.duplicate).toBe(true);
      kiosk.end(true);
      keypad.end(true);
      await killed(box.child);
    },
    60_000,
  );
});
