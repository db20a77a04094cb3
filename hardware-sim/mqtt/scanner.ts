// A barcode scanner at a counter: sends the dossier code read from a receipt.
import { ROOT, topics, type Reply } from '../../protocol/index.js';
import { SimDevice, type SimDeviceOptions } from './device.js';

export class SimScanner extends SimDevice {
  readonly counter: number;

  constructor(opts: SimDeviceOptions & { counter: number }) {
    super(opts);
    this.counter = opts.counter;
  }

  protected subscriptions(): string[] {
    return [`${ROOT}/devices/${this.id}/#`];
  }

  scan(code: string): Promise<Reply> {
    return this.request(topics.scan(this.counter), { code });
  }
}
