// A display listener (the lobby TV's view of the office): the retained state, presence and status of
// every device, and the lobby event stream.
import {
  ROOT,
  type CounterStateMsg,
  type EventEnvelope,
  type OfficeStateMsg,
  type Presence,
  type ServiceStateMsg,
} from '../../protocol/index.js';
import { SimDevice, type Received } from './device.js';

/** Emits `event` (EventEnvelope) and `presence` (device id, Presence). */
export class SimDisplay extends SimDevice {
  office: OfficeStateMsg | null = null;
  readonly counters = new Map<number, CounterStateMsg>();
  readonly services = new Map<string, ServiceStateMsg>();
  readonly presence = new Map<string, Presence>();
  readonly status = new Map<string, unknown>();
  /** Events seen, by type (a display never sees rating.* and dossier.*). */
  readonly eventCounts = new Map<string, number>();
  /** The latest events (the newest 5,000). */
  readonly events: EventEnvelope[] = [];

  protected subscriptions(): string[] {
    return [
      `${ROOT}/devices/${this.id}/#`,
      `${ROOT}/state/#`,
      `${ROOT}/events/ticket/#`,
      `${ROOT}/events/counter/#`,
      `${ROOT}/events/day/#`,
      `${ROOT}/presence/#`,
      `${ROOT}/status/#`,
    ];
  }

  protected override onMessage(m: Received): void {
    const rest = m.topic.slice(ROOT.length + 1).split('/');
    switch (rest[0]) {
      case 'state':
        if (rest[1] === 'office') this.office = m.body as OfficeStateMsg;
        else if (rest[1] === 'counters') {
          const c = m.body as CounterStateMsg;
          this.counters.set(c.counter, c);
        } else if (rest[1] === 'services') {
          const s = m.body as ServiceStateMsg;
          this.services.set(s.service, s);
        }
        return;
      case 'presence':
        this.presence.set(rest[1] ?? '', m.body as Presence);
        this.emit('presence', rest[1] ?? '', m.body as Presence);
        return;
      case 'status':
        this.status.set(rest[1] ?? '', m.body);
        return;
      case 'events': {
        const e = m.body as EventEnvelope;
        this.eventCounts.set(e.type, (this.eventCounts.get(e.type) ?? 0) + 1);
        this.events.push(e);
        if (this.events.length > 5000) this.events.splice(0, 1000);
        this.emit('event', e);
        return;
      }
    }
  }

  /** Tickets issued today, summed over the retained service states. */
  issuedToday(): number {
    let n = 0;
    for (const s of this.services.values()) n += s.issuedToday;
    return n;
  }
}
