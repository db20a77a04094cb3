// A dossier lookup station (a TV with a scanner, or a touch kiosk) as a device: asks the box for a dossier's
// status by the code read from a receipt. The browser screen does the same (web/src/lookup/).
import { ROOT, topics, type DossierLookupResult, type Reply } from '../../protocol/index.js';
import { SimDevice } from './device.js';

export class SimLookupStation extends SimDevice {
  protected subscriptions(): string[] {
    return [`${ROOT}/devices/${this.id}/#`];
  }

  /** The reply: `data` is a DossierLookupResult when `status` is ok. */
  lookup(code: string): Promise<Reply & { data?: DossierLookupResult }> {
    return this.request(topics.dossierLookup(), { code }) as Promise<Reply & { data?: DossierLookupResult }>;
  }
}
