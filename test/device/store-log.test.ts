// The event log's contract with the parts that read it: the uplink's outbox (each event sent until the cloud
// acknowledges it, sent again when the cloud lost it), the print spool's tail and acknowledgements, retries'
// replies kept for their retention period, the boot counter, the log identity's meta, a log recovered from the
// cloud, all-or-nothing commits, and a log written by an older box (migrations). On a real SQLite file.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { EventStore, envelopeOf, type Commit } from '../../device/store/event-store.js';
import type { DomainEvent, EventEnvelope } from '../../protocol/index.js';

const newFile = () => join(mkdtempSync(join(tmpdir(), 'lobby-store-log-')), 'events.db');
const T0 = Date.UTC(2026, 10, 23, 2, 0);

const issued = (n: number): DomainEvent => ({
  type: 'ticket.issued',
  data: {
    ticketId: `2026-11-23/A${String(n).padStart(3, '0')}`,
    number: `A${String(n).padStart(3, '0')}`,
    service: 'van-thu',
    seq: n,
    priority: null,
    ahead: 0,
    estimatedWaitMin: null,
    source: 'kiosk-1',
  },
});
const opened: DomainEvent = { type: 'counter.opened', data: { counter: 1 } };
const commit = (events: DomainEvent[], at = T0, request?: Commit['request']): Commit => ({
  events,
  at,
  day: '2026-11-23',
  source: 'kiosk-1',
  ...(request ? { request } : {}),
});

