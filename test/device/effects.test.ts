// What the screens, boards and speakers are sent after each commit: the box's effects, wired as the daemon
// wires them (a ledger on a real SQLite log, the OfficePublisher told of each commit), with a publisher that
// records what would go out on MQTT. The messages are what a citizen reads on the TV and the LED boards, what
// the announcer says and what a rating tablet offers.
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PeripheralConfig } from '../../device/config/schema.js';
import { PeripheralDirectory } from '../../device/broker/directory.js';
import { OfficePublisher, type Publisher } from '../../device/effects/office-publisher.js';
import { Ledger } from '../../device/ledger.js';
import { EventStore } from '../../device/store/event-store.js';
import type { Command } from '../../device/engine/index.js';
import type { OfficeNotice } from '../../protocol/index.js';
import { DEVICES, officeConfig, peripheralsFor, SERVICES } from '../support/office.js';

const log = pino({ level: 'silent' });
/** Monday 2026-11-23, 09:00 in the office (UTC+7). */
const T0 = Date.UTC(2026, 10, 23, 2, 0);

interface Sent {
  topic: string;
  payload: Record<string, unknown>;
  retain: boolean;
  qos?: 0 | 1;
}

let peripherals: PeripheralConfig[];
beforeAll(async () => {
  peripherals = await peripheralsFor([
    ...DEVICES,
    { id: 'led-4', role: 'ledboard', counter: 4 },
    { id: 'rating-2', role: 'rating', counter: 2 },
  ]);
});

/** A box's ledger and effects on a fresh log; `sent` is everything published, in order. */
function office(overrides: Record<string, unknown> = {}, opts: { notice?: () => OfficeNotice | null } = {}) {
  let cfg = officeConfig(peripherals, overrides);
  let now = T0;
  const clock = () => now;
  const sent: Sent[] = [];
  let failing = false;
  const out: Publisher = {
    publish(topic, payload, opts) {
      if (failing) return Promise.reject(new Error('broker down'));
      sent.push({
        topic,
        payload: payload as Record<string, unknown>,
        retain: opts?.retain ?? false,
        ...(opts?.qos === undefined ? {} : { qos: opts.qos }),
      });
      return Promise.resolve();
    },
  };
  const store = new EventStore(':memory:');
  const ledger = new Ledger(cfg, store, clock);
  // The publisher reads the config in effect each time, as on a cloud-managed box (`reconfigure`).
  const publisher = new OfficePublisher(
    () => cfg,
    new PeripheralDirectory(cfg.peripherals),
    out,
    clock,
    log,
    opts.notice,
  );
  let effects = Promise.resolve();
  ledger.onCommit((events, state) => {
    // As the daemon does: a failed publish is logged, the commit stands.
    effects = publisher.committed(events, state).catch(() => undefined);
  });
  return {
    get cfg() {
      return cfg;
    },
    /** A new config takes effect (the publisher sees it; the ledger keeps the day as it was). */
    reconfigure(changes: Record<string, unknown>) {
      cfg = officeConfig(peripherals, { ...overrides, ...changes });
    },
    sent,
    publisher,
    ledger,
    later: (ms: number) => (now += ms),
    failPublishing: (on: boolean) => (failing = on),
    /** Submits one command from a device, expects it accepted, and waits for its effects. */
    async do(cmd: Command, source = 'keypad-1'): Promise<void> {
      const o = await ledger.submit(cmd, { source });
      if (!o.ok) throw new Error(`${cmd.type} refused: ${o.rejection.code}`);
      await effects;
    },
    issue(service = 'van-thu', priority: 'elderly' | null = null) {
      return this.do({ type: 'issue', service, priority, source: 'kiosk-1' }, 'kiosk-1');
    },
    /** The messages sent since `from` on one topic. */
    on(topic: string, from = 0): Sent[] {
      return sent.slice(from).filter((s) => s.topic === topic);
    },
    /** The last retained message on a topic. */
    retained(topic: string): Record<string, unknown> | undefined {
      return sent.filter((s) => s.topic === topic && s.retain).at(-1)?.payload;
    },
    close: () => store.close(),
  };
}

