// Print jobs as a kiosk's printer receives them: what is printed, when a job is sent again (the periodic resend,
// at most once per half period, after a failed publish), which tickets get no job, and what a restart sends.
// A ledger on a real log and the spool wired as the daemon wires them; the publisher records what goes out.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PRINT_JOB_EXPIRY_MS, PRINT_JOB_RESEND_MS, type PrintJob } from '../../protocol/index.js';
import { PeripheralDirectory } from '../../device/broker/directory.js';
import { PrintSpool } from '../../device/effects/print-spool.js';
import { Ledger } from '../../device/ledger.js';
import { EventStore } from '../../device/store/event-store.js';
import { officeConfig, peripheralsFor } from '../support/office.js';

const log = pino({ level: 'silent' });
const T0 = Date.UTC(2026, 10, 23, 2, 0); // Monday 09:00 in the office

afterEach(() => {
  vi.useRealTimers();
});

async function office() {
  const cfg = officeConfig(
    await peripheralsFor([
      { id: 'kiosk-1', role: 'kiosk' },
      { id: 'keypad-1', role: 'keypad', counter: 1 },
    ]),
  );
  const file = join(mkdtempSync(join(tmpdir(), 'lobby-print-')), 'events.db');
  let now = T0;
  const clock = () => now;
  const sent: { topic: string; job: PrintJob }[] = [];
  const qos: (number | undefined)[] = [];
  let failing = false;
  const out = {
    publish: (topic: string, payload: unknown, opts?: { qos?: 0 | 1 }) => {
      if (failing) return Promise.reject(new Error('broker down'));
      sent.push({ topic, job: payload as PrintJob });
      qos.push(opts?.qos);
      return Promise.resolve();
    },
  };
  const directory = new PeripheralDirectory(cfg.peripherals);
  /** Starts the box on the log; `config` replaces the office's config from this start on. */
  const boot = async (opts: { resendMs?: number; config?: typeof cfg } = {}) => {
    const store = new EventStore(file);
    const ledger = new Ledger(opts.config ?? cfg, store, clock);
    const spool = new PrintSpool(opts.config ?? cfg, directory, out, store, clock, log, opts);
    let effects = Promise.resolve();
    ledger.onCommit((events) => {
      effects = spool.committed(events);
    });
    await spool.restore();
    const issue = async (source: string, service = 'van-thu', priority: 'elderly' | null = null) => {
      const o = await ledger.submit({ type: 'issue', service, priority, source }, { source });
      await effects;
      return o;
    };
    return { store, ledger, spool, issue };
  };
  return {
    cfg,
    sent,
    qos,
    boot,
    advance: (ms: number) => (now += ms),
    failPublishing: (on: boolean) => (failing = on),
    numbers: () => sent.map((s) => s.job.ticket.number),
  };
}

describe('a print job', () => {
  it('carries what the kiosk prints: office, number, service name, priority, people ahead, wait, time of issue', async () => {
    const o = await office();
    const { issue, store } = await o.boot();
    await issue('kiosk-1', 'chung-thuc', 'elderly');
    await issue('kiosk-1', 'chung-thuc');
    expect(o.sent[1]).toEqual({
      topic: 'lobby/v1/devices/kiosk-1/print',
      job: {
        jobId: '2026-11-23/B002',
        officeName: 'Bộ phận một cửa xã Thử Nghiệm',
        ticket: {
          ticketId: '2026-11-23/B002',
          number: 'B002',
          service: 'chung-thuc',
          serviceName: 'Chứng thực',
          priority: null,
          ahead: 1,
          estimatedWaitMin: null,
          issuedAt: new Date(T0).toISOString(),
        },
      },
    });
    expect(o.sent[0]?.job.ticket.priority).toBe('elderly');
    expect(o.qos).toEqual([1, 1]); // at least once: the kiosk prints each jobId once
    store.close();
  });

  it('is made only for a ticket a kiosk asked for', async () => {
    const o = await office();
    const { issue, store, ledger } = await o.boot();
    await issue('keypad-1'); // not a kiosk (a GPIO ticket button is the box's own kiosk id)
    await ledger.submit(
      { type: 'issue', service: 'van-thu', priority: null, source: null },
      { source: null },
    );
    await issue('kiosk-9'); // no such device (any more)
    expect(o.sent).toEqual([]);
    await issue('kiosk-1');
    expect(o.numbers()).toEqual(['A004']);
    store.close();
  });
});

