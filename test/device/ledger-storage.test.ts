// What the ledger tells the box's storage health (the /healthz reason, the retained box state the screens
// show): "full" when a commit hit a full disk, "ok again" only once a commit was really written. A batch that
// wrote nothing (every command refused, or answered from the log) proves nothing about the disk.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../device/ledger.js';
import { EventStore } from '../../device/store/event-store.js';
import { officeConfig } from '../support/office.js';

const cfg = officeConfig();
const newStore = () =>
  new EventStore(join(mkdtempSync(join(tmpdir(), 'lobby-ledger-storage-')), 'events.db'));
const sqliteError = (code: string) => Object.assign(new Error(`${code} from SQLite`), { code });
const issue = { type: 'issue' as const, service: 'van-thu', priority: null, source: 'kiosk-1' };
const next = { type: 'next' as const, counter: 4 }; // nobody waits for đất đai: refused

describe('the storage health the ledger reports', () => {
  it('stays "full" through batches that wrote nothing, and turns ok with the first real commit', async () => {
    const store = newStore();
    const ledger = new Ledger(cfg, store, () => Date.UTC(2026, 10, 23, 2, 0));
    const health: (string | null)[] = [];
    ledger.onStorage((f) => health.push(f?.kind ?? null));
    await ledger.submit(issue, { source: 'kiosk-1', requestId: 'a', fingerprint: 'a' });
    const append = store.append.bind(store);
    store.append = () => {
      throw sqliteError('SQLITE_FULL');
    };
    await expect(ledger.submit(issue, { source: 'kiosk-1' })).rejects.toMatchObject({ kind: 'full' });
    expect(health).toEqual(['full']);
    store.append = append; // space again, but nothing has been written yet
    // A refused command and a retry answered from the log: a batch with no commit.
    const [refused, retry] = await Promise.all([
      ledger.submit(next, { source: 'keypad-4' }),
      ledger.submit(issue, { source: 'kiosk-1', requestId: 'a', fingerprint: 'a' }),
    ]);
    expect(refused).toMatchObject({ ok: false, rejection: { code: 'queue_empty' } });
    expect(retry).toMatchObject({ ok: true, duplicate: true });
    expect(health).toEqual(['full']);
    expect(await ledger.submit(issue, { source: 'kiosk-1' })).toMatchObject({ ok: true, duplicate: false });
    expect(health).toEqual(['full', null]);
    store.close();
  });

  it('an error that is no storage fault (a bug) is not reported as the storage recovering', async () => {
    const store = newStore();
    const ledger = new Ledger(cfg, store, () => Date.UTC(2026, 10, 23, 2, 0));
    const health: (string | null)[] = [];
    ledger.onStorage((f) => health.push(f?.kind ?? null));
    const append = store.append.bind(store);
    store.append = () => {
      throw sqliteError('SQLITE_FULL');
    };
    await expect(ledger.submit(issue, { source: 'kiosk-1' })).rejects.toMatchObject({ kind: 'full' });
    store.append = () => {
      throw new TypeError('a bug');
    };
    await expect(ledger.submit(issue, { source: 'kiosk-1' })).rejects.toThrow('a bug');
    expect(health).toEqual(['full']);
    expect(ledger.halted).toBeNull(); // nothing unknown was written: the box goes on
    store.append = append;
    await ledger.submit(issue, { source: 'kiosk-1' });
    expect(health).toEqual(['full', null]);
    store.close();
  });
});