describe('after each commit', () => {
  it('each event goes out on its topic as the envelope the cloud and the screens read', async () => {
    const o = office();
    await o.issue();
    const issued = o.on('lobby/v1/events/ticket/issued');
    expect(issued).toHaveLength(1);
    expect(issued[0]).toMatchObject({
      retain: false,
      qos: 1, // at least once: the cloud and the screens must not miss an event
      payload: {
        seq: 2,
        type: 'ticket.issued',
        at: new Date(T0).toISOString(),
        day: '2026-11-23',
        data: { number: 'A001', service: 'van-thu' },
      },
    });
    expect(o.on('lobby/v1/events/day/started')[0]?.payload).toMatchObject({ seq: 1, type: 'day.started' });
    o.close();
  });

  it('a call is announced to every announcer, a recall as a recall, with the number and the counter', async () => {
    const o = office();
    await o.issue();
    const from = o.sent.length;
    await o.do({ type: 'next', counter: 1 });
    const [call] = o.on('lobby/v1/devices/announcer-1/announce', from);
    expect(call?.qos).toBe(1);
    expect(call?.payload).toEqual({
      callId: expect.stringMatching(/^\d+$/),
      ticketId: '2026-11-23/A001',
      number: 'A001',
      counter: 1,
      recall: false,
      repeat: 2,
      text: { vi: 'Mời số A001 đến quầy số 1', en: 'Ticket A001, please go to counter 1' },
    });
    const again = o.sent.length;
    await o.do({ type: 'recall', counter: 1 });
    const [recall] = o.on('lobby/v1/devices/announcer-1/announce', again);
    expect(recall?.payload).toMatchObject({ number: 'A001', counter: 1, recall: true });
    expect(recall?.payload.callId).not.toBe(call?.payload.callId); // each call is its own announcement
    // Serving is not a call: nothing is announced.
    const served = o.sent.length;
    await o.do({ type: 'serve', counter: 1 });
    expect(o.on('lobby/v1/devices/announcer-1/announce', served)).toEqual([]);
    o.close();
  });

  it('the counter’s LED board shows the number called and blinks once, not retained; its retained text never blinks', async () => {
    const o = office();
    await o.publisher.refresh(o.ledger.state, new Set(), true);
    expect(o.retained('lobby/v1/devices/led-1/led')).toEqual({
      lines: ['Quầy 1'],
      blink: false,
      brightness: 100,
      blank: true,
    }); // closed: the board may switch off
    await o.issue();
    const from = o.sent.length;
    await o.do({ type: 'next', counter: 1 });
    const led = o.on('lobby/v1/devices/led-1/led', from);
    expect(led).toEqual([
      {
        topic: 'lobby/v1/devices/led-1/led',
        payload: { lines: ['Quầy 1', 'A001'], blink: false, brightness: 100, blank: false },
        retain: true,
        qos: 1,
      },
      {
        topic: 'lobby/v1/devices/led-1/led',
        payload: { lines: ['Quầy 1', 'A001'], blink: true, brightness: 100, blank: false },
        retain: false,
        qos: 1,
      },
    ]);
    // A recall blinks again (the text is unchanged, so nothing retained is sent); serving does not blink.
    const recall = o.sent.length;
    await o.do({ type: 'recall', counter: 1 });
    expect(o.on('lobby/v1/devices/led-1/led', recall).map((s) => [s.payload.blink, s.retain])).toEqual([
      [true, false],
    ]);
    const serve = o.sent.length;
    await o.do({ type: 'serve', counter: 1 });
    expect(o.on('lobby/v1/devices/led-1/led', serve)).toEqual([]);
    // Another counter's board neither blinks nor changes for this call.
    expect(o.on('lobby/v1/devices/led-4/led', from)).toEqual([]);
    o.close();
  });

  it('a board shows ---- at an open counter with nobody called, and Tạm dừng while paused', async () => {
    const o = office();
    await o.do({ type: 'sign_in', counter: 1, clerk: 'cc01' });
    expect(o.retained('lobby/v1/devices/led-1/led')).toMatchObject({
      lines: ['Quầy 1', '----'],
      blank: false,
    });
    await o.do({ type: 'pause', counter: 1, reason: null });
    expect(o.retained('lobby/v1/devices/led-1/led')).toEqual({
      lines: ['Quầy 1', 'Tạm dừng'],
      blink: false,
      brightness: 100,
      blank: false,
    });
    o.close();
  });

  it('the entrance board lists the three latest calls, newest first, and blinks for each new call', async () => {
    const o = office();
    await o.publisher.refresh(o.ledger.state, new Set(), true);
    expect(o.retained('lobby/v1/devices/led-entrance/led')).toMatchObject({
      lines: ['Bộ phận một cửa xã Thử Nghiệm'],
      blank: false,
    });
    await o.issue('van-thu');
    await o.issue('chung-thuc');
    await o.issue('ho-tich');
    await o.issue('dat-dai');
    await o.do({ type: 'next', counter: 1 });
    o.later(1000);
    await o.do({ type: 'next', counter: 2 });
    o.later(1000);
    await o.do({ type: 'next', counter: 3 });
    o.later(1000);
    const from = o.sent.length;
    await o.do({ type: 'next', counter: 4 });
    const entrance = o.on('lobby/v1/devices/led-entrance/led', from);
    expect(entrance.map((s) => [s.payload.lines, s.payload.blink, s.retain])).toEqual([
      [['4001 → Quầy 4', 'C001 → Quầy 3', 'B001 → Quầy 2'], false, true],
      [['4001 → Quầy 4', 'C001 → Quầy 3', 'B001 → Quầy 2'], true, false],
    ]);
    // Finished citizens leave the board.
    await o.do({ type: 'finish', counter: 4, dossiers: [] });
    expect(o.retained('lobby/v1/devices/led-entrance/led')?.lines).toEqual([
      'C001 → Quầy 3',
      'B001 → Quầy 2',
      'A001 → Quầy 1',
    ]);
    o.close();
  });
});

