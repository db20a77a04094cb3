// A satisfaction rating box at a counter: shows what the retained rating session says and submits the
// citizen's score for the ticket it was offered.
import { ROOT, topics, type RatingSession, type Reply } from '../../protocol/index.js';
import { SimDevice, type Received, type SimDeviceOptions } from './device.js';

/** Emits `rating-session` (RatingSession) on every update. */
export class SimRatingBox extends SimDevice {
  readonly counter: number;
  ratingSession: RatingSession | null = null;

  constructor(opts: SimDeviceOptions & { counter: number }) {
    super(opts);
    this.counter = opts.counter;
  }

  protected subscriptions(): string[] {
    return [`${ROOT}/devices/${this.id}/#`];
  }

  protected override onMessage(m: Received): void {
    if (m.topic !== topics.ratingSession(this.id)) return;
    this.ratingSession = m.body as RatingSession;
    this.emit('rating-session', this.ratingSession);
  }

  /** Resolves once the session offers `ticketId` (or any open session when omitted). */
  async waitForOpenSession(ticketId?: string, timeoutMs = 5000): Promise<RatingSession> {
    const fits = (s: RatingSession | null) =>
      s !== null && s.open && (ticketId === undefined || s.ticketId === ticketId);
    if (fits(this.ratingSession)) return this.ratingSession as RatingSession;
    const m = await this.waitFor(
      (r) => r.topic === topics.ratingSession(this.id) && fits(r.body as RatingSession),
      timeoutMs,
    );
    return m.body as RatingSession;
  }

  /** The citizen taps a score; the rating goes to the ticket the session offers (or `ticketId`). */
  rate(score: number, opts: { reasons?: string[]; ticketId?: string | null } = {}): Promise<Reply> {
    const fields: Record<string, unknown> = { score };
    const ticketId = opts.ticketId === undefined ? this.ratingSession?.ticketId : opts.ticketId;
    if (ticketId) fields.ticketId = ticketId;
    if (opts.reasons?.length) fields.reasons = opts.reasons;
    return this.request(topics.rating(this.counter), fields);
  }
}
