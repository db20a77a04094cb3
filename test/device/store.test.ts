// The event log as the box opens it, in-process: the settings a power cut depends on, read back from the
// running box's own connection (durability-fsync.test.ts watches the fsyncs of the built box), the log kept
// to the box alone, and the data directory owner-only.
import { chmodSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStore } from '../../device/store/event-store.js';
import { request, startTestBox, type TestBox } from '../support/office.js';

const boxes: TestBox[] = [];
afterEach(async () => {
  await Promise.all(boxes.splice(0).map((b) => b.close()));
});

const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe('the event log of a running box', () => {
  it('is in WAL mode with synchronous=FULL on the box’s own connection, after tickets were issued', async () => {
    const t = await startTestBox();
    boxes.push(t);
    const kiosk = await t.connect('kiosk-1');
    const reply = await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' });
    expect(reply.status).toBe('ok');
    // synchronous=NORMAL in WAL mode loses the last commits in a power cut: a printed number issued again.
    expect(t.box.store.durability()).toEqual({
      journalMode: 'wal',
      synchronous: 'full',
      lockingMode: 'exclusive',
    });
  });

  it('is the box’s alone while it runs: another program cannot read it, and can once the box stopped', async () => {
    const t = await startTestBox();
    boxes.push(t);
    const kiosk = await t.connect('kiosk-1');
    expect((await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' })).status).toBe('ok');
    const file = join(t.dataDir, 'events.db');
    const other = new Database(file, { timeout: 0 });
    expect(() => other.prepare('SELECT COUNT(*) AS n FROM events').get()).toThrow(/locked|busy/i);
    other.close();
    await t.close();
    boxes.splice(0);
    const after = new Database(file, { readonly: true });
    expect(after.prepare("SELECT COUNT(*) AS n FROM events WHERE type = 'ticket.issued'").get()).toEqual({
      n: 1,
    });
    after.close();
  });
});

describe('the data directory', () => {
  it('is created owner-only, with the log 0600 (SQLite would create it 0644 under the usual umask)', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'lobby-store-')), 'data');
    const store = new EventStore(join(dir, 'events.db'));
    store.close();
    expect(modeOf(dir)).toBe('700');
    expect(modeOf(join(dir, 'events.db'))).toBe('600');
  });

  it('is narrowed at start when others could read it, saying what changed', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'lobby-store-')), 'data');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'cloud-credential.json'), '{}');
    chmodSync(join(dir, 'cloud-credential.json'), 0o644);
    writeFileSync(join(dir, 'private.json'), '{}');
    chmodSync(join(dir, 'private.json'), 0o600);
    mkdirSync(join(dir, 'backups'));
    chmodSync(join(dir, 'backups'), 0o755);
    const store = new EventStore(join(dir, 'events.db'));
    store.close();
    expect(modeOf(dir)).toBe('700');
    expect(modeOf(join(dir, 'cloud-credential.json'))).toBe('600');
    expect(modeOf(join(dir, 'events.db'))).toBe('600');
    expect(modeOf(join(dir, 'backups'))).toBe('755'); // only the files directly in it
    expect(store.modeFixes).toEqual([
      { path: dir, from: '0755', to: '0700' },
      { path: join(dir, 'cloud-credential.json'), from: '0644', to: '0600' },
    ]);
  });

  it('leaves a shared directory (sticky, like /tmp) as it is, and already narrow ones unreported', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'lobby-store-')), 'shared');
    mkdirSync(dir);
    chmodSync(dir, 0o1777);
    const store = new EventStore(join(dir, 'events.db'));
    store.close();
    expect(statSync(dir).mode & 0o7777).toBe(0o1777);
    expect(store.modeFixes).toEqual([]);
    const again = new EventStore(join(dir, 'events.db'));
    again.close();
    expect(again.modeFixes).toEqual([]);
    expect(modeOf(join(dir, 'events.db'))).toBe('600');
  });

  it('an in-memory log (tests, benchmarks) touches no directory and keeps no lock', () => {
    const cwd = statSync('.').mode;
    const store = new EventStore(':memory:');
    expect(store.modeFixes).toEqual([]);
    expect(store.durability()).toMatchObject({ synchronous: 'full', lockingMode: 'normal' });
    store.close();
    expect(statSync('.').mode).toBe(cwd);
  });
});
