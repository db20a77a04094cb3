// Behaviours of the engine at its edges, each one a bug a citizen or a clerk would notice that the other
// engine suites let through (found by mutation testing, see test/mutate/results/engine.md).
import { describe, expect, it } from 'vitest';
import {
  decide,
  deserializeState,
  eligibleAt,
  emptyState,
  estimateWaitMin,
  evolve,
  isNationalDossierCode,
  serializeState,
  serviceRefusal,
  waitingTickets,
} from '../../device/engine/index.js';
import type { DomainEvent } from '../../protocol/index.js';
import { at, cmd, communeConfig, Lobby, MONDAY, ofType, TUESDAY } from './fixtures.js';

const LAN = { id: 'lan.nt', name: 'Nguyễn Thị Lan' };

describe('issue', () => {
  it('marks a ticket shown on the kiosk screen as such, and a paper ticket not', () => {
    const l = new Lobby();
    const screen = decide(
      l.cfg,
      l.state,
      { type: 'issue', service: 'ho-tich', priority: null, source: 'kiosk-1', delivery: 'screen' },
      l.now,
    );
    expect(screen.ok && ofType(screen.events, 'ticket.issued')[0]?.delivery).toBe('screen');
    for (const delivery of [undefined, 'print'] as const) {
      const paper = decide(
        l.cfg,
        l.state,
        { type: 'issue', service: 'ho-tich', priority: null, source: 'kiosk-1', delivery },
        l.now,
      );
      expect(paper.ok && ofType(paper.events, 'ticket.issued')[0]).not.toHaveProperty('delivery');
    }
  });

  it('a service whose quota was reached yesterday accepts again in the morning, before anything happened', () => {
    const l = new Lobby();
    const datDai = l.cfg.services.find((s) => s.id === 'dat-dai')!;
    for (let i = 0; i < 5; i++) l.issue('dat-dai');
    expect(serviceRefusal(l.cfg, l.state, datDai, l.now)?.code).toBe('quota_reached');
    // The screens ask with yesterday's state until the first command of the day rolls it over.
    expect(serviceRefusal(l.cfg, l.state, datDai, at(`${TUESDAY} 08:00`))).toBeNull();
  });

  it('a service with dailyQuota: null has no quota', () => {
    const cfg = communeConfig((raw) => {
      (raw.services[1] as { dailyQuota: number | null }).dailyQuota = null;
    });
    const l = new Lobby(cfg);
    for (let i = 1; i <= 7; i++) expect(l.issue('dat-dai')).toBe(`B00${i}`);
  });
});

describe('next and call', () => {
  it('at a paused counter with nobody waiting: counter_paused, not queue_empty', () => {
    const l = new Lobby();
    l.do(cmd.signIn(8, LAN.id));
    l.do(cmd.pause(8));
    expect(l.refuse(cmd.next(8)).code).toBe('counter_paused');
  });

  it('the counter a citizen was transferred to may call them by number', () => {
    const l = new Lobby();
    l.issue('ho-tich'); // A001
    l.next(2);
    l.do(cmd.transfer(2, { toCounter: 4 }));
    expect(ofType(l.do(cmd.call(4, 'A001')), 'ticket.called')[0]).toMatchObject({
      number: 'A001',
      counter: 4,
    });
  });

  it('a ticket of a service removed from the config since is named by its id in the refusal', () => {
    const l = new Lobby();
    l.issue('tu-van'); // E001
    const without = communeConfig((raw) => {
      raw.services = raw.services.filter((s) => s.id !== 'tu-van');
      raw.counters = raw.counters.filter((c) => c.number !== 8);
    });
    const d = decide(without, l.state, cmd.call(2, 'E001'), l.now);
    expect(d).toEqual({
      ok: false,
      rejection: { code: 'service_not_served', params: { counter: 2, service: 'tu-van' } },
    });
  });

  it('remembers the last number called for each service (the TV shows each)', () => {
    const l = new Lobby();
    l.issue('ho-tich');
    l.issue('khac');
    l.next(2);
    l.next(1);
    expect(l.state.lastCalled).toEqual({ 'ho-tich': 'A001', khac: 'D001' });
  });
});

describe('the clerk of a ticket', () => {
  it('a counter opened by a call, then signed in to: the rating goes to the clerk who finished', () => {
    const l = new Lobby();
    l.issue('ho-tich');
    l.next(2); // nobody signed in: the call opens the counter
    l.do(cmd.signIn(2, LAN.id));
    expect(ofType(l.do(cmd.finish(2)), 'ticket.finished')[0]?.clerk).toEqual(LAN);
    l.do(cmd.signOut(2));
    expect(ofType(l.do(cmd.rate(2, 4)), 'rating.submitted')[0]?.clerk).toEqual(LAN);
  });
});

