// What each fleet command does on this box (issue 11), through the same parts a clerk, a kiosk or the local
// admin page go through: the queue engine (counters), the print spool (reprints), the announcers (test calls),
// the office publisher (notices), the pairing codes (screens). commands.ts keeps the books; this file acts.
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import type { Logger } from 'pino';
import {
  DIAGNOSTICS_LOG_LINES_DEFAULT,
  type BoxCommand,
  type CommandParamsOf,
  type CommandResultOf,
} from '../../protocol/fleet-commands.js';
import {
  errorBody,
  OfficeNotice,
  topics,
  type Announcement,
  type DeviceStatus,
  type EventDataOf,
  type OfficeNotice as Notice,
} from '../../protocol/index.js';
import type { PeripheralDirectory } from '../broker/directory.js';
import type { BoxConfig } from '../config/schema.js';
import type { PrintSpool } from '../effects/print-spool.js';
import { printJobOf } from '../effects/views.js';
import type { Command, Rejection } from '../engine/index.js';
import type { Ledger } from '../ledger.js';
import type { LogRing } from '../log-ring.js';
import type { EventStore } from '../store/event-store.js';
import { formatCode, type PairingCodes } from '../web/pairing.js';
import { CommandRefused, type CommandRunners } from './commands.js';
import { writeDurably } from './files.js';

export const NOTICE_FILE = 'fleet-notice.json';

/** The roles a screen pairs as (device/web/routes.ts SCREEN_OF). */
const SCREEN_ROLES = ['display', 'kiosk', 'rating', 'clerk-panel', 'lookup'];

export interface BoxParts {
  dataDir: string;
  config: () => BoxConfig;
  ledger: Ledger;
  store: Pick<EventStore, 'recentEvents'>;
  directory: PeripheralDirectory;
  spool: PrintSpool;
  publish: (topic: string, payload: unknown, opts?: { retain?: boolean; qos?: 0 | 1 }) => Promise<void>;
  statusOf: (id: string) => DeviceStatus | undefined;
  presenceOf: (id: string) => { online: boolean } | undefined;
  /** Republishes the office's retained state (a notice put up or taken down). */
  refresh: () => Promise<void>;
  notices: NoticeBoard;
  pairing: PairingCodes;
  /** Where a screen on the office's network opens the box (its LAN address and HTTP port). */
  origin: () => string;
  health: () => unknown;
  versions: () => CommandResultOf<'diagnostics'>['versions'];
  logs: LogRing | null;
  startedAt: number;
  clock: () => number;
  log: Logger;
}

/** The notice on the lobby's screens: kept on disk until its end time (it survives a restart), then gone. */
export class NoticeBoard {
  private notice: Notice | null;
  private timer: NodeJS.Timeout | null = null;
  private readonly file: string;

  constructor(
    dataDir: string,
    private readonly clock: () => number,
    private readonly log: Logger,
  ) {
    this.file = join(dataDir, NOTICE_FILE);
    this.notice = this.read();
  }

  /** The notice while it lasts, else null. */
  current(): Notice | null {
    const n = this.notice;
    return n && Date.parse(n.until) > this.clock() ? n : null;
  }

  set(n: Notice): void {
    writeDurably(this.file, JSON.stringify(n) + '\n');
    this.notice = n;
  }

  /** Calls `ended` when the notice's time is up (set again after each change). */
  watch(ended: () => void): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const n = this.current();
    if (!n) return;
    // setTimeout takes at most ~24.8 days; a notice ends within NOTICE_MAX_SECONDS (14 days).
    const ms = Math.max(0, Date.parse(n.until) - this.clock()) + 50;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.log.info({ until: n.until }, 'fleet: the notice ended');
      ended();
    }, ms);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private read(): Notice | null {
    if (!existsSync(this.file)) return null;
    try {
      const n = JSON.parse(readFileSync(this.file, 'utf8')) as unknown;
      if (Value.Check(OfficeNotice, n)) return n;
    } catch {
      // below
    }
    this.log.warn({ file: this.file }, 'fleet: the notice file is damaged; no notice shown');
    return null;
  }
}

const refusal = (r: Rejection) => {
  const b = errorBody(r.code, r.params);
  return new CommandRefused(`${r.code}: ${b.message.vi} / ${b.message.en}`);
};

