// Benchmark 1: a keypad presses "next"; a lobby display must see both the `ticket.called` event and the
// counter's retained state for that call. Measured one call at a time, interleaved sample by sample with
// the raw floors (plain aedes round trip, one raw FULL commit) so machine noise hits all three alike.
import { rmSync } from 'node:fs';
import { startTestBox } from '../support/office.js';
import { openRawSqlite, startRawBroker } from './baselines.js';
import { CALL_COUNTERS as COUNTERS, CALL_DEVICES, startCallProbe } from './call-probe.js';
import {
  OPEN_SERVICES,
  issueThroughKiosk,
  issueUpFront,
  noonClock,
  spreadServices,
  tempDir,
} from './office-helpers.js';
import { now, summarize, type Summary } from './stats.js';

export interface CallResult {
  calls: number;
  ticketsIssued: number;
  ours: Summary;
  rawRoundTrip: Summary;
  rawCommit: Summary;
  /** ours / raw round trip, ours / (raw round trip + raw commit), at p50 and p99. */
  ratios: { p50VsRt: number; p99VsRt: number; p50VsRtPlusCommit: number; p99VsRtPlusCommit: number };
  /**
   * Inside the box, per call (ms): the ledger's whole flush; the durable append (fsync) in it; the commit
   * listeners (the effects: views computed, publishes handed to aedes); the rest is the engine (decide and
   * evolve).
   */
  inside: { flush: Summary; append: Summary; effects: Summary; engine: Summary };
  /** p50 of the first and last third of the calls (state holds every ticket of the day throughout). */
  thirds: { firstP50: number; lastP50: number };
  keypadErrors: Record<string, number>;
  mismatches: number;
}

/**
 * Two shapes of a day:
 * - `queue` set (an office day): `queue` citizens wait from the start, and before every call one more
 *   citizen takes a ticket (unmeasured), so the queue keeps its size while the day grows to
 *   queue + warmup + calls tickets, as in a large office (1,000+ tickets a day, tens waiting at a time);
 * - otherwise (a stress): `tickets` are issued up front (by default enough for every call) and all of
 *   them wait at once.
 * Tickets are spread over three services and counters; `calls` calls are measured after `warmup`.
 */
export async function benchCallLatency(opts: {
  calls: number;
  warmup: number;
  tickets?: number;
  queue?: number;
}): Promise<CallResult> {
  const tb = await startTestBox({
    devices: CALL_DEVICES,
    clock: noonClock(),
    dataDir: tempDir('lobby-bench-box-'),
  });
  const raw = openRawSqlite();
  const rawBroker = await startRawBroker();
  try {
    // Instrument the box from outside (bench only): time the durable append and the ledger's flush.
    const appendMs: number[] = [];
    const flushMs: number[] = [];
    const effectsMs: number[] = [];
    const store = tb.box.store;
    const append = store.append.bind(store);
    store.append = (...args) => {
      const t0 = now();
      const r = append(...args);
      appendMs.push(now() - t0);
      return r;
    };
    const ledger = tb.box.ledger as unknown as {
      flush: () => void;
      listeners: ((...a: unknown[]) => void)[];
    };
    const flush = ledger.flush.bind(ledger);
    ledger.flush = () => {
      const t0 = now();
      flush();
      flushMs.push(now() - t0);
    };
    const listeners = ledger.listeners;
    const effects = listeners.slice();
    listeners.length = 0;
    listeners.push((...args) => {
      const t0 = now();
      for (const l of effects) l(...args);
      effectsMs.push(now() - t0);
    });

    const total = opts.calls + opts.warmup;
    const perCounter = Math.ceil(total / COUNTERS.length);
    const issue =
      opts.queue !== undefined
        ? spreadServices(opts.queue)
        : spreadServices(opts.tickets ?? (perCounter + 34) * COUNTERS.length); // spares in each queue
    if (opts.queue === undefined && issue.length < total + COUNTERS.length)
      throw new Error(`${issue.length} tickets for ${total} calls`);
    const { kiosk, issued } = await issueUpFront(tb, issue);

    const probe = await startCallProbe(tb);

    const inside = {
      flush: [] as number[],
      append: [] as number[],
      effects: [] as number[],
      engine: [] as number[],
    };
    const ours: number[] = [];
    const rt: number[] = [];
    const commit: number[] = [];
    for (let i = 0; i < total; i++) {
      const measured = i >= opts.warmup;
      if (opts.queue !== undefined) {
        // One more citizen arrives for this counter's service: the queue stays as long as it was.
        const more = await issueThroughKiosk(
          kiosk,
          [OPEN_SERVICES[i % COUNTERS.length] as string],
          1,
          `a${i}-`,
        );
        issued.ok += more.ok;
      }
      appendMs.length = 0;
      flushMs.length = 0;
      effectsMs.length = 0;
      const call = (await probe.call(i)).ms;
      const [append1, flush1, effects1] = [appendMs.slice(), flushMs.slice(), effectsMs.slice()];
      const roundTrip = await rawBroker.roundTrip();
      const c = raw.commitOnce();
      if (!measured) continue;
      ours.push(call);
      rt.push(roundTrip);
      commit.push(c);
      // A call is one flush, one append, one listener run; skip the rare window a tick also landed in.
      if (append1.length === 1 && flush1.length === 1 && effects1.length === 1) {
        const [a, f, e] = [append1[0], flush1[0], effects1[0]] as [number, number, number];
        inside.flush.push(f);
        inside.append.push(a);
        inside.effects.push(e);
        inside.engine.push(f - a - e);
      }
    }

    const s = summarize(ours);
    const r = summarize(rt);
    const k = summarize(commit);
    const third = Math.floor(ours.length / 3);
    return {
      calls: ours.length,
      ticketsIssued: issued.ok,
      ours: s,
      rawRoundTrip: r,
      rawCommit: k,
      ratios: {
        p50VsRt: s.p50 / r.p50,
        p99VsRt: s.p99 / r.p99,
        p50VsRtPlusCommit: s.p50 / (r.p50 + k.p50),
        p99VsRtPlusCommit: s.p99 / (r.p99 + k.p99),
      },
      inside: {
        flush: summarize(inside.flush),
        append: summarize(inside.append),
        effects: summarize(inside.effects),
        engine: summarize(inside.engine),
      },
      thirds: {
        firstP50: summarize(ours.slice(0, third)).p50,
        lastP50: summarize(ours.slice(ours.length - third)).p50,
      },
      keypadErrors: probe.keypadErrors,
      mismatches: probe.mismatches,
    };
  } finally {
    await rawBroker.close();
    raw.close();
    await tb.close();
    rmSync(tb.dataDir, { recursive: true, force: true });
  }
}