describe('the estimated wait', () => {
  it('follows the last 20 services, not the whole day', () => {
    const l = new Lobby();
    for (let i = 0; i < 21; i++) l.issue('ho-tich');
    l.do(cmd.signIn(2, LAN.id));
    for (let i = 0; i < 21; i++) {
      l.next(2);
      l.do(cmd.serve(2));
      l.later(i === 0 ? 60 : 10); // a long first case, then 20 of 10 minutes
      l.do(cmd.finish(2));
    }
    expect(estimateWaitMin(l.cfg, l.state, 'ho-tich', 10)).toBe(100); // 10 ahead × 10 min, one counter
  });

  it('averages the recent services', () => {
    const l = new Lobby();
    l.issue('ho-tich');
    l.issue('ho-tich');
    l.do(cmd.signIn(2, LAN.id));
    for (const minutes of [10, 20]) {
      l.next(2);
      l.do(cmd.serve(2));
      l.later(minutes);
      l.do(cmd.finish(2));
    }
    expect(estimateWaitMin(l.cfg, l.state, 'ho-tich', 2)).toBe(30); // 2 ahead × 15 min
  });

  it('counts a counter again once it resumes after a pause', () => {
    const l = new Lobby();
    l.do(cmd.signIn(2, LAN.id));
    l.do(cmd.pause(2));
    expect(ofType(l.do(cmd.issue('ho-tich')), 'ticket.issued')[0]?.estimatedWaitMin).toBeNull();
    l.do(cmd.resume(2));
    expect(l.state.counters[2]?.status).toBe('open');
    expect(ofType(l.do(cmd.issue('ho-tich')), 'ticket.issued')[0]?.estimatedWaitMin).toBe(5);
  });
});

describe('the waiting list', () => {
  it('lists everyone waiting in order of arrival, across services', () => {
    const l = new Lobby();
    l.issue('ho-tich');
    l.issue('khac');
    l.issue('ho-tich');
    l.issue('ho-tich', 'elderly');
    l.issue('khac');
    expect(waitingTickets(l.state).map((t) => t.number)).toEqual(['A001', 'D001', 'A002', 'A003', 'D002']);
  });

  it('a clerk panel lists only the citizens its counter may call', () => {
    const l = new Lobby();
    l.issue('ho-tich'); // A001
    l.issue('ho-tich'); // A002
    l.issue('ho-tich'); // A003
    l.next(2); // A001 at counter 2
    l.do(cmd.transfer(2, { toCounter: 3 })); // A001 now waits for counter 3 only
    expect(l.next(2)).toBe('A002');
    const counter = (n: number) => l.cfg.counters.find((c) => c.number === n)!;
    const panel = (n: number) =>
      l.state.tickets
        .toList()
        .toArray()
        .filter((t) => eligibleAt(counter(n), t))
        .map((t) => t.number);
    expect(panel(2)).toEqual(['A003']); // not A001 (transferred to counter 3), not A002 (called)
    expect(panel(3)).toEqual(['A001', 'A003']);
  });
});

describe('a day snapshot', () => {
  it('restores a state in which tickets are still found by number', () => {
    const l = new Lobby();
    l.issue('ho-tich');
    l.issue('ho-tich');
    const restored = deserializeState(serializeState(l.state));
    expect([...restored.byNumber.entries()]).toEqual([...l.state.byNumber.entries()]);
    const d = decide(l.cfg, restored, cmd.call(2, 'A002'), l.now);
    expect(d.ok && ofType(d.events, 'ticket.called')[0]?.number).toBe('A002');
  });
});

describe('the projection', () => {
  it('applies an event about a ticket it does not hold without inventing one (a log recovered mid-day)', () => {
    const l = new Lobby();
    l.issue('ho-tich');
    const before = l.state;
    const stranger = { ticketId: `${MONDAY}/A009`, number: 'A009', service: 'ho-tich' };
    const events: DomainEvent[] = [
      { type: 'ticket.called', data: { ...stranger, counter: 2, clerk: null, how: 'next', waitedMs: 0 } },
      { type: 'ticket.serving', data: { ...stranger, counter: 2, since: l.now, implicit: false } },
      {
        type: 'ticket.finished',
        data: { ...stranger, counter: 2, clerk: null, serviceMs: 0, dossiers: [], implicit: false },
      },
    ];
    let s = before;
    for (const e of events) s = evolve(s, e, l.now);
    expect(s.tickets.size).toBe(1);
    expect(s.tickets.get(`${MONDAY}/A001`)).toEqual(before.tickets.get(`${MONDAY}/A001`));
    expect(waitingTickets(s).map((t) => t.number)).toEqual(['A001']);
    expect(s.counters[2]).toMatchObject({ current: null, lastCallWasPriority: false });
    expect(evolve(emptyState(), events[0]!, l.now).tickets.size).toBe(0);
  });
});

describe('the national dossier code', () => {
  it.each(['000.00.04.H12-260101-0001', '000.00.04.H12-260131-0001', '000.00.04.H12-261201-0001'])(
    'accepts January and the first of a month: %s',
    (code) => expect(isNationalDossierCode(code)).toBe(true),
  );

  it('rejects a code with anything before it', () => {
    expect(isNationalDossierCode('X000.00.04.H12-210415-0001')).toBe(false);
  });
});
