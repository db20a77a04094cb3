// The event log's health as everyone outside sees it: /healthz, /metrics, the retained box state the
// screens read, and the heartbeat to the cloud. Fed by the ledger (a commit failed, commits work again);
// while the disk is full, a probe write on each health check and tick notices when space came back.
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { ERRORS, STORAGE_STATES, type BoxStateMsg, type StorageState } from '../protocol/index.js';
import type { Ledger } from './ledger.js';
import type { EventStore } from './store/event-store.js';
import { freeDiskBytes, storageFaultOf, type StorageFault } from './store/storage-fault.js';

export interface StorageView {
  state: StorageState;
  since: string | null;
  /** Why requests are refused, for a person (null while ok). */
  reason: string | null;
  freeDiskBytes: number | null;
}

export class StorageHealth {
  private stateNow: StorageState = 'ok';
  private sinceAt: number | null = null;
  private fault: StorageFault | null = null;
  private readonly listeners: ((view: StorageView) => void)[] = [];

  constructor(
    private readonly o: {
      dataDir: string;
      store: EventStore;
      ledger: Ledger;
      clock: () => number;
      log: Logger;
      registry: Registry;
    },
  ) {
    o.ledger.onStorage((fault) => this.set(fault));
    const gauge = new Gauge({
      name: 'lobby_storage_state',
      help: 'The event log: 1 for the current state (ok; full: disk full, requests refused; failed: restarting)',
      labelNames: ['state'] as const,
      registers: [o.registry],
      collect: () => {
        for (const s of STORAGE_STATES) gauge.set({ state: s }, s === this.stateNow ? 1 : 0);
      },
    });
    const free = new Gauge({
      name: 'lobby_disk_free_bytes',
      help: "Free bytes on the data directory's filesystem (for the box's user)",
      registers: [o.registry],
      collect: () => {
        const b = freeDiskBytes(o.dataDir);
        if (b !== null) free.set(b);
      },
    });
  }

  get state(): StorageState {
    return this.stateNow;
  }

  onChange(listener: (view: StorageView) => void): void {
    this.listeners.push(listener);
  }

  /** A storage fault met outside the ledger (at start: the boot counter, the first tick). */
  report(err: unknown): boolean {
    const fault = storageFaultOf(err);
    if (fault) this.set(fault);
    return fault !== null;
  }

  /** While the disk is full: tries a one-row write, and reports ok when it went through. */
  probe(): void {
    if (this.stateNow !== 'full') return;
    try {
      this.o.store.probeWrite(this.o.clock());
      this.set(null);
    } catch (err) {
      const fault = storageFaultOf(err);
      if (fault?.kind === 'failed') this.set(fault);
    }
  }

  view(): StorageView {
    const reason =
      this.stateNow === 'ok'
        ? null
        : `${this.stateNow === 'full' ? ERRORS.storage_full.en : ERRORS.storage_failed.en} (${this.fault?.sqliteCode ?? ''}: ${this.fault?.message ?? ''})`;
    return {
      state: this.stateNow,
      since: this.sinceAt === null ? null : new Date(this.sinceAt).toISOString(),
      reason,
      freeDiskBytes: freeDiskBytes(this.o.dataDir),
    };
  }

  /** The retained `lobby/v1/state/box` message. */
  boxState(): BoxStateMsg {
    const message =
      this.stateNow === 'full'
        ? { vi: ERRORS.storage_full.vi, en: ERRORS.storage_full.en }
        : this.stateNow === 'failed'
          ? { vi: ERRORS.storage_failed.vi, en: ERRORS.storage_failed.en }
          : null;
    return {
      storage: this.stateNow,
      acceptingRequests: this.stateNow === 'ok',
      since: this.sinceAt === null ? null : new Date(this.sinceAt).toISOString(),
      message,
      updatedAt: new Date(this.o.clock()).toISOString(),
    };
  }

  private set(fault: StorageFault | null): void {
    // A failed commit is final for this process: only a restart (and the log's recovery) clears it.
    if (this.stateNow === 'failed') return;
    const next: StorageState = fault ? fault.kind : 'ok';
    this.fault = fault ?? null;
    if (next === this.stateNow) return;
    this.stateNow = next;
    this.sinceAt = this.o.clock();
    const view = this.view();
    if (next === 'ok') this.o.log.info({ storage: view }, 'storage: the event log takes writes again');
    else if (next === 'full')
      this.o.log.error(
        { storage: view },
        'storage: the disk is full; requests are refused until space is freed',
      );
    else
      this.o.log.fatal(
        { storage: view },
        'storage: a commit failed with an unknown outcome; no more requests are taken until the box restarts and recovers from its log',
      );
    for (const l of this.listeners) l(view);
  }
}