describe('retained state', () => {
  it('a counter’s state: its clerk, status and the citizen called, with the time of the call', async () => {
    const o = office();
    await o.do({ type: 'sign_in', counter: 1, clerk: 'cc01' });
    await o.issue();
    o.later(60_000);
    await o.do({ type: 'next', counter: 1 });
    expect(o.on('lobby/v1/state/counters/1').at(-1)).toMatchObject({ retain: true, qos: 1 });
    expect(o.retained('lobby/v1/state/counters/1')).toEqual({
      counter: 1,
      name: 'Quầy 1',
      status: 'open',
      clerk: { id: 'cc01', name: 'Nguyễn Thị Lan' },
      services: ['van-thu'],
      current: {
        ticketId: '2026-11-23/A001',
        number: 'A001',
        service: 'van-thu',
        state: 'called',
        calledAt: new Date(T0 + 60_000).toISOString(),
        recalls: 0,
      },
      updatedAt: new Date(T0 + 60_000).toISOString(),
    });
    await o.do({ type: 'recall', counter: 1 });
    expect(o.retained('lobby/v1/state/counters/1')?.current).toMatchObject({ recalls: 1, state: 'called' });
    await o.do({ type: 'serve', counter: 1 });
    expect(o.retained('lobby/v1/state/counters/1')?.current).toMatchObject({ state: 'serving' });
    await o.do({ type: 'finish', counter: 1, dossiers: [] });
    expect(o.retained('lobby/v1/state/counters/1')).toMatchObject({ status: 'open', current: null });
    o.close();
  });

  it('a service’s state: waiting, issued, quota, last numbers, open counters, wait estimate and refusal', async () => {
    const o = office();
    await o.do({ type: 'sign_in', counter: 2, clerk: 'cc01' });
    await o.issue('chung-thuc');
    await o.issue('chung-thuc');
    await o.issue('chung-thuc');
    await o.do({ type: 'next', counter: 2 });
    expect(o.retained('lobby/v1/state/services/chung-thuc')).toEqual({
      service: 'chung-thuc',
      name: 'Chứng thực',
      waiting: 2,
      issuedToday: 3,
      quota: 200,
      lastIssued: 'B003',
      lastCalled: 'B001',
      openCounters: 1,
      estimatedWaitMin: 10, // 2 waiting × the default 5 minutes, one counter open
      accepting: true,
      refusal: null,
      updatedAt: new Date(T0).toISOString(),
    });
    expect(o.retained('lobby/v1/state/services/ho-tich')).toMatchObject({
      waiting: 0,
      issuedToday: 0,
      quota: null,
      lastIssued: null,
      lastCalled: null,
      openCounters: 1, // counter 2 serves hộ tịch too
    });
    o.close();
  });

  it('a service that cannot issue says why', async () => {
    const o = office({
      services: [
        { id: 'van-thu', name: 'Văn thư', numbering: { prefix: 'A', width: 3 }, dailyQuota: 1 },
        ...SERVICES.slice(1),
      ],
    });
    await o.issue();
    expect(o.retained('lobby/v1/state/services/van-thu')).toMatchObject({
      issuedToday: 1,
      quota: 1,
      accepting: false,
      refusal: 'quota_reached',
    });
    o.close();
  });

  it('the office: its day, sessions (cutoff defaulting to the close), services and counters by name', async () => {
    const o = office({
      office: {
        id: 'xa-a',
        name: 'Xã A',
        sessions: [
          { open: '07:30', close: '11:30', cutoff: '11:00' },
          { open: '13:30', close: '17:00' },
        ],
        workdays: [1, 2, 3, 4, 5, 6, 7],
      },
      counters: [
        { number: 1, name: 'Văn thư', services: ['van-thu'] },
        { number: 2, services: ['chung-thuc', 'ho-tich'] },
        { number: 3, services: ['ho-tich'] },
        { number: 4, services: ['dat-dai'] },
      ],
    });
    await o.issue();
    expect(o.retained('lobby/v1/state/office')).toEqual({
      id: 'xa-a',
      name: 'Xã A',
      timezone: 'Asia/Ho_Chi_Minh',
      day: '2026-11-23',
      sessions: [
        { open: '07:30', close: '11:30', cutoff: '11:00' },
        { open: '13:30', close: '17:00', cutoff: '17:00' },
      ],
      services: o.cfg.services.map((s) => ({ id: s.id, name: s.name })),
      counters: [
        { number: 1, name: 'Văn thư' },
        { number: 2, name: 'Quầy 2' },
        { number: 3, name: 'Quầy 3' },
        { number: 4, name: 'Quầy 4' },
      ],
      updatedAt: new Date(T0).toISOString(),
    });
    o.close();
  });

  it('is sent again only when it changed, all of it when forced, and again after a failed publish', async () => {
    const o = office();
    await o.publisher.refresh(o.ledger.state, new Set(), true);
    const all = o.sent.length;
    expect(all).toBeGreaterThan(0);
    await o.publisher.refresh(o.ledger.state);
    expect(o.sent.length).toBe(all); // nothing changed: nothing sent
    await o.publisher.refresh(o.ledger.state, new Set(), true);
    expect(o.sent.length).toBe(2 * all); // forced (a restart): everything again
    o.failPublishing(true);
    await o.issue(); // the commit stands; the screens could not be told
    o.failPublishing(false);
    const from = o.sent.length;
    await o.publisher.refresh(o.ledger.state);
    expect(o.on('lobby/v1/state/services/van-thu', from)[0]?.payload).toMatchObject({ waiting: 1 });
    o.close();
  });
});

