// The fleet poll (`GET /api/v1/box/poll`): one long poll carrying everything the cloud has for a box — its
// desired config, its commands, its software target — each part read by a *poll source*. Answered at once
// when any source has news for the box, else held until a wake-up (wakeups.ts, any replica) or the end of
// the wait. The same holding serves the older `GET /api/v1/box/target`.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BoxPoll } from '../../protocol/fleet.js';
import type { Db } from '../db/database.js';
import { HttpError } from '../http/context.js';
import { FLEET_LONG_POLL_MAX_SECONDS } from '../limits.js';
import { commandsFor } from './commands.js';
import { targetAfter } from './twin.js';
import type { TargetWakeups } from './wakeups.js';

/** What the box says it holds (protocol/fleet.ts BoxPoll). */
export interface PollQuery {
  /** The last desired config version processed. */
  version: number;
  /** The highest command seq held durably. */
  commands: number;
  /** The rolloutId of the software target held, '' none. */
  software: string;
}

export interface PollContext {
  boxId: string;
  officeId: string;
  query: PollQuery;
  now: number;
}

/**
 * One part of the poll's answer. `value` goes in the answer under `name`; `news` says the box does not hold
 * it yet (an answer is due now). Read again on every wake-up: a source keeps no state of its own.
 */
export interface BoxPollSource {
  name: 'target' | 'commands' | 'software';
  read(ctx: PollContext): Promise<{ value: unknown; news: boolean }>;
}

export const targetSource = (db: Db): BoxPollSource => ({
  name: 'target',
  async read(c) {
    const target = await targetAfter(db, c.boxId, c.query.version);
    return { value: target, news: target !== null };
  },
});

export const commandsSource = (db: Db): BoxPollSource => ({
  name: 'commands',
  async read(c) {
    const commands = await commandsFor(db, c.boxId, c.query.commands, c.now);
    return { value: commands, news: commands.length > 0 };
  },
});

/**
 * The sources of this cloud's poll. The software rollouts' source (cloud/releases/poll-source.ts) joins this
 * list when it is part of the build; without it, `software` is always null and never news.
 */
export function pollSources(db: Db, extra: BoxPollSource[] = []): BoxPollSource[] {
  return [targetSource(db), commandsSource(db), ...extra];
}

/** Every source read; the answer when any has news, else null. */
export async function readPoll(sources: BoxPollSource[], c: PollContext): Promise<BoxPoll | null> {
  const parts = await Promise.all(sources.map(async (s) => [s.name, await s.read(c)] as const));
  if (!parts.some(([, p]) => p.news)) return null;
  const answer: BoxPoll = { target: null, commands: [], software: null };
  for (const [name, p] of parts) (answer as Record<string, unknown>)[name] = p.value;
  return answer;
}

/**
 * Woken polls reading the database at once, per replica. A province-wide change wakes thousands of polls in
 * the same instant; unbounded, their reads queued ahead of everything else for the pool's connections (10),
 * and a `/healthz` waited 10 s behind them (its own limit is 2 s: the replica would be taken out of rotation
 * while it worked). Half the pool is left to the other requests.
 */
const RECHECKS_AT_ONCE = 5;

/** At most `n` of the functions given run at once; the others wait in order. */
export function limiter(n: number) {
  let running = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (running >= n) await new Promise<void>((r) => queue.push(r));
    running++;
    try {
      return await fn();
    } finally {
      running--;
      queue.shift()?.();
    }
  };
}

/** Holds long polls on this replica: one wait per box, woken by wakeups.ts. */
export class LongPolls {
  private readonly recheck = limiter(RECHECKS_AT_ONCE);

  constructor(
    private readonly wakeups: TargetWakeups,
    private readonly maxWaiting: () => number,
  ) {}

  /**
   * `check` at once, then on every wake-up until it gives an answer or `waitMs` pass: the answer (200), else
   * 204. Past the replica's maximum of waiting polls: 503 with Retry-After.
   */
  async hold<T>(
    req: FastifyRequest,
    reply: FastifyReply,
    boxId: string,
    waitMs: number,
    check: () => Promise<T | null>,
  ): Promise<T | FastifyReply> {
    const first = await check();
    if (first !== null) return first;
    if (waitMs === 0) return reply.code(204).send();
    const max = this.maxWaiting();
    if (this.wakeups.waiting >= max) {
      req.log.warn({ waiting: this.wakeups.waiting }, 'fleet: too many long polls waiting on this replica');
      void reply.header('retry-after', String(FLEET_LONG_POLL_MAX_SECONDS));
      throw new HttpError(
        503,
        'too_many_polls',
        `this replica holds ${max} long polls already: poll again later`,
      );
    }
    // Registered before the database is read again, so a save between that read and the wait still wakes it.
    const waiter = this.wakeups.waiter(boxId);
    const gone = new AbortController();
    const onClose = () => gone.abort();
    reply.raw.once('close', onClose);
    try {
      const deadline = Date.now() + waitMs;
      let answer = await check();
      while (answer === null && !gone.signal.aborted) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        const why = await waiter.wait(left, gone.signal);
        // Shutting down: answer now and close the connection (it would otherwise stay open, idle, after the
        // server's close has already ended the idle ones, and hold the shutdown up).
        if (why === 'closing') return reply.header('connection', 'close').code(204).send();
        if (why === 'timeout') break;
        answer = await this.recheck(check);
      }
      // The one re-check at its end (a notification may have been lost with a connection).
      if (answer === null && !gone.signal.aborted) answer = await this.recheck(check);
      return answer ?? reply.code(204).send();
    } finally {
      waiter.done();
      reply.raw.off('close', onClose);
    }
  }
}
