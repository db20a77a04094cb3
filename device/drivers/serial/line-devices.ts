// Serial keypads and barcode scanners: devices that send text lines. A keypad line is a counter command, a
// scanned line a dossier code; both become the same requests an MQTT keypad or scanner publishes.
import {
  asciiFold,
  topics,
  type CounterAction,
  type DeviceStatus,
  type Reply,
} from '../../../protocol/index.js';
import type { PeripheralConfig } from '../../config/schema.js';
import type { Driver, DriverHost } from '../host.js';
import type {
  SerialKeypadDriverConfig,
  SerialLookupScannerDriverConfig,
  SerialScannerDriverConfig,
} from './config.js';
import { LineReader, type LineEvent } from './lines.js';
import { openLink, type ReconnectingLink, type StreamOpener } from './link.js';

/** What a device sent: the counter command (or dossier scan) it means, or why it means nothing. */
export type KeypadCommand =
  { ok: true; action: CounterAction; body: Record<string, unknown> } | { ok: false; error: string };

const ALIASES: Record<string, CounterAction> = {
  NEXT: 'next',
  RECALL: 'recall',
  NOSHOW: 'no_show',
  NO_SHOW: 'no_show',
  ABSENT: 'no_show',
  SERVE: 'serve',
  FINISH: 'finish',
  CALL: 'call',
  TRANSFER: 'transfer',
  PAUSE: 'pause',
  RESUME: 'resume',
  SIGNIN: 'sign_in',
  SIGN_IN: 'sign_in',
  SIGNOUT: 'sign_out',
  SIGN_OUT: 'sign_out',
};

/** Parses one keypad line (see README: the serial keypad line protocol). Pure. */
export function parseKeypadLine(line: string): KeypadCommand {
  const [word = '', ...args] = line.trim().split(/\s+/);
  const action = ALIASES[word.toUpperCase()];
  if (!action) return { ok: false, error: `unknown command "${word}"` };
  const none = () =>
    args.length === 0
      ? ({ ok: true, action, body: {} } as const)
      : { ok: false as const, error: `${word} takes no argument` };
  switch (action) {
    case 'next':
    case 'recall':
    case 'no_show':
    case 'serve':
    case 'resume':
    case 'sign_out':
      return none();
    case 'call':
      return args.length === 1
        ? { ok: true, action, body: { number: (args[0] as string).toUpperCase() } }
        : { ok: false, error: 'CALL needs one ticket number, e.g. CALL A012' };
    case 'sign_in':
      return args.length === 1
        ? { ok: true, action, body: { clerk: args[0] } }
        : { ok: false, error: 'SIGNIN needs one clerk id, e.g. SIGNIN cc01' };
    case 'pause':
      return { ok: true, action, body: args.length ? { reason: args.join(' ') } : {} };
    case 'finish':
      return { ok: true, action, body: args.length ? { dossiers: args } : {} };
    case 'transfer': {
      const body: Record<string, unknown> = {};
      for (const a of args) {
        if (/^#?[0-9]{1,4}$/.test(a)) body.toCounter = Number(a.replace('#', ''));
        else body.toService = a.toLowerCase();
      }
      return args.length >= 1 && args.length <= 2
        ? { ok: true, action, body }
        : {
            ok: false,
            error: 'TRANSFER needs a service and/or a counter, e.g. TRANSFER ho-tich or TRANSFER 3',
          };
    }
  }
}

interface Counts {
  lines: number;
  accepted: number;
  refused: number;
  noise: number;
}

abstract class LineDevice implements Driver {
  protected readonly log;
  protected readonly counts: Counts = { lines: 0, accepted: 0, refused: 0, noise: 0 };
  private readonly reader: LineReader;
  private seq = 0;
  private readonly tag: string;
  private online: boolean | null = null;
  private closed = false;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    protected readonly host: DriverHost,
    protected readonly self: PeripheralConfig,
    maxLineBytes: number,
    protected readonly link: ReconnectingLink,
    kind: string,
  ) {
    this.log = host.log.child({ driver: kind, peripheral: self.id, link: link.label });
    this.reader = new LineReader(maxLineBytes);
    this.tag = host.clock().toString(36);
  }

  start(): this {
    this.link.on('data', (chunk) => {
      for (const ev of this.reader.push(chunk)) this.onEvent(ev);
    });
    this.link.on('up', () => void this.setOnline(true));
    this.link.on('down', () => void this.setOnline(false));
    void this.setOnline(this.link.isUp);
    return this;
  }

  private onEvent(ev: LineEvent): void {
    if (ev.kind === 'noise') {
      this.counts.noise++;
      this.log.warn(
        { reason: ev.reason, bytes: ev.bytes, sample: ev.sample, noise: this.counts.noise },
        ev.reason === 'too_long'
          ? 'line too long: dropped as noise'
          : 'unprintable bytes: line dropped as noise',
      );
      void this.report();
      return;
    }
    this.counts.lines++;
    // Lines are handled in the order they came: a keypad's SIGNIN before its NEXT.
    this.chain = this.chain
      .then(() => this.onLine(ev.text))
      .catch((err: unknown) => this.log.error({ err }, 'line failed'));
  }

  protected abstract onLine(line: string): Promise<void>;

  /** A request id unique per device and day: boot tag + counter. */
  protected nextId(): string {
    return `${this.self.id}-${this.tag}-${++this.seq}`;
  }

  protected async submit(topic: string, body: Record<string, unknown>): Promise<Reply> {
    const reply = await this.host.request(this.self, topic, { id: this.nextId(), ...body });
    if (reply.status === 'ok') this.counts.accepted++;
    else this.counts.refused++;
    void this.report();
    return reply;
  }

  private async setOnline(online: boolean): Promise<void> {
    if (this.closed || this.online === online) return;
    this.online = online;
    if (this.self.secretHash === undefined)
      await this.host
        .reportPresence(this.self.id, online)
        .catch((err: unknown) => this.log.warn({ err }, 'presence'));
    await this.report();
  }

  protected async report(): Promise<void> {
    if (this.closed) return;
    const status: DeviceStatus & { lines: Counts } = {
      ts: new Date(this.host.clock()).toISOString(),
      ok: this.link.isUp,
      detail: this.link.isUp ? 'Đã kết nối / connected' : 'Mất kết nối / link down',
      lines: { ...this.counts },
    };
    await this.host
      .reportStatus(this.self.id, status)
      .catch((err: unknown) => this.log.warn({ err }, 'status'));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.link.close();
  }
}

