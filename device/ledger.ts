// The imperative shell around the queue engine: decides commands against the current state, commits the
// events (group commit: every command that arrives in the same event-loop turn shares one fsync), and
// only then tells listeners, which produce the effects. Nothing is published before it is durable.
import type { DomainEvent } from '../protocol/index.js';
import type { BoxConfig } from './config/schema.js';
import {
  carryoverAfter,
  decide,
  NO_CARRYOVER,
  type Carryover,
  emptyState,
  evolve,
  officeTime,
  type Command,
  type QueueState,
  type Rejection,
  serializeState,
  deserializeState,
} from './engine/index.js';
import type { Commit, EventStore, StoredEvent } from './store/event-store.js';
import { storageFaultOf, type StorageFault } from './store/storage-fault.js';

export interface CommandMeta {
  /** The device that sent it, or null for the box itself (ticks). */
  source: string | null;
  /** The device's correlation id: a retry with the same id gets the first answer. */
  requestId?: string;
  /**
   * What the request asked (topic and payload). A retry repeats it exactly; the same id with something
   * else (say, a device whose counter restarted) is refused with `request_id_reused`.
   */
  fingerprint?: string;
  /**
   * A condition outside the queue (a kiosk's printer can print) checked just before deciding, after the
   * retry check: a retry is answered as the first time, whatever has changed since.
   */
  precondition?: () => Rejection | null;
}

export type Outcome =
  | { ok: true; events: StoredEvent[]; duplicate: false }
  | { ok: true; duplicate: true; reply: unknown }
  | { ok: false; rejection: Rejection };

type CommitListener = (events: StoredEvent[], state: QueueState) => void;
/** The log's health as the ledger last saw it: null once a commit succeeded, the fault otherwise. */
type StorageListener = (fault: StorageFault | null) => void;

interface Pending {
  cmd: Command;
  meta: CommandMeta;
  replyOf: (events: DomainEvent[], at: number) => unknown;
  resolve: (o: Outcome) => void;
  reject: (e: unknown) => void;
}

export class Ledger {
  private stateNow: QueueState;
  private pending: Pending[] = [];
  private scheduled = false;
  private readonly listeners: CommitListener[] = [];
  private readonly storageListeners: StorageListener[] = [];
  /** Set by a commit whose outcome is unknown: from then on the ledger takes nothing (see commitFailed). */
  private haltedBy: StorageFault | null = null;
  /** The last storage fault reported, until a commit succeeds. */
  private storageFault: StorageFault | null = null;

  private cfg: BoxConfig;
  private carry: Carryover;

  constructor(
    cfg: BoxConfig,
    private readonly store: EventStore,
    private readonly clock: () => number = Date.now,
    carryover: Carryover = NO_CARRYOVER,
  ) {
    this.cfg = cfg;
    this.carry = carryover;
    // Rebuild the projection: the latest snapshot, then the events after it.
    const snap = store.latestSnapshot();
    let s = snap ? deserializeState(snap.state) : emptyState();
    for (const e of store.eventsAfter(snap?.seq ?? 0)) s = evolve(s, e.event, e.at);
    this.stateNow = s;
  }

  get state(): QueueState {
    return this.stateNow;
  }

  /** The config commands are decided with now. */
  get config(): BoxConfig {
    return this.cfg;
  }

  /** The services and counters removed today by a live config change (Carryover). */
  get carryover(): Carryover {
    return this.carry;
  }

  /**
   * The carryover that switching to `next` now would leave (to persist it with the config before switching).
   */
  carryoverFor(next: BoxConfig): Carryover {
    return carryoverAfter(this.cfg, next, this.stateNow, this.carry);
  }

  /**
   * Switches the config live. Synchronous, so it falls between two commits: every command decided before
   * it saw the old config, every one after sees the new (a batch is decided within one flush).
   */
  reconfigure(next: BoxConfig, carryover: Carryover = this.carryoverFor(next)): void {
    this.cfg = next;
    this.carry = carryover;
  }

  /** Non-null once a commit failed in a way that leaves the log's content unknown: restart to recover. */
  get halted(): StorageFault | null {
    return this.haltedBy;
  }

  /** Told when a commit fails for a storage fault, and when commits succeed again after one. */
  onStorage(listener: StorageListener): void {
    this.storageListeners.push(listener);
  }

  onCommit(listener: CommitListener): () => void {
    this.listeners.push(listener);
    return () => this.listeners.splice(this.listeners.indexOf(listener) >>> 0, 1);
  }