describe('a rating tablet', () => {
  it('opens for the citizen called and served at its counter, names the clerk, and closes once rated', async () => {
    const o = office();
    const session = () => o.retained('lobby/v1/devices/rating-2/rating-session');
    await o.publisher.refresh(o.ledger.state, new Set(), true);
    expect(session()).toEqual({
      open: false,
      counter: 2,
      ticketId: null,
      number: null,
      service: null,
      clerk: null,
      scale: o.cfg.rating.scale,
    });
    await o.do({ type: 'sign_in', counter: 2, clerk: 'cc02' });
    await o.issue('ho-tich');
    await o.do({ type: 'next', counter: 2 });
    await o.do({ type: 'serve', counter: 2 });
    expect(session()).toEqual({
      open: true,
      counter: 2,
      ticketId: '2026-11-23/C001',
      number: 'C001',
      service: 'Hộ tịch',
      clerk: { id: 'cc02', name: 'Trần Văn Minh' },
      scale: o.cfg.rating.scale,
    });
    await o.do({ type: 'finish', counter: 2, dossiers: [] });
    expect(session()).toMatchObject({ open: true, number: 'C001' });
    await o.do({ type: 'rate', counter: 2, score: 4, reasons: [] }, 'rating-2');
    expect(session()).toMatchObject({ open: false, ticketId: null, number: null });
    // The tablet of counter 1 was never opened.
    expect(o.retained('lobby/v1/devices/rating-1/rating-session')).toMatchObject({ open: false, counter: 1 });
    o.close();
  });
});

