// The box's side of fleet commands (issue 11): the commands of each poll answer are written durably
// (fleet-commands.json) before their seq is acknowledged in the next poll, run one at a time in seq order, each
// at most once — marked `running` durably before it starts, so a command found running at the next start is
// reported failed ("interrupted by a restart") and never run again, except `restart`, which succeeds when the
// box is back —, and their outcomes sent to the cloud until it answers (200, or a refusal that will never
// change). What each kind does is the daemon's (box-commands.ts); this file only keeps the books.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import got, { type Got } from 'got';
import type { Logger } from 'pino';
import {
  BoxCommand,
  COMMAND_REASON_MAX_CHARS,
  CommandOutcome,
  CommandParams,
  INTERRUPTED_REASON,
  type CommandKind,
} from '../../protocol/fleet-commands.js';
import { boxToken } from '../../protocol/index.js';
import { backoffDelay } from '../uplink/uplink.js';
import { writeDurably } from './files.js';

export const FLEET_COMMANDS_FILE = 'fleet-commands.json';

const Held = Type.Object({
  command: BoxCommand,
  state: Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('done')]),
  /** done: what the cloud is told (absent: dropped unrun, e.g. expired before its turn). */
  outcome: Type.Optional(CommandOutcome),
});
type Held = Static<typeof Held>;

const CommandsFile = Type.Object({
  /** The highest seq received: acknowledged in every poll. */
  received: Type.Integer({ minimum: 0 }),
  held: Type.Array(Held),
});
type CommandsFile = Static<typeof CommandsFile>;

/** A command that cannot be done as asked: failed with this reason (for people). */
export class CommandRefused extends Error {}

/** What each kind does; resolves with its result. `restart` is special: it does not return. */
export type CommandRunners = {
  [K in Exclude<CommandKind, 'restart'>]: (params: never, command: BoxCommand) => Promise<unknown>;
};

export interface BoxCommandsOptions {
  dataDir: string;
  cloudUrl: () => string;
  boxId: string;
  secret: string;
  runners: CommandRunners;
  /** Restart the daemon (the supervisor starts it again); null: this box has no way to restart itself. */
  restart: (() => void) | null;
  /** What `restart` reports once the box is back. */
  restarted: () => unknown;
  log: Logger;
  retry: { baseMs: number; capMs: number };
  clock?: () => number;
}

const now = () => new Date().toISOString();
const cut = (s: string) =>
  s.length > COMMAND_REASON_MAX_CHARS ? `${s.slice(0, COMMAND_REASON_MAX_CHARS - 1)}…` : s;

export class BoxCommands {
  private file: CommandsFile;
  private readonly path: string;
  private readonly http: Got;
  private running = false;
  private runLoop: Promise<void> = Promise.resolve();
  private sendLoop: Promise<void> = Promise.resolve();
  private wakeSender: (() => void) | null = null;
  private readonly abort = new AbortController();
  private readonly clock: () => number;
  private kick: (() => void) | null = null;

  constructor(private readonly o: BoxCommandsOptions) {
    this.clock = o.clock ?? Date.now;
    this.path = join(o.dataDir, FLEET_COMMANDS_FILE);
    this.file = this.read();
    this.http = got.extend({
      headers: { authorization: `Bearer ${boxToken(o.boxId, o.secret)}` },
      retry: { limit: 0 },
      throwHttpErrors: false,
    });
    this.recover();
  }

  /** The highest command seq this box holds durably (the poll's `commands`). */
  get received(): number {
    return this.file.received;
  }

  /** Outcomes not yet taken by the cloud. */
  get unsent(): number {
    return this.file.held.filter((h) => h.state === 'done' && h.outcome).length;
  }

  /** Each held command's id and state, for tests and diagnostics. */
  states(): { id: string; kind: string; state: string }[] {
    return this.file.held.map((h) => ({ id: h.command.id, kind: h.command.kind, state: h.state }));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.runLoop = this.runAll();
    this.sendLoop = this.sendAll();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    this.kick?.();
    this.wakeSender?.();
    await Promise.all([this.runLoop, this.sendLoop]);
  }

  /**
   * The commands of a poll answer: the new ones are written durably before this returns, so the next poll
   * acknowledges them; a command already held (an answer sent twice) is not taken again.
   */
  accept(commands: BoxCommand[]): void {
    const known = new Set(this.file.held.map((h) => h.command.id));
    const fresh = commands.filter((c) => c.seq > this.file.received && !known.has(c.id));
    const top = Math.max(this.file.received, ...commands.map((c) => c.seq));
    if (fresh.length === 0 && top === this.file.received) return;
    for (const c of fresh.sort((a, b) => a.seq - b.seq)) this.file.held.push({ command: c, state: 'queued' });
    this.file.received = top;
    this.write();
    this.o.log.info(
      { commands: fresh.map((c) => ({ id: c.id, kind: c.kind })), received: top },
      'fleet: commands received',
    );
    this.kick?.();
  }

  private read(): CommandsFile {
    if (!existsSync(this.path)) return { received: 0, held: [] };
    try {
      const data = JSON.parse(readFileSync(this.path, 'utf8')) as unknown;
      if (Value.Check(CommandsFile, data)) return data;
    } catch {
      // damaged: below
    }
    // Without it the box cannot know which commands it ran: it takes none of the old ones again (they are
    // delivered in the cloud, which shows them until they expire) and starts counting from the cloud's next.
    this.o.log.error(
      { file: this.path },
      'fleet: the commands file is damaged; commands held in it are lost',
    );
    return { received: 0, held: [] };
  }