  /**
   * Decides and commits a command. Resolves once its events are durable. `replyOf` builds the reply that
   * is stored with the request id, so a retry is answered identically.
   */
  submit(
    cmd: Command,
    meta: CommandMeta,
    replyOf: (events: DomainEvent[], at: number) => unknown = () => ({}),
  ): Promise<Outcome> {
    if (this.haltedBy) return Promise.reject(this.haltedBy);
    return new Promise((resolve, reject) => {
      this.pending.push({ cmd, meta, replyOf, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (this.haltedBy) {
      for (const p of batch) p.reject(this.haltedBy);
      return;
    }
    const before = this.stateNow;
    let state = before;
    const commits: Commit[] = [];
    const outcomes: (Outcome | { commit: number })[] = [];
    const inBatch = new Map<string, number>();
    for (const p of batch) {
      const key =
        p.meta.requestId !== undefined && p.meta.source ? `${p.meta.source}\u0000${p.meta.requestId}` : null;
      const fingerprint = p.meta.fingerprint ?? '';
      const earlier = key ? inBatch.get(key) : undefined;
      const earlierRequest = earlier !== undefined ? commits[earlier]?.request : undefined;
      const previous =
        earlierRequest ??
        (key ? this.store.findReply(p.meta.source as string, p.meta.requestId as string) : undefined);
      if (previous !== undefined) {
        // The same id asks the same thing: a retry, answered as the first time. Anything else under a used
        // id is refused: taking it as new would let a late retry of the first request apply twice.
        outcomes.push(
          previous.fingerprint === fingerprint
            ? { ok: true, duplicate: true, reply: previous.reply }
            : {
                ok: false,
                rejection: { code: 'request_id_reused', params: { id: p.meta.requestId as string } },
              },
        );
        continue;
      }
      const unmet = p.meta.precondition?.() ?? null;
      if (unmet) {
        outcomes.push({ ok: false, rejection: unmet });
        continue;
      }
      const now = this.clock();
      const d = decide(this.cfg, state, p.cmd, now, this.carry);
      if (!d.ok) {
        outcomes.push({ ok: false, rejection: d.rejection });
        continue;
      }
      state = d.state;
      const commit: Commit = {
        events: d.events,
        at: now,
        day: state.day ?? officeTime(now, this.cfg.office.timezone).day,
        source: p.meta.source,
      };
      if (key) {
        commit.request = {
          device: p.meta.source as string,
          id: p.meta.requestId as string,
          fingerprint,
          reply: p.replyOf(d.events, now),
        };
        inBatch.set(key, commits.length);
      }
      outcomes.push({ commit: commits.length });
      commits.push(commit);
    }
    let stored: StoredEvent[];
    try {
      const dayStarted = commits.some((c) => c.events.some((e) => e.type === 'day.started'));
      stored = this.store.append(commits, dayStarted ? serializeState(state) : undefined);
    } catch (e) {
      this.commitFailed(batch, before, e);
      return;
    }
    if (commits.length > 0 && this.storageFault) this.storageChanged(null);
    this.stateNow = state;
    // Stored events come back in commit order: slice each command's share.
    const starts: number[] = [];
    commits.reduce((at, c) => (starts.push(at), at + c.events.length), 0);
    batch.forEach((p, i) => {
      const o = outcomes[i] as Outcome | { commit: number };
      if (!('commit' in o)) return p.resolve(o);
      const start = starts[o.commit] as number;
      const n = (commits[o.commit] as Commit).events.length;
      p.resolve({ ok: true, events: stored.slice(start, start + n), duplicate: false });
    });
    if (stored.length > 0) for (const l of this.listeners) l(stored, state);
  }

  /**
   * A batch's commit threw. The state stays as it was before the batch and every caller learns it failed.
   * A full disk (and any error SQLite rolled back) wrote nothing: the box keeps going and the next commit
   * tries again. Any other I/O error (a failed fsync above all) may have left the batch's commit record in
   * the WAL, to reappear at the next open: the box can no longer know what its log holds, so it takes
   * nothing more (crash-only); the daemon restarts and rebuilds from the log, where a retry with the same
   * request id gets the true answer.
   */
  private commitFailed(batch: Pending[], before: QueueState, e: unknown): void {
    this.stateNow = before;
    const fault = storageFaultOf(e);
    if (fault?.kind === 'failed') this.haltedBy = fault;
    for (const p of batch) p.reject(fault ?? e);
    if (fault) this.storageChanged(fault);
  }

  private storageChanged(fault: StorageFault | null): void {
    this.storageFault = fault;
    for (const l of this.storageListeners) l(fault);
  }
}