/**
 * A serial keypad: each line is a command for its counter. It gets one line back per command:
 * `OK <ACTION> [number]` or `ERR <code> <message>` (ASCII: keypad displays rarely have Vietnamese).
 */
export class SerialKeypad extends LineDevice {
  protected async onLine(line: string): Promise<void> {
    const cmd = parseKeypadLine(line);
    if (!cmd.ok) {
      this.counts.refused++;
      void this.report();
      this.log.warn({ line, error: cmd.error }, 'keypad line not understood');
      await this.answer(`ERR bad_command ${cmd.error}`);
      return;
    }
    const counter = this.self.counter as number;
    const reply = await this.submit(topics.counterCommand(counter, cmd.action), cmd.body);
    if (reply.status === 'ok') {
      const number = (reply.data?.ticket as { number?: string } | undefined)?.number;
      await this.answer(`OK ${cmd.action.toUpperCase()}${number ? ` ${number}` : ''}`);
    } else {
      this.log.info({ line, code: reply.error?.code }, 'keypad command refused');
      await this.answer(`ERR ${reply.error?.code ?? 'error'} ${asciiFold(reply.error?.message.vi ?? '')}`);
    }
  }

  private async answer(text: string): Promise<void> {
    await this.link.write(Buffer.from(`${text}\r\n`, 'ascii')).catch(() => undefined);
  }
}

/** A barcode scanner (serial, USB-CDC or a line stream): each line is a dossier code for its counter. */
export class SerialScanner extends LineDevice {
  protected async onLine(line: string): Promise<void> {
    const code = line.trim();
    if (!code) return;
    const reply = await this.submit(topics.scan(this.self.counter as number), { code });
    if (reply.status === 'ok') this.log.info({ code, events: reply.data?.events }, 'dossier scanned');
    else this.log.warn({ code, error: reply.error?.code, message: reply.error?.message.en }, 'scan refused');
  }
}

/**
 * A receipt scanner on a dossier lookup station: each line is a code looked up as the station (the box
 * publishes the answer on the station's reply topic, where its screen shows it).
 */
export class SerialLookupScanner extends LineDevice {
  protected async onLine(line: string): Promise<void> {
    const code = line.trim();
    if (!code) return;
    const reply = await this.submit(topics.dossierLookup(), { code });
    if (reply.status === 'ok') this.log.info({ code }, 'dossier looked up');
    else this.log.info({ code, error: reply.error?.code }, 'lookup refused');
  }
}

export async function startSerialKeypad(
  host: DriverHost,
  p: PeripheralConfig,
  opener?: StreamOpener,
): Promise<Driver> {
  const cfg = p.driver as SerialKeypadDriverConfig;
  if (p.counter === undefined) throw new Error(`${p.id}: a serial keypad must be bound to a counter`);
  const link = openLink(
    cfg.link,
    host.log.child({ driver: 'serial-keypad', peripheral: p.id }),
    cfg.reconnect,
    opener,
  );
  return new SerialKeypad(host, p, cfg.maxLineBytes ?? 128, link, 'serial-keypad').start();
}

export async function startSerialScanner(
  host: DriverHost,
  p: PeripheralConfig,
  opener?: StreamOpener,
): Promise<Driver> {
  const cfg = p.driver as SerialScannerDriverConfig;
  if (p.counter === undefined) throw new Error(`${p.id}: a scanner must be bound to a counter`);
  const link = openLink(
    cfg.link,
    host.log.child({ driver: 'serial-scanner', peripheral: p.id }),
    cfg.reconnect,
    opener,
  );
  // A dossier code is at most 64 characters: anything longer is noise, not a code.
  return new SerialScanner(host, p, cfg.maxLineBytes ?? 64, link, 'serial-scanner').start();
}

export async function startSerialLookupScanner(
  host: DriverHost,
  p: PeripheralConfig,
  opener?: StreamOpener,
): Promise<Driver> {
  const cfg = p.driver as SerialLookupScannerDriverConfig;
  const link = openLink(
    cfg.link,
    host.log.child({ driver: 'serial-lookup-scanner', peripheral: p.id }),
    cfg.reconnect,
    opener,
  );
  return new SerialLookupScanner(host, p, cfg.maxLineBytes ?? 64, link, 'serial-lookup-scanner').start();
}
