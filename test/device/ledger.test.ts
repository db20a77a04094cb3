// The ledger around the engine: group commit, all-or-nothing commits, and a restart from a day snapshot
// that gives exactly the state a full replay gives.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../device/ledger.js';
import { EventStore, type StoredEvent } from '../../device/store/event-store.js';
import { replay } from '../../device/engine/index.js';
import { officeConfig } from '../support/office.js';
import { REQUEST_REPLY_RETENTION_MS } from '../../protocol/index.js';

const cfg = officeConfig();
const newStore = () => new EventStore(join(mkdtempSync(join(tmpdir(), 'lobby-ledger-')), 'events.db'));
const issue = (service = 'van-thu') => ({
  type: 'issue' as const,
  service,
  priority: null,
  source: 'kiosk-1',
});

describe('ledger', () => {
  it('commands arriving together share one commit, each gets its own events, in order', async () => {
    const store = newStore();
    let now = Date.UTC(2026, 10, 23, 2, 0);
    const ledger = new Ledger(cfg, store, () => now++);
    const commits: StoredEvent[][] = [];
    ledger.onCommit((events) => commits.push(events));
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => ledger.submit(issue(), { source: 'kiosk-1', requestId: `p${i}` })),
    );
    expect(commits).toHaveLength(1);
    const numbers = outcomes.map((o) =>
      o.ok && !o.duplicate ? (o.events.at(-1)?.event.data as { number: string }).number : null,
    );
    expect(numbers).toEqual(Array.from({ length: 20 }, (_, i) => `A${String(i + 1).padStart(3, '0')}`));
    expect(store.headSeq).toBe(21); // day.started + 20 tickets
    store.close();
  });

  it('the same request id twice in one batch, or after a restart, is answered once', async () => {
    const store = newStore();
    const ledger = new Ledger(cfg, store, () => Date.UTC(2026, 10, 23, 2, 0));
    const [a, b] = await Promise.all([
      ledger.submit(issue(), { source: 'kiosk-1', requestId: 'same' }, () => ({ n: 1 })),
      ledger.submit(issue(), { source: 'kiosk-1', requestId: 'same' }, () => ({ n: 2 })),
    ]);
    expect(a?.ok && !a.duplicate).toBe(true);
    expect(b).toEqual({ ok: true, duplicate: true, reply: { n: 1 } });
    const restarted = new Ledger(cfg, store, () => Date.UTC(2026, 10, 23, 2, 1));
    expect(await restarted.submit(issue(), { source: 'kiosk-1', requestId: 'same' })).toEqual({
      ok: true,
      duplicate: true,
      reply: { n: 1 },
    });
    expect(await restarted.submit(issue(), { source: 'kiosk-2', requestId: 'same' })).toMatchObject({
      ok: true,
      duplicate: false,
    });
    store.close();
  });

  it('the same id with a different request is refused with request_id_reused, and nothing changes', async () => {
    const store = newStore();
    const ledger = new Ledger(cfg, store, () => Date.UTC(2026, 10, 23, 2, 0));
    const meta = (fingerprint: string) => ({ source: 'kiosk-1', requestId: '1', fingerprint });
    const first = await ledger.submit(issue(), meta('press A'), () => ({ n: 'A001' }));
    expect(first).toMatchObject({ ok: true, duplicate: false });
    const head = store.headSeq;
    const state = ledger.state;
    expect(await ledger.submit(issue('ho-tich'), meta('press B'))).toEqual({
      ok: false,
      rejection: { code: 'request_id_reused', params: { id: '1' } },
    });
    expect(store.headSeq).toBe(head);
    expect(ledger.state).toBe(state);
    // The late retry of the first request still gets the first reply: it was not replaced, not applied twice.
    expect(await ledger.submit(issue(), meta('press A'))).toEqual({
      ok: true,
      duplicate: true,
      reply: { n: 'A001' },
    });
    const restarted = new Ledger(cfg, store, () => Date.UTC(2026, 10, 23, 2, 5));
    expect(await restarted.submit(issue('ho-tich'), meta('press B'))).toMatchObject({
      ok: false,
      rejection: { code: 'request_id_reused' },
    });
    expect(await restarted.submit(issue(), meta('press A'))).toEqual({
      ok: true,
      duplicate: true,
      reply: { n: 'A001' },
    });
    expect(store.headSeq).toBe(head);
    store.close();
  });

  it('in one group commit: a reused id is refused, the same id from two devices is two requests', async () => {
    const store = newStore();
    const ledger = new Ledger(cfg, store, () => Date.UTC(2026, 10, 23, 2, 0));
    const meta = (source: string, fingerprint: string) => ({ source, requestId: '7', fingerprint });
    const number = (o: { ok: boolean; duplicate?: boolean; events?: StoredEvent[] } | undefined) =>
      (o?.events?.at(-1)?.event.data as { number: string } | undefined)?.number;
    const [a, reused, b, retryA] = await Promise.all([
      ledger.submit(issue(), meta('kiosk-1', 'A'), () => ({ who: 'kiosk-1' })),
      ledger.submit(issue(), meta('kiosk-1', 'other')),
      ledger.submit(issue(), meta('kiosk-2', 'B'), () => ({ who: 'kiosk-2' })),
      ledger.submit(issue(), meta('kiosk-1', 'A')),
    ]);
    expect(number(a as never)).toBe('A001');
    expect(reused).toMatchObject({ ok: false, rejection: { code: 'request_id_reused' } });
    expect(number(b as never)).toBe('A002');
    expect(retryA).toEqual({ ok: true, duplicate: true, reply: { who: 'kiosk-1' } });
    const restarted = new Ledger(cfg, store, () => Date.UTC(2026, 10, 23, 2, 1));
    expect(await restarted.submit(issue(), meta('kiosk-2', 'B'))).toEqual({
      ok: true,
      duplicate: true,
      reply: { who: 'kiosk-2' },
    });
    expect(await restarted.submit(issue(), meta('kiosk-1', 'A'))).toEqual({
      ok: true,
      duplicate: true,
      reply: { who: 'kiosk-1' },
    });
    expect(await restarted.submit(issue(), meta('kiosk-2', 'A'))).toMatchObject({
      ok: false,
      rejection: { code: 'request_id_reused' },
    });
    store.close();
  });

  it('replies are kept for the retention period, then pruned', async () => {
    const store = newStore();
    const t0 = Date.UTC(2026, 10, 23, 2, 0);
    const ledger = new Ledger(cfg, store, () => t0);
    await ledger.submit(issue(), { source: 'kiosk-1', requestId: 'old', fingerprint: 'x' }, () => ({ n: 1 }));
    expect(store.pruneRequests(t0 + 1 - REQUEST_REPLY_RETENTION_MS)).toBe(0);
    expect(store.findReply('kiosk-1', 'old')).toEqual({ fingerprint: 'x', reply: { n: 1 } });
    expect(store.pruneRequests(t0 + 1)).toBe(1);
    expect(store.findReply('kiosk-1', 'old')).toBeUndefined();
    store.close();
  });

  it('a failed commit rejects the whole batch and leaves state and log as they were', async () => {
    const store = newStore();
    const ledger = new Ledger(cfg, store, () => Date.UTC(2026, 10, 23, 2, 0));
    await ledger.submit(issue(), { source: 'kiosk-1' });
    const before = ledger.state;
    const head = store.headSeq;
    const append = store.append.bind(store);
    store.append = () => {
      throw new Error('disk full');
    };
    await expect(ledger.submit(issue(), { source: 'kiosk-1', requestId: 'x' })).rejects.toThrow('disk full');
    expect(ledger.state).toBe(before);
    expect(store.headSeq).toBe(head);
    store.append = append;
    const ok = await ledger.submit(issue(), { source: 'kiosk-1', requestId: 'x' });
    expect(ok.ok && !ok.duplicate && (ok.events[0]?.event.data as { number: string }).number).toBe('A002');
    store.close();
  });

  it('restarting from the day snapshot gives the state a full replay gives', async () => {
    const store = newStore();
    let now = Date.UTC(2026, 10, 23, 2, 0);
    const ledger = new Ledger(cfg, store, () => now);
    for (const day of [0, 1, 2]) {
      now = Date.UTC(2026, 10, 23 + day, 2, 0);
      for (let i = 0; i < 5; i++)
        await ledger.submit(issue(i % 2 ? 'ho-tich' : 'van-thu'), { source: 'kiosk-1' });
      now += 60_000;
      await ledger.submit({ type: 'next', counter: 1 }, { source: 'keypad-1' });
      now += 300_000;
      await ledger.submit({ type: 'finish', counter: 1, dossiers: [] }, { source: 'keypad-1' });
    }
    expect(store.latestSnapshot()?.seq).toBeGreaterThan(1);
    const fromSnapshot = new Ledger(cfg, store, () => now).state;
    const full = replay([...store.eventsAfter(0)].map((e) => ({ event: e.event, at: e.at })));
    expect(fromSnapshot).toEqual(full);
    expect(fromSnapshot).toEqual(ledger.state);
    store.close();
  });
});
