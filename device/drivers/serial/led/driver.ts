// LED boards on an RS-485 bus (kind led-rs485): each board shows its peripheral's `led` output, fitted to its
// size and glyphs. Several boards share one bus (hardware.serial.buses) by address; a board that stops
// answering is shown offline and resynced when it answers again.
import {
  LedCommand,
  LedNakReason,
  LedText,
  decodeBoardInfo,
  encodeShowPayload,
  fitLedText,
  isValid,
  topics,
  type DeviceStatus,
  type LedShow,
} from '../../../../protocol/index.js';
import type { PeripheralConfig } from '../../../config/schema.js';
import type { Driver, DriverHost } from '../../host.js';
import type { LedRs485DriverConfig, Rs485BusConfig } from '../config.js';
import { openLink, type StreamOpener } from '../link.js';
import { Rs485Bus, type Transaction } from './bus.js';

const NAK_NAMES: Record<number, string> = {
  [LedNakReason.unknownCommand]: 'unknown command',
  [LedNakReason.badPayload]: 'bad payload',
  [LedNakReason.busy]: 'busy',
  [LedNakReason.textTooLong]: 'text too long',
};

/** What the board should show, from the box's LED text: the lines that matter most when it has fewer. */
export function showFor(text: LedText, board: LedRs485DriverConfig, counterBoard: boolean): LedShow {
  // A counter board's first line is the counter's name, often painted on the case: with fewer lines than
  // the text, the number (last line) stays. An entrance board lists the newest calls first: keep the top.
  const lines = counterBoard && text.lines.length > board.lines ? text.lines.slice(-board.lines) : text.lines;
  return {
    lines: fitLedText(lines, { columns: board.columns, lines: board.lines, glyphs: board.glyphs ?? 'ascii' }),
    blink: text.blink,
    blank: text.blank,
    brightness: Math.min(text.brightness, board.brightness ?? 100),
  };
}

const sameShow = (a: LedShow, b: LedShow) =>
  a.blank === b.blank && a.brightness === b.brightness && a.lines.join('\n') === b.lines.join('\n');

class LedBoard implements Driver {
  private readonly log;
  private desired: LedShow | null = null;
  private shown: LedShow | null = null;
  private online: boolean | null = null;
  private sending = false;
  private unsubscribe: () => void = () => undefined;
  private closed = false;

  constructor(
    private readonly host: DriverHost,
    private readonly self: PeripheralConfig,
    private readonly cfg: LedRs485DriverConfig,
    private readonly bus: Rs485Bus,
    private readonly release: () => Promise<void>,
  ) {
    this.log = host.log.child({
      driver: 'led-rs485',
      peripheral: self.id,
      bus: cfg.bus,
      address: cfg.address,
    });
  }

  start(): this {
    this.unsubscribe = this.host.subscribe(topics.led(this.self.id), (_t, payload) => this.onText(payload));
    // While the bus is still connecting, the link's first `up` pings every board; pinging now would only
    // find the link down and report a healthy board offline at every start. A bus that never comes up is
    // found by the poll.
    if (this.bus.link.isUp) void this.ping();
    return this;
  }

  private onText(payload: Buffer): void {
    let text: unknown;
    try {
      text = JSON.parse(payload.toString('utf8'));
    } catch {
      text = null;
    }
    if (!isValid(LedText, text)) {
      this.log.error(
        { payload: payload.toString('utf8').slice(0, 200) },
        'LED text ignored: not a valid LedText',
      );
      return;
    }
    const next = showFor(text, this.cfg, this.self.counter !== undefined);
    // A blink is an event (a new call): keep it even if a newer identical text arrives before it is sent.
    if (this.desired && !this.desired.blink) this.desired = next;
    else if (this.desired && sameShow(this.desired, next)) this.desired = { ...next, blink: true };
    else this.desired = next;
    void this.flush();
  }

  private async flush(): Promise<void> {
    if (this.sending || this.closed) return;
    this.sending = true;
    try {
      while (this.desired && !this.closed) {
        const show = this.desired;
        if (this.shown && !show.blink && sameShow(this.shown, show)) {
          this.desired = null;
          break;
        }
        if (this.online === false) break; // dead: the next ping that answers resyncs it
        // Never heard from and the bus still connecting (a text that arrives at start): the link's first `up`
        // pings the board and sends the text; only a bus that never comes up is reported, by the poll.
        if (this.online === null && !this.bus.link.isUp) break;
        const t = await this.bus.transact(this.cfg.address, LedCommand.show, encodeShowPayload(show));
        if (this.desired === show) this.desired = null;
        if (t.ok) {
          this.shown = show;
          await this.setOnline(true);
        } else if (t.reason === 'nak' && t.nak === LedNakReason.busy) {
          // Busy through every retry: alive, and the text still wanted. The next poll that answers sends it
          // again (a called number must reach the board, not be dropped as if refused).
          this.desired ??= show;
          this.log.warn(
            { attempts: t.attempts, lines: show.lines },
            'board busy; the text is sent again at the next poll',
          );
          break;
        } else if (t.reason === 'nak') {
          // The board is alive but refuses this text: retrying the same frame would not help.
          this.log.error(
            { nak: NAK_NAMES[t.nak ?? 0] ?? t.nak, lines: show.lines },
            'board refused the text',
          );
          await this.report(true, `board refused the text (${NAK_NAMES[t.nak ?? 0] ?? t.nak})`);
        } else {
          this.desired ??= show; // resend once the board is back
          await this.setOnline(false, t);
        }
      }
    } finally {
      this.sending = false;
    }
  }