describe('sending a job again', () => {
  it('a sweep sends again only the jobs not sent in the last half period', async () => {
    const o = await office();
    const { issue, spool, store } = await o.boot();
    await issue('kiosk-1'); // A001, sent at T0
    o.advance(PRINT_JOB_RESEND_MS / 2);
    await issue('kiosk-1'); // A002, sent at T0 + half
    o.advance(1);
    await spool.sweep();
    expect(o.numbers()).toEqual(['A001', 'A002', 'A001']);
    o.advance(PRINT_JOB_RESEND_MS / 2 - 1); // A002 sent exactly half a period ago, A001 just under
    await spool.sweep();
    expect(o.numbers().slice(3)).toEqual(['A002']);
    store.close();
  });

  it('a job whose publish failed stays pending and goes out with the next sweep', async () => {
    const o = await office();
    const { issue, spool, store } = await o.boot();
    o.failPublishing(true);
    await issue('kiosk-1');
    expect(spool.size).toBe(1);
    o.failPublishing(false);
    o.advance(PRINT_JOB_RESEND_MS);
    await spool.sweep();
    expect(o.numbers()).toEqual(['A001']);
    store.close();
  });

  it('runs by itself every resend period once started, and not after it is stopped', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const o = await office();
    const { issue, spool, store } = await o.boot({ resendMs: 1000 });
    await issue('kiosk-1');
    spool.start();
    o.advance(1000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(o.numbers()).toEqual(['A001', 'A001']);
    spool.stop();
    o.advance(5000);
    await vi.advanceTimersByTimeAsync(5000);
    expect(o.numbers()).toEqual(['A001', 'A001']);
    store.close();
  });

  it('expires exactly after PRINT_JOB_EXPIRY_MS, not before; a retried request does not revive it', async () => {
    const o = await office();
    const { issue, spool, store } = await o.boot();
    await issue('kiosk-1');
    o.advance(PRINT_JOB_EXPIRY_MS);
    await spool.sweep();
    expect(spool.size).toBe(1); // at the limit: still sent
    expect(o.numbers()).toEqual(['A001', 'A001']);
    o.advance(1);
    await spool.retried('kiosk-1', '2026-11-23/A001');
    expect(o.numbers()).toEqual(['A001', 'A001']);
    await spool.sweep();
    expect(spool.size).toBe(0);
    store.close();
  });
});

describe('a ticket printed again (an admin’s reprint)', () => {
  it('goes to the kiosk under its own job id, is sent again until printed, and then no more', async () => {
    const o = await office();
    const { issue, spool, store } = await o.boot();
    await issue('kiosk-1');
    await spool.printed('kiosk-1', '2026-11-23/A001');
    const first = o.sent[0]?.job as PrintJob;
    o.sent.length = 0;
    const again = { ...first, jobId: '2026-11-23/A001#reprint-1' };
    await spool.reprint('kiosk-1', again);
    expect(o.sent).toEqual([{ topic: 'lobby/v1/devices/kiosk-1/print', job: again }]);
    expect(spool.size).toBe(1);
    o.advance(PRINT_JOB_RESEND_MS);
    await spool.sweep();
    expect(o.sent.map((s) => s.job.jobId)).toEqual([again.jobId, again.jobId]);
    await spool.printed('kiosk-1', again.jobId);
    o.advance(PRINT_JOB_RESEND_MS);
    await spool.sweep();
    expect(o.sent).toHaveLength(2);
    store.close();
  });
});

describe('after a restart', () => {
  it('a job of a service the new config no longer has still prints, naming the service by its id', async () => {
    const o = await office();
    const first = await o.boot();
    await first.issue('kiosk-1', 'chung-thuc');
    first.store.close();
    o.sent.length = 0;
    const config = officeConfig(o.cfg.peripherals, {
      services: o.cfg.services.filter((s) => s.id !== 'chung-thuc'),
      counters: o.cfg.counters.map((c) => ({ ...c, services: c.services.filter((x) => x !== 'chung-thuc') })),
    });
    const second = await o.boot({ config });
    expect(o.sent.map((s) => s.job.ticket)).toEqual([
      expect.objectContaining({ number: 'B001', service: 'chung-thuc', serviceName: 'chung-thuc' }),
    ]);
    second.store.close();
  });

  it('sends the unacknowledged jobs of the expiry window, oldest first, once each', async () => {
    const o = await office();
    const first = await o.boot();
    await first.issue('kiosk-1'); // A001, too old by the restart
    o.advance(PRINT_JOB_EXPIRY_MS - 10_000);
    await first.issue('kiosk-1'); // A002
    await first.issue('kiosk-1'); // A003
    await first.issue('kiosk-1'); // A004, printed
    await first.spool.printed('kiosk-1', '2026-11-23/A004');
    first.store.close();
    o.advance(10_001);
    o.sent.length = 0;
    const second = await o.boot();
    expect(o.numbers()).toEqual(['A002', 'A003']);
    expect(second.spool.size).toBe(2);
    second.store.close();
  });

  it('an acknowledgement the log could not record fails, so the kiosk sends it again', async () => {
    const o = await office();
    const { issue, spool, store } = await o.boot();
    await issue('kiosk-1');
    const record = store.recordPrinted.bind(store);
    store.recordPrinted = () => {
      throw new Error('disk I/O error');
    };
    await expect(spool.printed('kiosk-1', '2026-11-23/A001')).rejects.toThrow('disk I/O error');
    store.recordPrinted = record;
    await spool.printed('kiosk-1', '2026-11-23/A001');
    expect(store.wasPrinted('2026-11-23/A001')).toBe(true);
    store.close();
  });
});

describe('a kiosk', () => {
  it('retrying its request gets its job sent again at once; another kiosk retrying or acknowledging changes nothing', async () => {
    const o = await office();
    const { issue, spool, store } = await o.boot();
    await issue('kiosk-1');
    await spool.retried('kiosk-2', '2026-11-23/A001');
    expect(o.numbers()).toEqual(['A001']);
    await spool.retried('kiosk-1', '2026-11-23/A001');
    expect(o.numbers()).toEqual(['A001', 'A001']);
    await spool.printed('kiosk-2', '2026-11-23/A001'); // not its job: ignored
    expect(store.wasPrinted('2026-11-23/A001')).toBe(false);
    o.advance(PRINT_JOB_RESEND_MS);
    await spool.sweep();
    expect(o.numbers()).toEqual(['A001', 'A001', 'A001']); // still sent until its own kiosk acknowledges it
    store.close();
  });
});
