// Print jobs are delivered at least once: pending from the commit until the printer side acknowledges them,
// sent again periodically, after a restart and on a retried request, always with the same jobId, until they
// expire.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { PRINT_JOB_EXPIRY_MS, topics, type PrintJob } from '../../protocol/index.js';
import { PeripheralDirectory } from '../../device/broker/directory.js';
import { PrintSpool } from '../../device/effects/print-spool.js';
import { Ledger } from '../../device/ledger.js';
import { EventStore } from '../../device/store/event-store.js';
import { officeConfig, peripheralsFor } from '../support/office.js';

const log = pino({ level: 'silent' });

async function office() {
  const cfg = officeConfig(
    await peripheralsFor([
      { id: 'kiosk-1', role: 'kiosk' },
      { id: 'kiosk-2', role: 'kiosk' },
    ]),
  );
  const file = join(mkdtempSync(join(tmpdir(), 'lobby-spool-')), 'events.db');
  let now = Date.UTC(2026, 10, 23, 2, 0);
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const sent: { topic: string; job: PrintJob }[] = [];
  const out = {
    publish: (topic: string, payload: unknown) => {
      sent.push({ topic, job: payload as PrintJob });
      return Promise.resolve();
    },
  };
  const directory = new PeripheralDirectory(cfg.peripherals);
  /** A box run on the log: its ledger and its spool, wired as the daemon wires them. */
  const boot = async (store = new EventStore(file)) => {
    const ledger = new Ledger(cfg, store, clock.now);
    const spool = new PrintSpool(cfg, directory, out, store, clock.now, log);
    ledger.onCommit((events) => void spool.committed(events));
    await spool.restore();
    return { store, ledger, spool };
  };
  const issue = (ledger: Ledger, source: string, delivery?: 'screen') =>
    ledger.submit(
      { type: 'issue', service: 'van-thu', priority: null, source, ...(delivery ? { delivery } : {}) },
      { source },
    );
  const jobIds = () => sent.map((s) => `${s.topic.split('/')[3]}:${s.job.jobId}`);
  return { clock, sent, jobIds, boot, issue };
}

describe('print spool', () => {
  it('sends a paper ticket to its kiosk and again until acknowledged, always with the ticket id as jobId', async () => {
    const o = await office();
    const { ledger, spool, store } = await o.boot();
    await o.issue(ledger, 'kiosk-1');
    await o.issue(ledger, 'kiosk-2');
    await o.issue(ledger, 'kiosk-1', 'screen'); // shown on screen: no print job
    expect(o.jobIds()).toEqual(['kiosk-1:2026-11-23/A001', 'kiosk-2:2026-11-23/A002']);
    expect(o.sent[0]?.topic).toBe(topics.print('kiosk-1'));

    o.clock.advance(5_000);
    await spool.sweep();
    expect(o.jobIds().slice(2)).toEqual(['kiosk-1:2026-11-23/A001', 'kiosk-2:2026-11-23/A002']);

    await spool.printed('kiosk-2', '2026-11-23/A001'); // another kiosk's job: ignored
    await Promise.all([
      spool.printed('kiosk-1', '2026-11-23/A001'),
      spool.printed('kiosk-1', '2026-11-23/A001'), // a repeated acknowledgement is harmless
    ]);
    o.clock.advance(5_000);
    await spool.sweep();
    expect(o.jobIds().slice(4)).toEqual(['kiosk-2:2026-11-23/A002']);
    expect(store.wasPrinted('2026-11-23/A001')).toBe(true);
    expect(store.wasPrinted('2026-11-23/A002')).toBe(false);
    store.close();
  });

  it('after a crash, sends again at once the jobs nobody acknowledged, and on a retried request', async () => {
    const o = await office();
    const first = await o.boot();
    await o.issue(first.ledger, 'kiosk-1');
    await o.issue(first.ledger, 'kiosk-1');
    await first.spool.printed('kiosk-1', '2026-11-23/A001');
    first.store.close(); // the box stops; A002 was never acknowledged
    o.sent.length = 0;

    o.clock.advance(2_000);
    const second = await o.boot();
    expect(o.jobIds()).toEqual(['kiosk-1:2026-11-23/A002']);
    await second.spool.retried('kiosk-1', '2026-11-23/A002');
    await second.spool.retried('kiosk-1', '2026-11-23/A001'); // printed: not sent again
    await second.spool.retried('kiosk-2', '2026-11-23/A002'); // not that kiosk's job
    expect(o.jobIds()).toEqual(['kiosk-1:2026-11-23/A002', 'kiosk-1:2026-11-23/A002']);
    second.store.close();
  });

  it('a job nobody acknowledged expires after PRINT_JOB_EXPIRY_MS, and a restart later does not revive it', async () => {
    const o = await office();
    const first = await o.boot();
    await o.issue(first.ledger, 'kiosk-1');
    o.clock.advance(PRINT_JOB_EXPIRY_MS + 1);
    o.sent.length = 0;
    await first.spool.sweep();
    expect(o.sent).toEqual([]);
    expect(first.spool.size).toBe(0);
    first.store.close();
    const second = await o.boot();
    expect(o.sent).toEqual([]);
    second.store.close();
  });
});