  private write(): void {
    writeDurably(this.path, JSON.stringify(this.file) + '\n');
  }

  /** At start: a command found running was interrupted; `restart` was what stopped us, and succeeded. */
  private recover(): void {
    let changed = false;
    for (const h of this.file.held) {
      if (h.state !== 'running') continue;
      changed = true;
      h.state = 'done';
      if (h.command.kind === 'restart')
        h.outcome = { state: 'succeeded', result: this.o.restarted(), at: now() };
      else {
        h.outcome = { state: 'failed', reason: INTERRUPTED_REASON, at: now() };
        this.o.log.warn(
          { command: h.command.id, kind: h.command.kind },
          'fleet: a command was interrupted by a restart; reported failed, not run again',
        );
      }
    }
    if (changed) this.write();
  }

  private finish(h: Held, outcome: CommandOutcome | undefined): void {
    h.state = 'done';
    if (outcome) h.outcome = outcome;
    else delete h.outcome;
    this.prune();
    this.write();
    this.wakeSender?.();
  }

  /** Done and reported commands are forgotten (the cloud has their outcome). */
  private prune(): void {
    this.file.held = this.file.held.filter((h) => h.state !== 'done' || h.outcome !== undefined);
  }

  private async runAll(): Promise<void> {
    while (this.running) {
      const next = this.file.held.find((h) => h.state === 'queued');
      if (!next) {
        await new Promise<void>((r) => (this.kick = r));
        this.kick = null;
        continue;
      }
      await this.runOne(next);
    }
  }

  private async runOne(h: Held): Promise<void> {
    const c = h.command;
    if (Date.parse(c.expiresAt) <= this.clock()) {
      // The cloud shows it expired and would refuse its result.
      this.o.log.warn({ command: c.id, kind: c.kind }, 'fleet: command expired before its turn; not run');
      return this.finish(h, undefined);
    }
    const kind = c.kind as CommandKind;
    const schema = (CommandParams as Record<string, (typeof CommandParams)[CommandKind]>)[kind];
    if (!schema) return this.finish(h, failed(`this box does not know the command "${c.kind}"`));
    if (!Value.Check(schema, c.params)) {
      const e = Value.Errors(schema, c.params).First();
      return this.finish(h, failed(`${c.kind}: ${e?.path ?? ''} ${e?.message ?? 'bad params'}`));
    }
    // At most once: written running before it starts.
    h.state = 'running';
    this.write();
    this.o.log.info({ command: c.id, kind: c.kind, params: c.params }, 'fleet: running a command');
    if (kind === 'restart') {
      if (!this.o.restart)
        return this.finish(h, failed('this box runs without a supervisor: it cannot restart itself'));
      this.o.restart();
      this.running = false; // nothing else runs: the process is going away
      return;
    }
    try {
      const run = this.o.runners[kind] as (p: unknown, c: BoxCommand) => Promise<unknown>;
      const result = await run(c.params, c);
      this.finish(h, { state: 'succeeded', result, at: now() });
      this.o.log.info({ command: c.id, kind: c.kind }, 'fleet: command succeeded');
    } catch (err) {
      const reason = err instanceof CommandRefused ? err.message : `error: ${(err as Error).message}`;
      if (!(err instanceof CommandRefused))
        this.o.log.error({ err, command: c.id }, 'fleet: a command failed with an error');
      else this.o.log.warn({ command: c.id, kind: c.kind, reason }, 'fleet: command failed');
      this.finish(h, failed(reason));
    }
  }

  private url(path: string): string {
    return `${this.o.cloudUrl().replace(/\/+$/, '')}/${path}`;
  }

  /** Outcomes go out one at a time, oldest first, until the cloud takes each (like the reports). */
  private async sendAll(): Promise<void> {
    let failures = 0;
    while (this.running) {
      const h = this.file.held.find((x) => x.state === 'done' && x.outcome);
      if (!h?.outcome) {
        await new Promise<void>((r) => (this.wakeSender = r));
        this.wakeSender = null;
        continue;
      }
      try {
        const res = await this.http.post(
          this.url(`api/v1/box/commands/${encodeURIComponent(h.command.id)}/result`),
          {
            json: h.outcome,
            timeout: { request: 30_000 },
            signal: this.abort.signal,
          },
        );
        if (res.statusCode >= 500 || res.statusCode === 401 || res.statusCode === 429)
          throw new Error(`result: ${res.statusCode} ${res.body.slice(0, 200)}`);
        if (res.statusCode !== 200)
          // Refused for good (expired, cancelled, unknown, too large): sending it again changes nothing.
          this.o.log.error(
            { command: h.command.id, status: res.statusCode, answer: res.body.slice(0, 300) },
            'fleet: the cloud refused this command result for good; dropped',
          );
        else
          this.o.log.info({ command: h.command.id, state: h.outcome.state }, 'fleet: command result taken');
        delete h.outcome;
        this.prune();
        this.write();
        failures = 0;
      } catch (err) {
        if (!this.running) break;
        failures++;
        if (failures === 1 || failures % 20 === 0)
          this.o.log.warn(
            { err: (err as Error).message, failures },
            'fleet: command result not sent; will retry',
          );
        await new Promise<void>((r) => {
          const t = setTimeout(r, backoffDelay(failures, this.o.retry.baseMs, this.o.retry.capMs));
          this.wakeSender = () => {
            clearTimeout(t);
            r();
          };
        });
        this.wakeSender = null;
      }
    }
  }
}

const failed = (reason: string): CommandOutcome => ({ state: 'failed', reason: cut(reason), at: now() });
