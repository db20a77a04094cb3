// The box's ticket-key secret (issue 14): each ticket's QR code carries a key made from it (protocol/secrets.ts
// `ticketKey`), so a phone holding the ticket can prove it when it rates the visit. Kept in the data directory
// (owner-only), made once; the heartbeat tells the cloud, which checks the keys.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { generateTicketKeySecret, ticketKey } from '../protocol/secrets.js';

export const TICKET_KEY_FILE = 'ticket-key.secret';

export class TicketKeys {
  readonly secret: string;

  constructor(
    dataDir: string,
    private readonly officeId: () => string,
    log: Logger,
  ) {
    const file = join(dataDir, TICKET_KEY_FILE);
    if (existsSync(file)) {
      this.secret = readFileSync(file, 'utf8').trim();
      return;
    }
    this.secret = generateTicketKeySecret();
    try {
      writeFileSync(file, `${this.secret}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // A full disk must not keep the box from starting (it serves from its log): the secret then lives for
      // this run only, and the tickets it keys cannot be rated from a phone after a restart.
      log.warn({ err: (err as Error).message, file }, 'ticket-key secret not saved: kept for this run only');
    }
  }

  keyOf(ticketId: string): string {
    return ticketKey(this.secret, this.officeId(), ticketId);
  }
}
