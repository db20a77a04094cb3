// A commit that fails, in-process (a store whose append throws what SQLite throws): a full disk wrote
// nothing and the box goes on; any other I/O error leaves the log unknown and the ledger takes nothing more.
// What the device is told in each case. (The real faults, on a real filesystem: storage-faults.test.ts.)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../device/ledger.js';
import { createRequestDesk } from '../../device/requests.js';
import { EventStore } from '../../device/store/event-store.js';
import { StorageFault } from '../../device/store/storage-fault.js';
import { parseRequestTopic, type RequestTopic } from '../../protocol/index.js';
import { officeConfig } from '../support/office.js';

const cfg = officeConfig();
const newStore = () => new EventStore(join(mkdtempSync(join(tmpdir(), 'lobby-commit-')), 'events.db'));
const sqliteError = (code: string) => Object.assign(new Error(`${code} from SQLite`), { code });
const kiosk = { id: 'kiosk-1', role: 'kiosk' as const };
const topic = 'lobby/v1/tickets/request';
const ask = (desk: ReturnType<typeof createRequestDesk>, id: string) =>
  desk(
    kiosk,
    parseRequestTopic(topic) as RequestTopic,
    topic,
    Buffer.from(JSON.stringify({ id, service: 'van-thu' })),
  );

describe('a failed commit', () => {
  it('disk full: storage_full for the batch, nothing written, and the next commit goes through', async () => {
    const store = newStore();
    const ledger = new Ledger(cfg, store, () => Date.UTC(2026, 10, 23, 2, 0));
    const desk = createRequestDesk(cfg, ledger, pino({ level: 'silent' }));
    const faults: (string | null)[] = [];
    ledger.onStorage((f) => faults.push(f?.kind ?? null));
    expect((await ask(desk, 'a')).status).toBe('ok');
    const append = store.append.bind(store);
    store.append = () => {
      throw sqliteError('SQLITE_FULL');
    };
    const refused = await ask(desk, 'b');
    expect(refused.error).toMatchObject({
      code: 'storage_full',
      message: { vi: expect.stringMatching(/đầy/) },
    });
    expect(ledger.halted).toBeNull();
    store.append = append;
    const ok = await ask(desk, 'b');
    expect(ok.data?.ticket).toMatchObject({ number: 'A002' });
    expect(faults).toEqual(['full', null]);
    store.close();
  });

  it('an fsync error: storage_failed ("retry with the same id"), then every request refused until a restart', async () => {
    const store = newStore();
    const ledger = new Ledger(cfg, store, () => Date.UTC(2026, 10, 23, 2, 0));
    const desk = createRequestDesk(cfg, ledger, pino({ level: 'silent' }));
    expect((await ask(desk, 'a')).status).toBe('ok');
    const append = store.append.bind(store);
    let appends = 0;
    store.append = (...args) => {
      appends++;
      // What SQLite does when the WAL's fsync fails: the commit record may be written, the call throws.
      append(...args);
      throw sqliteError('SQLITE_IOERR_FSYNC');
    };
    const [b, c] = await Promise.all([ask(desk, 'b'), ask(desk, 'c')]);
    expect(b.error?.code).toBe('storage_failed');
    expect(c.error?.code).toBe('storage_failed');
    expect(ledger.halted).toBeInstanceOf(StorageFault);
    expect((await ask(desk, 'd')).error?.code).toBe('storage_failed');
    expect(appends).toBe(1); // nothing more was written after the failure
    store.close();

    // The restart rebuilds from the log: the batch that did reach it is answered as it was, not issued again.
    const reopened = new EventStore(store.file);
    const after = createRequestDesk(
      cfg,
      new Ledger(cfg, reopened, () => Date.UTC(2026, 10, 23, 2, 1)),
      pino({ level: 'silent' }),
    );
    const retry = await ask(after, 'b');
    expect(retry.data).toMatchObject({ duplicate: true, ticket: { number: 'A002' } });
    expect((await ask(after, 'e')).data?.ticket).toMatchObject({ number: 'A004' });
    reopened.close();
  });
});