describe('the box’s presence', () => {
  it('is retained with its session, the time and the version', async () => {
    const o = office();
    await o.publisher.announceBox(true, 7, '1.2.3');
    expect(o.sent.at(-1)).toEqual({
      topic: 'lobby/v1/presence/box',
      payload: { online: true, session: 7, ts: new Date(T0).toISOString(), version: '1.2.3' },
      retain: true,
    });
    o.close();
  });
});

describe('who gets what', () => {
  it('each board, tablet and announcer gets its own messages and nobody else any', async () => {
    const o = office({
      counters: [
        { number: 1, name: 'Văn thư', services: ['van-thu'] },
        { number: 2, services: ['chung-thuc', 'ho-tich'] },
        { number: 3, services: ['ho-tich', 'chung-thuc'] },
        { number: 4, services: ['dat-dai'] },
      ],
    });
    await o.publisher.refresh(o.ledger.state, new Set(), true);
    expect(o.retained('lobby/v1/state/counters/4')).toMatchObject({ status: 'closed', current: null });
    expect(o.retained('lobby/v1/devices/led-1/led')?.lines).toEqual(['Văn thư']);
    expect(o.retained('lobby/v1/devices/led-4/led')?.lines).toEqual(['Quầy 4']);
    await o.issue();
    await o.do({ type: 'next', counter: 1 });
    const devices = new Set(
      o.sent.filter((s) => s.topic.startsWith('lobby/v1/devices/')).map((s) => s.topic),
    );
    expect([...devices].sort()).toEqual([
      'lobby/v1/devices/announcer-1/announce',
      'lobby/v1/devices/led-1/led',
      'lobby/v1/devices/led-4/led',
      'lobby/v1/devices/led-entrance/led',
      'lobby/v1/devices/rating-1/rating-session',
      'lobby/v1/devices/rating-2/rating-session',
    ]);
    o.close();
  });

  it('a board goes blank again when its counter closes', async () => {
    const o = office();
    await o.do({ type: 'sign_in', counter: 1, clerk: 'cc01' });
    expect(o.retained('lobby/v1/devices/led-1/led')).toMatchObject({ blank: false });
    await o.do({ type: 'sign_out', counter: 1 });
    expect(o.retained('lobby/v1/devices/led-1/led')).toEqual({
      lines: ['Quầy 1'],
      blink: false,
      brightness: 100,
      blank: true,
    });
    expect(o.retained('lobby/v1/state/counters/1')).toMatchObject({ status: 'closed' });
    o.close();
  });

  it('the entrance board orders by the time of the call, whatever the counter, and keeps citizens being served', async () => {
    const o = office();
    await o.issue('van-thu');
    await o.issue('chung-thuc');
    await o.issue('dat-dai');
    await o.do({ type: 'next', counter: 4 });
    o.later(1000);
    await o.do({ type: 'next', counter: 1 });
    o.later(1000);
    await o.do({ type: 'next', counter: 2 });
    await o.do({ type: 'serve', counter: 4 });
    expect(o.retained('lobby/v1/devices/led-entrance/led')?.lines).toEqual([
      'B001 → Quầy 2',
      'A001 → Quầy 1',
      '4001 → Quầy 4',
    ]);
    o.close();
  });
});

