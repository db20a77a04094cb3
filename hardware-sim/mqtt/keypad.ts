// A counter keypad (or the request side of a clerk panel): every counter command of protocol v1 4.3.
import {
  ROOT,
  topics,
  type CounterAction,
  type CounterStateMsg,
  type Reply,
  type ServiceStateMsg,
} from '../../protocol/index.js';
import { SimDevice, type SimDeviceOptions, type Received } from './device.js';

export class SimKeypad extends SimDevice {
  readonly counter: number;
  /** The counter's retained state, as the keypad's screen would show it. */
  state: CounterStateMsg | null = null;
  readonly services = new Map<string, ServiceStateMsg>();

  constructor(opts: SimDeviceOptions & { counter: number }) {
    super(opts);
    this.counter = opts.counter;
  }

  protected subscriptions(): string[] {
    return [`${ROOT}/devices/${this.id}/#`, topics.counterState(this.counter), `${ROOT}/state/services/+`];
  }

  protected override onMessage(m: Received): void {
    if (m.topic === topics.counterState(this.counter)) this.state = m.body as CounterStateMsg;
    else if (m.topic.startsWith(`${ROOT}/state/services/`)) {
      const s = m.body as ServiceStateMsg;
      this.services.set(s.service, s);
    }
  }

  command(action: CounterAction, fields: Record<string, unknown> = {}): Promise<Reply> {
    return this.request(topics.counterCommand(this.counter, action), fields);
  }

  next = () => this.command('next');
  recall = () => this.command('recall');
  noShow = () => this.command('no_show');
  call = (number: string) => this.command('call', { number });
  serve = () => this.command('serve');
  transfer = (to: { toService?: string; toCounter?: number }) => this.command('transfer', to);
  finish = (dossiers?: string[]) => this.command('finish', dossiers?.length ? { dossiers } : {});
  pause = (reason?: string) => this.command('pause', reason ? { reason } : {});
  resume = () => this.command('resume');
  signIn = (clerk: string) => this.command('sign_in', { clerk });
  signOut = () => this.command('sign_out');
}
