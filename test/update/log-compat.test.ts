// The event log across a version switch and a rollback: migrations only add (tables, columns with defaults,
// indexes), so a version opens a log that a newer version already migrated, keeps its events and appends
// after them; the newer version, back on the next update, finds its additions untouched. A migration that
// removes or renames would break a rollback: the guard below refuses one in device/store/event-store.ts.
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventStore } from '../../device/store/event-store.js';
import type { DomainEvent } from '../../protocol/index.js';

const event = { type: 'counter.opened', data: { counter: 1 } } as unknown as DomainEvent;

describe('the event log after a rollback over a migration', () => {
  it('the previous version opens a log the new version migrated, and both keep working on it', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'lobby-log-compat-')), 'events.db');
    const old = new EventStore(file);
    old.append([{ events: [event], at: 1, day: '2026-12-07', source: null }]);
    old.close();

    // The new version: one more migration, additive, and an event written with it.
    const db = new Database(file);
    const version = db.pragma('user_version', { simple: true }) as number;
    db.exec(`ALTER TABLE events ADD COLUMN origin TEXT NOT NULL DEFAULT '';
             CREATE TABLE counter_notes (counter INTEGER PRIMARY KEY, note TEXT NOT NULL);
             INSERT INTO counter_notes VALUES (1, 'kept across the rollback');`);
    db.pragma(`user_version = ${version + 1}`);
    db.prepare(
      "INSERT INTO events (seq, type, at, day, data, source, origin) VALUES (2, 'counter.opened', 2, '2026-12-07', '{\"counter\":2}', NULL, 'new')",
    ).run();
    db.close();

    // Rolled back: the previous version opens it (user_version above its own: nothing to migrate).
    const back = new EventStore(file);
    expect(back.headSeq).toBe(2);
    back.append([{ events: [event], at: 3, day: '2026-12-07', source: null }]);
    expect(back.headSeq).toBe(3);
    back.close();

    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(version + 1);
    expect(check.prepare('SELECT seq, origin FROM events ORDER BY seq').all()).toEqual([
      { seq: 1, origin: '' },
      { seq: 2, origin: 'new' },
      { seq: 3, origin: '' },
    ]);
    expect(check.prepare('SELECT note FROM counter_notes').get()).toEqual({
      note: 'kept across the rollback',
    });
    check.close();
  });

  it('the log migrations only add (no DROP, no RENAME, no column without a default), so a rollback can read them', () => {
    const source = readFileSync(new URL('../../device/store/event-store.ts', import.meta.url), 'utf8');
    const migrations = source.slice(
      source.indexOf('const MIGRATIONS'),
      source.indexOf('];', source.indexOf('const MIGRATIONS')),
    );
    expect(migrations.length).toBeGreaterThan(100);
    expect(migrations).not.toMatch(/\bDROP\b|\bRENAME\b/i);
    for (const add of migrations.match(/ADD COLUMN[^;]*/gi) ?? [])
      expect(add, 'an added column needs a default or NULL').toMatch(/DEFAULT|^ADD COLUMN \w+ \w+$/i);
  });
});
