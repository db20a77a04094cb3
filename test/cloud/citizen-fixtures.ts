// What the citizen's-phone suites share: an office's config in the fleet, its box's events written by hand, and
// the uplink that brings them to the cloud.
import type { CloudService } from '../../cloud/service.js';
import type { EventEnvelope } from '../../protocol/index.js';
import { bearerRequest } from './helpers.js';

export const LAN = { id: 'cc01', name: 'Nguyễn Thị Lan' };
export const HUNG = { id: 'cc02', name: 'Trần Văn Hùng' };

/** The office's config in the fleet: service names, a four-level scale, a rating tablet at counter 2 only. */
export const CONFIG = {
  office: { id: 'o-hkb', name: 'Một cửa Hòa Khánh Bắc' },
  services: [
    { id: 'van-thu', name: 'Văn thư', prefix: 'A' },
    { id: 'ho-tich', name: 'Chứng thực, hộ tịch', prefix: 'B' },
  ],
  rating: {
    scale: [
      { score: 1, label: { vi: 'Không hài lòng', en: 'Dissatisfied' } },
      { score: 2, label: { vi: 'Bình thường', en: 'Neutral' } },
      { score: 3, label: { vi: 'Hài lòng', en: 'Satisfied' } },
      { score: 4, label: { vi: 'Rất hài lòng', en: 'Very satisfied' } },
    ],
  },
  peripherals: [{ id: 'rating-2', role: 'rating', counter: 2 }],
};

export class Events {
  private seq = 0;
  constructor(private readonly day: string) {}
  ev(at: number, type: string, data: Record<string, unknown>): EventEnvelope {
    return {
      seq: ++this.seq,
      type: type as EventEnvelope['type'],
      at: new Date(at).toISOString(),
      day: this.day,
      data,
    };
  }
  issued(at: number, number: string, service: string): EventEnvelope {
    return this.ev(at, 'ticket.issued', {
      ticketId: `${this.day}/${number}`,
      number,
      service,
      seq: Number(number.slice(1)),
      priority: null,
      ahead: 0,
      estimatedWaitMin: null,
      source: 'kiosk-1',
    });
  }
  called(at: number, number: string, service: string, counter: number, clerk: { id: string; name: string }) {
    return this.ev(at, 'ticket.called', {
      ticketId: `${this.day}/${number}`,
      number,
      service,
      counter,
      clerk,
      how: 'next',
      waitedMs: 60_000,
    });
  }
  finished(
    at: number,
    number: string,
    service: string,
    counter: number,
    clerk: { id: string; name: string },
  ) {
    return this.ev(at, 'ticket.finished', {
      ticketId: `${this.day}/${number}`,
      number,
      service,
      counter,
      clerk,
      serviceMs: 240_000,
      dossiers: [],
      implicit: false,
    });
  }
  rated(at: number, number: string, service: string, counter: number, clerk: { id: string; name: string }) {
    return this.ev(at, 'rating.submitted', {
      ticketId: `${this.day}/${number}`,
      number,
      service,
      counter,
      clerk,
      score: 4,
      scaleMax: 4,
      reasons: [],
    });
  }
}

export async function uplink(cloud: CloudService, token: string, events: EventEnvelope[]): Promise<void> {
  const r = await bearerRequest(cloud, token, 'POST', '/api/v1/uplink/events', { events });
  if (r.status !== 200) throw new Error(`uplink refused: ${JSON.stringify(r.body)}`);
}

export async function configureOffice(cloud: CloudService, config: unknown = CONFIG): Promise<void> {
  await cloud.store.db
    .insertInto('fleet_offices')
    .values({
      office_id: 'o-hkb',
      overrides: '{}',
      revision: 1,
      effective: JSON.stringify(config),
      hash: 'test',
      updated_at: Date.now(),
      updated_by: 'test',
    })
    .execute();
}

/** A heartbeat with nothing left to send, telling the cloud the box's ticket-key secret. */
export async function heartbeat(cloud: CloudService, token: string, ticketKeySecret: string): Promise<void> {
  const r = await bearerRequest(cloud, token, 'POST', '/api/v1/uplink/heartbeat', {
    at: new Date().toISOString(),
    version: '0.1.0',
    node: process.version,
    officeId: 'o-hkb',
    day: null,
    lastSeq: 0,
    backlog: { events: 0, oldestAt: null, freeDiskBytes: null, alarm: false },
    peripherals: [],
    ticketKeySecret,
  });
  if (r.status !== 200) throw new Error(`heartbeat refused: ${JSON.stringify(r.body)}`);
}
