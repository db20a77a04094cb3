// The box's ticket-key secret (issue 14): each ticket's QR code carries a key made from it (protocol/secrets.ts
// `ticketKey`), so a phone holding the ticket can prove it when it rates the visit. Kept in the data directory
// (owner-only), made once; the heartbeat tells the cloud, which checks the keys.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateTicketKeySecret, ticketKey } from '../protocol/secrets.js';

export const TICKET_KEY_FILE = 'ticket-key.secret';

export class TicketKeys {
  readonly secret: string;

  constructor(
    dataDir: string,
    private readonly officeId: () => string,
  ) {
    const file = join(dataDir, TICKET_KEY_FILE);
    if (existsSync(file)) this.secret = readFileSync(file, 'utf8').trim();
    else {
      this.secret = generateTicketKeySecret();
      writeFileSync(file, `${this.secret}\n`, { mode: 0o600, flag: 'wx' });
    }
  }

  keyOf(ticketId: string): string {
    return ticketKey(this.secret, this.officeId(), ticketId);
  }
}