  /** Health check, also the way a dead board is found alive again. */
  async ping(): Promise<void> {
    if (this.closed) return;
    const t = await this.bus.transact(
      this.cfg.address,
      LedCommand.ping,
      new Uint8Array(0),
      this.online === false ? 0 : undefined,
    );
    if (this.closed) return;
    if (t.ok) {
      const info = decodeBoardInfo(t.payload);
      if (info && (info.columns !== this.cfg.columns || info.lines !== this.cfg.lines))
        this.log.warn(
          { board: info, config: { columns: this.cfg.columns, lines: this.cfg.lines } },
          'board size differs from the config',
        );
      const wasDead = this.online !== true;
      await this.setOnline(true);
      if (wasDead && this.shown) {
        this.desired ??= { ...this.shown, blink: false };
        this.shown = null; // it may have lost its text while powered off
      }
      void this.flush();
    } else if (t.reason !== 'nak') await this.setOnline(false, t);
  }

  private async setOnline(online: boolean, t?: Transaction): Promise<void> {
    if (this.online === online) return;
    this.online = online;
    if (online) this.log.info('board answering');
    else
      this.log.error(
        { reason: t && !t.ok ? t.reason : undefined, attempts: t?.attempts },
        `LED board at address ${this.cfg.address} on bus ${this.cfg.bus} is not answering; shown offline`,
      );
    try {
      await this.host.reportPresence(this.self.id, online);
    } catch (err) {
      this.log.warn({ err }, 'could not publish presence');
    }
    await this.report(
      online,
      online ? 'Bảng LED hoạt động / board answering' : 'Bảng LED không phản hồi / board not answering',
    );
  }

  private async report(ok: boolean, detail: string): Promise<void> {
    if (this.closed) return;
    try {
      // DeviceStatus allows extra fields: where the board hangs, for an admin.
      const status: DeviceStatus & { board: { bus: string; address: number } } = {
        ts: new Date(this.host.clock()).toISOString(),
        ok,
        detail,
        board: { bus: this.cfg.bus, address: this.cfg.address },
      };
      await this.host.reportStatus(this.self.id, status);
    } catch (err) {
      this.log.warn({ err }, 'could not publish status');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    await this.release();
  }
}

interface SharedBus {
  bus: Rs485Bus;
  boards: Set<LedBoard>;
  poll: NodeJS.Timeout;
}

/** Buses are shared by the boards of one box (one DriverHost), opened with the first board, closed with the last. */
const buses = new WeakMap<DriverHost, Map<string, SharedBus>>();

export async function startLedBoardDriver(
  host: DriverHost,
  peripheral: PeripheralConfig,
  opener?: StreamOpener,
): Promise<Driver> {
  const cfg = peripheral.driver as LedRs485DriverConfig;
  const busCfg: Rs485BusConfig | undefined = host.config.hardware?.serial?.buses?.find(
    (b) => b.id === cfg.bus,
  );
  if (!busCfg) throw new Error(`${peripheral.id}: no bus "${cfg.bus}" in hardware.serial.buses`);
  let byId = buses.get(host);
  if (!byId) buses.set(host, (byId = new Map()));
  let shared = byId.get(cfg.bus);
  if (!shared) {
    const log = host.log.child({ driver: 'rs485-bus', bus: cfg.bus });
    const link = openLink(busCfg.link, log, busCfg.reconnect, opener);
    const bus = new Rs485Bus(
      cfg.bus,
      link,
      { replyTimeoutMs: busCfg.replyTimeoutMs ?? 300, retries: busCfg.retries ?? 2 },
      log,
    );
    const boards = new Set<LedBoard>();
    const poll = setInterval(() => {
      for (const b of boards) void b.ping();
    }, busCfg.pollMs ?? 10_000);
    link.on('up', () => {
      for (const b of boards) void b.ping();
    });
    shared = { bus, boards, poll };
    byId.set(cfg.bus, shared);
  }
  const s = shared;
  const map = byId;
  const board: LedBoard = new LedBoard(host, peripheral, cfg, s.bus, async () => {
    s.boards.delete(board);
    if (s.boards.size > 0) return;
    clearInterval(s.poll);
    map.delete(cfg.bus);
    await s.bus.link.close();
  });
  s.boards.add(board);
  return board.start();
}
