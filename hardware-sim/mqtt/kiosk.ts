// A ticket kiosk: asks for tickets, prints each print job once (by jobId), and knows which services are
// taking tickets from the retained service state.
import {
  ROOT,
  topics,
  type OfficeStateMsg,
  type PrintJob,
  type PriorityReason,
  type Reply,
  type ServiceStateMsg,
} from '../../protocol/index.js';
import { SimDevice, type Received } from './device.js';

/**
 * Emits `print` (PrintJob) once per job, and acknowledges each job on `tickets/printed` (again for a job sent
 * again: the box did not get the first acknowledgement) unless `acknowledgePrints` is off.
 */
export class SimKiosk extends SimDevice {
  /** Off: a kiosk that prints but never acknowledges (firmware older than the acknowledgement). */
  acknowledgePrints = true;
  /** Every print job received, duplicates included (`printed` has each job once). */
  readonly deliveries: PrintJob[] = [];
  office: OfficeStateMsg | null = null;
  readonly services = new Map<string, ServiceStateMsg>();
  /**
   * Print jobs, each once: the box sends a job until it is acknowledged (and QoS 1 may deliver twice), and a
   * ticket must not be printed twice.
   */
  readonly printed: PrintJob[] = [];
  private readonly jobIds = new Set<string>();

  protected subscriptions(): string[] {
    return [`${ROOT}/devices/${this.id}/#`, topics.officeState(), `${ROOT}/state/services/+`];
  }

  protected override onMessage(m: Received): void {
    if (m.topic === topics.officeState()) this.office = m.body as OfficeStateMsg;
    else if (m.topic.startsWith(`${ROOT}/state/services/`)) {
      const s = m.body as ServiceStateMsg;
      this.services.set(s.service, s);
    } else if (m.topic === topics.print(this.id)) {
      const job = m.body as PrintJob;
      this.deliveries.push(job);
      if (this.deliveries.length > 5000) this.deliveries.splice(0, 1000);
      if (!this.jobIds.has(job.jobId)) {
        this.jobIds.add(job.jobId);
        this.printed.push(job);
        this.emit('print', job);
      }
      if (this.acknowledgePrints && this.connected)
        this.request(topics.ticketPrinted(), { jobId: job.jobId }).catch(() => undefined);
    }
  }

  /** A citizen presses a service button. */
  requestTicket(
    service: string,
    opts: { priority?: PriorityReason | null; delivery?: 'print' | 'screen' } = {},
  ): Promise<Reply> {
    const fields: Record<string, unknown> = { service };
    if (opts.priority) fields.priority = opts.priority;
    if (opts.delivery) fields.delivery = opts.delivery;
    return this.request(topics.ticketRequest(), fields);
  }

  /** Reports the kiosk's own printer (retained status), e.g. `paper_out`. */
  async reportPrinter(state: 'ready' | 'paper_near_end' | 'paper_out' | 'cover_open' | 'offline' | 'error') {
    const canPrint = state === 'ready' || state === 'paper_near_end';
    await this.publishRaw(
      topics.status(this.id),
      JSON.stringify({ ts: new Date().toISOString(), ok: canPrint, printer: { state, canPrint } }),
      { retain: true },
    );
  }
}