describe('a config change', () => {
  it('clears the retained state of a counter and a service it removes, once, and nothing else', async () => {
    const o = office();
    await o.do({ type: 'sign_in', counter: 2, clerk: 'cc02' }, 'keypad-2');
    await o.issue('chung-thuc');
    await o.do({ type: 'next', counter: 2 }, 'keypad-2');
    await o.do({ type: 'serve', counter: 2 }, 'keypad-2');
    const from = o.sent.length;
    // Counter 4 and its service Đất đai go; Chứng thực goes while counter 2 still serves one of its citizens.
    o.reconfigure({
      // The board of counter 4 goes from the config with its counter (the box's directory still has it).
      peripherals: peripherals.filter((p) => p.id !== 'led-4'),
      services: SERVICES.filter((s) => s.id !== 'dat-dai' && s.id !== 'chung-thuc'),
      counters: [
        { number: 1, services: ['van-thu'] },
        { number: 2, services: ['ho-tich'] },
        { number: 3, services: ['ho-tich'] },
      ],
    });
    await o.publisher.refresh(o.ledger.state);
    const cleared = o.sent.slice(from).filter((s) => (s.payload as unknown) === '');
    expect(cleared).toEqual([
      { topic: 'lobby/v1/state/counters/4', payload: '', retain: true, qos: 1 },
      { topic: 'lobby/v1/state/services/chung-thuc', payload: '', retain: true, qos: 1 },
      { topic: 'lobby/v1/state/services/dat-dai', payload: '', retain: true, qos: 1 },
    ]);
    // A board still known whose counter went shows the counter by number, blank; the citizen at counter 2 can still rate,
    // their service named by its id now that the config no longer names it.
    expect(o.retained('lobby/v1/devices/led-4/led')).toEqual({
      lines: ['Quầy 4'],
      blink: false,
      brightness: 100,
      blank: true,
    });
    expect(o.retained('lobby/v1/devices/rating-2/rating-session')).toMatchObject({
      open: true,
      number: 'B001',
      service: 'chung-thuc',
    });
    const again = o.sent.length;
    await o.publisher.refresh(o.ledger.state);
    expect(o.sent.slice(again)).toEqual([]); // cleared once: a later refresh has nothing to clear
    o.close();
  });
});

describe('an admin’s notice', () => {
  it('is in the office state and on the last line of every board while it lasts, and gone after', async () => {
    const notice: OfficeNotice = {
      text: { vi: 'Mất điện lúc 14:00', en: 'Power cut at 14:00' },
      until: new Date(T0 + 3_600_000).toISOString(),
    };
    let showing: OfficeNotice | null = notice;
    const o = office({}, { notice: () => showing });
    await o.issue('van-thu');
    await o.issue('van-thu');
    await o.issue('chung-thuc');
    await o.issue('ho-tich');
    await o.do({ type: 'next', counter: 1 });
    o.later(1000);
    await o.do({ type: 'next', counter: 2 }, 'keypad-2');
    o.later(1000);
    await o.do({ type: 'next', counter: 3 });
    expect(o.retained('lobby/v1/state/office')?.notice).toEqual(notice);
    expect(o.retained('lobby/v1/devices/led-1/led')).toEqual({
      lines: ['Quầy 1', 'A001', 'Mất điện lúc 14:00'],
      blink: false,
      brightness: 100,
      blank: false,
    });
    // A closed counter's board is blank, but not while there is a notice to show.
    expect(o.retained('lobby/v1/state/counters/4')).toMatchObject({ status: 'closed' });
    expect(o.retained('lobby/v1/devices/led-4/led')).toEqual({
      lines: ['Quầy 4', 'Mất điện lúc 14:00'],
      blink: false,
      brightness: 100,
      blank: false,
    });
    // The entrance board keeps its three latest calls and gives its fourth line to the notice.
    expect(o.retained('lobby/v1/devices/led-entrance/led')?.lines).toEqual([
      'C001 → Quầy 3',
      'B001 → Quầy 2',
      'A001 → Quầy 1',
      'Mất điện lúc 14:00',
    ]);
    showing = null;
    await o.publisher.refresh(o.ledger.state);
    expect(o.retained('lobby/v1/state/office')).not.toHaveProperty('notice');
    expect(o.retained('lobby/v1/devices/led-1/led')?.lines).toEqual(['Quầy 1', 'A001']);
    o.close();
  });
});