describe('the uplink outbox', () => {
  it('holds each committed event, oldest first, as the envelope sent to the cloud, until acknowledged', () => {
    const store = new EventStore(newFile());
    expect(store.outboxBacklog()).toEqual({ events: 0, oldestSeq: null, oldestAt: null });
    const stored = store.append([commit([issued(1), issued(2)], T0), commit([opened], T0 + 1000)]);
    expect(stored.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(store.outboxSize()).toBe(3);
    expect(store.outboxBacklog()).toEqual({ events: 3, oldestSeq: 1, oldestAt: T0 });
    const batch = store.outboxBatch(2);
    expect(batch.map((r) => r.seq)).toEqual([1, 2]);
    expect(JSON.parse(batch[0]!.envelope)).toEqual(envelopeOf(stored[0]!));
    expect(JSON.parse(batch[0]!.envelope)).toMatchObject({
      seq: 1,
      type: 'ticket.issued',
      at: new Date(T0).toISOString(),
      day: '2026-11-23',
      data: { number: 'A001' },
    });
    expect(store.ackOutbox(2)).toBe(2);
    expect(store.outboxBacklog()).toEqual({ events: 1, oldestSeq: 3, oldestAt: T0 + 1000 });
    expect(store.outboxBatch(10).map((r) => r.seq)).toEqual([3]);
    expect(store.ackOutbox(3)).toBe(1);
    expect(store.outboxSize()).toBe(0);
    // The events themselves stay in the log.
    expect([...store.eventsAfter(0)].map((e) => e.seq)).toEqual([1, 2, 3]);
    store.close();
  });

  it('is filled again from the log when the cloud lost what it had acknowledged, past 1000 events, once each', () => {
    const store = new EventStore(newFile());
    const events = Array.from({ length: 1205 }, (_, i) => issued(i + 1));
    store.append([commit(events)]);
    store.ackOutbox(1205);
    expect(store.requeueAfter(3)).toBe(1202);
    expect(store.outboxBacklog()).toEqual({ events: 1202, oldestSeq: 4, oldestAt: T0 });
    expect(store.requeueAfter(0)).toBe(3); // those already waiting are not doubled
    expect(store.outboxSize()).toBe(1205);
    const [first] = store.outboxBatch(1);
    expect(JSON.parse(first!.envelope)).toMatchObject({
      seq: 1,
      type: 'ticket.issued',
      data: { number: 'A001' },
    });
    store.close();
  });
});

describe('commits', () => {
  it('are all or nothing: a failing batch writes nothing and the numbering does not move', () => {
    const store = new EventStore(newFile());
    const request = { device: 'kiosk-1', id: 'r1', fingerprint: 'f', reply: { n: 1 } };
    store.append([commit([issued(1)], T0, request)]);
    expect(store.headSeq).toBe(1);
    // The same (device, id) stored twice is refused by the table: the whole batch fails.
    expect(() => store.append([commit([issued(2)]), commit([issued(3)], T0, request)])).toThrow();
    expect(store.headSeq).toBe(1);
    expect([...store.eventsAfter(0)]).toHaveLength(1);
    expect(store.outboxSize()).toBe(1);
    expect(store.append([commit([issued(2)])]).map((e) => e.seq)).toEqual([2]);
    store.close();
  });

  it('keep the reply to each request, per device, with what it asked', () => {
    const store = new EventStore(newFile());
    store.append([
      commit([issued(1)], T0, { device: 'kiosk-1', id: 'r1', fingerprint: 'f1', reply: { n: 'A001' } }),
      commit([issued(2)], T0, { device: 'kiosk-2', id: 'r1', fingerprint: 'f2', reply: { n: 'A002' } }),
    ]);
    expect(store.findReply('kiosk-1', 'r1')).toEqual({ fingerprint: 'f1', reply: { n: 'A001' } });
    expect(store.findReply('kiosk-2', 'r1')).toEqual({ fingerprint: 'f2', reply: { n: 'A002' } });
    expect(store.findReply('kiosk-3', 'r1')).toBeUndefined();
    expect(store.findReply('kiosk-1', 'r2')).toBeUndefined();
    store.close();
  });

  it('store a day snapshot with the batch that has events, at its last event', () => {
    const store = new EventStore(newFile());
    expect(store.latestSnapshot()).toBeUndefined();
    store.append([commit([issued(1), issued(2)])], '{"day":"2026-11-23"}');
    expect(store.latestSnapshot()).toEqual({ seq: 2, state: '{"day":"2026-11-23"}' });
    store.append([], '{"day":"empty"}'); // nothing committed: no snapshot
    expect(store.latestSnapshot()).toEqual({ seq: 2, state: '{"day":"2026-11-23"}' });
    store.append([commit([issued(3)])], '{"day":"later"}');
    expect(store.latestSnapshot()).toEqual({ seq: 3, state: '{"day":"later"}' });
    expect([...store.eventsAfter(2)].map((e) => [e.seq, e.at, e.day, e.source])).toEqual([
      [3, T0, '2026-11-23', 'kiosk-1'],
    ]);
    store.close();
  });
});

describe('replies and print acknowledgements', () => {
  it('are forgotten after their retention period, and not before', () => {
    const store = new EventStore(newFile());
    store.append([commit([issued(1)], T0, { device: 'kiosk-1', id: 'old', fingerprint: '', reply: 1 })]);
    store.append([
      commit([issued(2)], T0 + 5000, { device: 'kiosk-1', id: 'new', fingerprint: '', reply: 2 }),
    ]);
    expect(store.recordPrinted([{ jobId: 'j-old', device: 'kiosk-1' }], T0)).toEqual(['j-old']);
    expect(store.recordPrinted([{ jobId: 'j-new', device: 'kiosk-1' }], T0 + 5000)).toEqual(['j-new']);
    expect(store.pruneRequests(T0 + 5000)).toBe(2); // one reply, one acknowledgement
    expect(store.findReply('kiosk-1', 'old')).toBeUndefined();
    expect(store.findReply('kiosk-1', 'new')).toEqual({ fingerprint: '', reply: 2 });
    expect(store.wasPrinted('j-old')).toBe(false);
    expect(store.wasPrinted('j-new')).toBe(true);
    expect(store.pruneRequests(T0 + 5000)).toBe(0);
    store.close();
  });

  it('a print job acknowledged twice is recorded once; the ids new to the log are returned', () => {
    const store = new EventStore(newFile());
    expect(store.wasPrinted('a')).toBe(false);
    expect(
      store.recordPrinted(
        [
          { jobId: 'a', device: 'kiosk-1' },
          { jobId: 'b', device: 'kiosk-1' },
        ],
        T0,
      ),
    ).toEqual(['a', 'b']);
    expect(
      store.recordPrinted(
        [
          { jobId: 'b', device: 'kiosk-1' },
          { jobId: 'c', device: 'kiosk-1' },
        ],
        T0,
      ),
    ).toEqual(['c']);
    expect(['a', 'b', 'c', 'd'].map((j) => store.wasPrinted(j))).toEqual([true, true, true, false]);
    store.close();
  });
});

describe('the log’s tail', () => {
  it('gives the newest events of a type first, back to the first one before the time asked', () => {
    const store = new EventStore(newFile());
    store.append([commit([issued(1)], T0)]);
    store.append([commit([issued(2), opened], T0 + 60_000)]);
    store.append([commit([issued(3)], T0 + 120_000)]);
    const numbers = (since: number) =>
      [...store.recentEvents('ticket.issued', since)].map((e) => (e.event.data as { number: string }).number);
    expect(numbers(T0 + 60_000)).toEqual(['A003', 'A002']);
    expect(numbers(T0)).toEqual(['A003', 'A002', 'A001']);
    expect(numbers(T0 + 120_001)).toEqual([]);
    expect([...store.recentEvents('counter.opened', 0)].map((e) => e.seq)).toEqual([3]);
    store.close();
  });
});

describe('the box’s own records', () => {
  it('the boot counter goes up by one per start and survives a restart', () => {
    const file = newFile();
    let store = new EventStore(file);
    expect(store.lastBootSession()).toBe(0);
    expect(store.nextBootSession()).toBe(1);
    expect(store.nextBootSession()).toBe(2);
    store.close();
    store = new EventStore(file);
    expect(store.lastBootSession()).toBe(2);
    expect(store.nextBootSession()).toBe(3);
    store.close();
  });

  it('a new log continues the numbering of the one it replaces (base_seq), and has no events yet', () => {
    const file = newFile();
    let store = new EventStore(file);
    expect(store.getMeta('log_id')).toBeUndefined();
    store.setMeta({ log_id: 'L2', base_seq: '100' });
    expect(store.headSeq).toBe(100);
    expect(store.hasEvents()).toBe(false);
    expect(store.getMeta('log_id')).toBe('L2');
    store.setMeta({ log_id: 'L3' }); // no base_seq: the head stays
    expect(store.headSeq).toBe(100);
    store.close();
    store = new EventStore(file);
    expect(store.headSeq).toBe(100);
    expect(store.append([commit([issued(1)])]).map((e) => e.seq)).toEqual([101]);
    expect(store.hasEvents()).toBe(true);
    store.setMeta({ base_seq: '50' }); // never below what the log holds
    expect(store.headSeq).toBe(101);
    store.close();
  });

  it('a log recovered from the cloud keeps the events’ numbers, sends nothing again, and continues after them', () => {
    const store = new EventStore(newFile());
    const envelopes: EventEnvelope[] = [7, 8, 9].map((seq, i) => ({
      seq,
      type: 'ticket.issued',
      at: new Date(T0 + i * 1000).toISOString(),
      day: '2026-11-23',
      data: issued(i + 1).data,
    }));
    store.importEvents(envelopes);
    expect(store.headSeq).toBe(9);
    expect(store.outboxSize()).toBe(0);
    expect([...store.eventsAfter(0)].map((e) => [e.seq, e.at, e.source])).toEqual([
      [7, T0, null],
      [8, T0 + 1000, null],
      [9, T0 + 2000, null],
    ]);
    expect(store.append([commit([issued(4)])]).map((e) => e.seq)).toEqual([10]);
    store.close();
  });

  it('answers the health probes: a write that touches no record, and a read', () => {
    const store = new EventStore(newFile());
    store.probeWrite(T0);
    expect(store.getMeta('probe')).toBe(String(T0)); // it did write
    expect(store.ping()).toBe(true);
    expect(store.hasEvents()).toBe(false);
    store.close();
  });
});

describe('a log written by an older box', () => {
  it('is brought up to date on open, keeping its events and replies', () => {
    const file = newFile();
    // The first schema, as the first release wrote it.
    const old = new Database(file);
    old.exec(`CREATE TABLE events (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, at INTEGER NOT NULL,
                day TEXT NOT NULL, data TEXT NOT NULL, source TEXT);
              CREATE TABLE outbox (seq INTEGER PRIMARY KEY, envelope TEXT NOT NULL);
              CREATE TABLE requests (device TEXT NOT NULL, request_id TEXT NOT NULL, reply TEXT NOT NULL,
                at INTEGER NOT NULL, PRIMARY KEY (device, request_id)) WITHOUT ROWID;
              CREATE TABLE snapshots (seq INTEGER PRIMARY KEY, state TEXT NOT NULL);
              CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`);
    old.pragma('user_version = 1');
    old
      .prepare('INSERT INTO events VALUES (1, ?, ?, ?, ?, ?)')
      .run('ticket.issued', T0, '2026-11-23', JSON.stringify(issued(1).data), 'kiosk-1');
    old.prepare("INSERT INTO requests VALUES ('kiosk-1', 'r1', '{\"n\":1}', ?)").run(T0);
    old.close();
    const store = new EventStore(file);
    expect(store.headSeq).toBe(1);
    expect(store.findReply('kiosk-1', 'r1')).toEqual({ fingerprint: '', reply: { n: 1 } });
    expect(store.recordPrinted([{ jobId: 'j', device: 'kiosk-1' }], T0)).toEqual(['j']);
    expect(store.append([commit([issued(2)])]).map((e) => e.seq)).toEqual([2]);
    store.close();
    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(3);
    check.close();
  });
});