export function boxCommandRunners(b: BoxParts): CommandRunners {
  const byRole = (role: string) => b.directory.all().filter((p) => p.role === role);

  async function submit(cmd: Command): Promise<void> {
    const out = await b.ledger.submit(cmd, { source: null });
    if (!out.ok) throw refusal(out.rejection);
  }

  return {
    async reprint(params: CommandParamsOf<'reprint'>): Promise<CommandResultOf<'reprint'>> {
      const state = b.ledger.state;
      const id = state.byNumber.get(params.number);
      const ticket = id ? state.tickets.get(id) : undefined;
      if (!ticket) throw refusal({ code: 'unknown_ticket', params: { number: params.number } });
      let issued: { data: EventDataOf<'ticket.issued'>; at: number; source: string | null } | null = null;
      for (const e of b.store.recentEvents('ticket.issued', ticket.issuedAt))
        if (e.event.type === 'ticket.issued' && e.event.data.ticketId === ticket.id) {
          issued = { data: e.event.data, at: e.at, source: e.source };
          break;
        }
      if (!issued) throw new CommandRefused(`ticket ${params.number}: its issue is not in the box's log`);
      const kiosks = byRole('kiosk');
      const kiosk = params.kiosk ?? kiosks.find((k) => k.id === issued.source)?.id ?? kiosks[0]?.id ?? null;
      if (!kiosk || !kiosks.some((k) => k.id === kiosk))
        throw new CommandRefused(
          params.kiosk ? `no kiosk "${params.kiosk}" in this office` : 'this office has no kiosk to print on',
        );
      const job = printJobOf(b.config(), issued.at, issued.data);
      await b.spool.reprint(kiosk, { ...job, jobId: `${job.jobId}#reprint-${b.clock()}` });
      return { ticketId: ticket.id, number: ticket.number, kiosk };
    },

    async 'test-call'(
      params: CommandParamsOf<'test-call'>,
      command: BoxCommand,
    ): Promise<CommandResultOf<'test-call'>> {
      const counter = b.config().counters.find((c) => c.number === params.counter);
      if (!counter) throw refusal({ code: 'unknown_counter', params: { counter: params.counter } });
      const announcers = byRole('announcer').map((p) => p.id);
      if (announcers.length === 0)
        throw new CommandRefused('this office has no announcer (voice) to call on');
      const call: Announcement = {
        callId: `test-${command.id}`,
        ticketId: '',
        number: '000',
        counter: params.counter,
        recall: false,
        repeat: 1,
        text: {
          vi: `Thử loa: quầy số ${params.counter}`,
          en: `Speaker test: counter ${params.counter}`,
        },
      };
      await Promise.all(announcers.map((id) => b.publish(topics.announce(id), call, { qos: 1 })));
      return { counter: params.counter, announcers };
    },

    async notice(params: CommandParamsOf<'notice'>): Promise<CommandResultOf<'notice'>> {
      if (Date.parse(params.until) <= b.clock())
        throw new CommandRefused(`the notice ended at ${params.until}`);
      b.notices.set({ text: params.text, until: params.until });
      b.notices.watch(() => void b.refresh());
      await b.refresh();
      return { until: params.until, boards: byRole('ledboard').map((p) => p.id) };
    },

    async counter(params: CommandParamsOf<'counter'>): Promise<CommandResultOf<'counter'>> {
      const n = params.counter;
      if (!b.config().counters.some((c) => c.number === n))
        throw refusal({ code: 'unknown_counter', params: { counter: n } });
      const before = b.ledger.state.counters[n]?.status ?? 'closed';
      if (params.action === 'open' && before === 'paused') await submit({ type: 'resume', counter: n });
      else if (params.action === 'open' && before === 'closed') await submit({ type: 'open', counter: n });
      // As the clerk closes it: signing out (refused while a citizen is being served).
      else if (params.action === 'close' && before !== 'closed')
        await submit({ type: 'sign_out', counter: n });
      const after = b.ledger.state.counters[n]?.status ?? 'closed';
      return { counter: n, status: after, changed: after !== before };
    },

    async 'pair-screen'(params: CommandParamsOf<'pair-screen'>): Promise<CommandResultOf<'pair-screen'>> {
      const p = b.directory.get(params.device);
      if (!p) throw new CommandRefused(`no peripheral "${params.device}" in this office`);
      if (!SCREEN_ROLES.includes(p.role))
        throw new CommandRefused(
          `"${p.id}" is a ${p.role}: only screens (TV, kiosk, rating, clerk panel) pair by code`,
        );
      const code = b.pairing.create(p.id);
      const shown = formatCode(code.code);
      return {
        device: p.id,
        code: shown,
        expiresAt: new Date(code.expiresAt).toISOString(),
        pairUrl: `${b.origin()}/pair?code=${shown}`,
      };
    },

    async diagnostics(params: CommandParamsOf<'diagnostics'>): Promise<CommandResultOf<'diagnostics'>> {
      const disk = diskOf(b.dataDir);
      return {
        at: new Date(b.clock()).toISOString(),
        health: b.health(),
        versions: b.versions(),
        disk: { dataDir: b.dataDir, ...disk },
        uptimeSeconds: Math.max(0, Math.round((b.clock() - b.startedAt) / 1000)),
        peripherals: b.directory.all().map((p) => ({
          id: p.id,
          role: p.role,
          counter: p.counter ?? null,
          online: b.presenceOf(p.id)?.online ?? null,
          status: b.statusOf(p.id) ?? null,
        })),
        logs: b.logs?.last(params.logLines ?? DIAGNOSTICS_LOG_LINES_DEFAULT) ?? [],
      };
    },
  } as CommandRunners;
}

function diskOf(dir: string): { freeBytes: number | null; totalBytes: number | null } {
  try {
    const s = statfsSync(dir);
    return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  } catch {
    return { freeBytes: null, totalBytes: null };
  }
}
