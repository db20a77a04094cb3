// Turns a device's request (topic + payload) into an engine command, submits it, and builds the reply.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import {
  CounterCommandSchemas,
  DossierLookupRequest,
  DossierScan,
  PrintDone,
  RatingSubmit,
  TicketRequest,
  errorBody,
  parsePayload,
  type CounterAction,
  type DeviceStatus,
  type DomainEvent,
  type ErrorBody,
  type ErrorCode,
  type Reply,
  type RequestTopic,
} from '../protocol/index.js';
import type { Identity } from './broker/acl.js';
import type { Command, Rejection } from './engine/index.js';
import type { Ledger } from './ledger.js';
import { configGetter, type BoxConfig, type ConfigSource } from './config/schema.js';
import { StorageFault } from './store/storage-fault.js';

type Parsed = { ok: true; id: string; cmd: Command } | { ok: false; id: string | null; error: ErrorBody };

function counterCommand(action: CounterAction, counter: number, payload: Buffer): Parsed {
  const p = parsePayload(CounterCommandSchemas[action], payload);
  if (!p.ok) return p;
  const v = p.value as Record<string, unknown> & { id: string };
  const base = { counter };
  const cmd: Command = (() => {
    switch (action) {
      case 'call':
        return { type: 'call', ...base, number: v.number as string };
      case 'transfer':
        return {
          type: 'transfer',
          ...base,
          toService: v.toService as string | undefined,
          toCounter: v.toCounter as number | undefined,
        };
      case 'finish':
        return {
          type: 'finish',
          ...base,
          dossiers: ((v.dossiers as string[] | undefined) ?? []).map((c) => c.trim()),
        };
      case 'pause':
        return { type: 'pause', ...base, reason: (v.reason as string | undefined) ?? null };
      case 'sign_in':
        return { type: 'sign_in', ...base, clerk: v.clerk as string };
      default:
        return { type: action, ...base };
    }
  })();
  return { ok: true, id: v.id, cmd };
}

/** The requests that become engine commands (a print acknowledgement and a dossier lookup do not). */
export type CommandRequest = Exclude<RequestTopic, { kind: 'print-done' } | { kind: 'dossier-lookup' }>;

export function parseRequest(who: Identity, req: CommandRequest, payload: Buffer): Parsed {
  switch (req.kind) {
    case 'ticket-request': {
      const p = parsePayload(TicketRequest, payload);
      if (!p.ok) return p;
      return {
        ok: true,
        id: p.value.id,
        cmd: {
          type: 'issue',
          service: p.value.service,
          priority: p.value.priority ?? null,
          source: who.id,
          ...(p.value.delivery === 'screen' ? { delivery: 'screen' as const } : {}),
        },
      };
    }
    case 'counter-command':
      return counterCommand(req.action, req.counter, payload);
    case 'rating': {
      const p = parsePayload(RatingSubmit, payload);
      if (!p.ok) return p;
      const v = p.value;
      return {
        ok: true,
        id: v.id,
        cmd: {
          type: 'rate',
          counter: req.counter,
          score: v.score,
          reasons: v.reasons ?? [],
          ticketId: v.ticketId,
        },
      };
    }
    case 'scan': {
      const p = parsePayload(DossierScan, payload);
      if (!p.ok) return p;
      return {
        ok: true,
        id: p.value.id,
        cmd: { type: 'link_dossier', counter: req.counter, code: p.value.code.trim() },
      };
    }
  }
}

/** What a device learns from a successful request: the ticket it concerns and what happened. */
/**
 * What a device learns from a successful request: what happened, and the ticket it concerns (for a new
 * ticket, everything a kiosk needs to print it from the reply alone).
 */
export function replyData(cfg: BoxConfig, events: DomainEvent[], at = Date.now()): Record<string, unknown> {
  const data: Record<string, unknown> = { events: events.map((e) => e.type) };
  for (const e of events) {
    if (e.type === 'ticket.issued') {
      data.ticket = {
        ticketId: e.data.ticketId,
        number: e.data.number,
        service: e.data.service,
        serviceName: cfg.services.find((s) => s.id === e.data.service)?.name ?? e.data.service,
        priority: e.data.priority,
        ahead: e.data.ahead,
        estimatedWaitMin: e.data.estimatedWaitMin,
        issuedAt: new Date(at).toISOString(),
        officeName: cfg.office.name,
      };
    } else if ('ticketId' in e.data && 'number' in e.data && 'service' in e.data) {
      // The last ticket concerned: `next` finishes one citizen and calls another; the reply names the call.
      data.ticket = { ticketId: e.data.ticketId, number: e.data.number, service: e.data.service };
    }
  }
  return data;
}

/**
 * What a device is told when its request's commit failed: never a final "no" that may be false. A full
 * disk wrote nothing (storage_full: try again later); an unknown outcome (storage_failed) means the box
 * restarts from its log, and a retry with the same id gets the true answer.
 */
function commitFailure(err: unknown, log: Logger, client: string, topic: string): ErrorBody {
  if (err instanceof StorageFault) {
    log.warn({ client, topic, fault: err.kind, sqlite: err.sqliteCode }, 'request refused: storage fault');
    return errorBody(err.kind === 'full' ? 'storage_full' : 'storage_failed');
  }
  log.error({ err, client, topic }, 'command failed to commit');
  return errorBody('internal_error');
}

/** A lookup on a box with no cloud to ask and nothing kept: said plainly. */
export function lookupUnavailable(topic: string, payload: Buffer): Reply {
  const p = parsePayload(DossierLookupRequest, payload);
  if (!p.ok) return { id: p.id, topic, status: 'error', error: p.error };
  return {
    id: p.value.id,
    topic,
    status: 'error',
    error: errorBody('lookup_unavailable', { code: p.value.code }),
  };
}

export interface DeskHooks {
  /** The last known status of a device (a kiosk's printer), if any was reported. */
  statusOf?: (deviceId: string) => DeviceStatus | undefined;
  /** A kiosk (or the box's printer driver for it) reports a print job printed. */
  printed?: (kiosk: string, jobId: string) => Promise<void> | undefined;
  /** A ticket request was answered from the log (`duplicate: true`): its print job may never have come. */
  retriedTicket?: (kiosk: string, ticketId: string) => void;
  /** Why the box takes no queue request now (the UPS battery is low), or null. Not a final answer. */
  refusal?: () => ErrorCode | null;
  /** A lookup station's question (device/dossiers/): a read of the cloud's data, nothing in the log. */
  dossierLookup?: (who: Identity, topic: string, payload: Buffer) => Promise<Reply>;
}

export function createRequestDesk(config: ConfigSource, ledger: Ledger, log: Logger, hooks: DeskHooks = {}) {
  const cfg = configGetter(config);
  return async (who: Identity, req: RequestTopic, topic: string, payload: Buffer): Promise<Reply> => {
    if (req.kind === 'print-done') {
      // Not a queue command: nothing is decided, the acknowledgement is recorded. Idempotent, so a
      // repeated acknowledgement (its reply was lost) is answered ok again.
      const p = parsePayload(PrintDone, payload);
      if (!p.ok) {
        log.warn({ client: who.id, topic, code: p.error.code }, 'print acknowledgement refused');
        return { id: p.id, topic, status: 'error', error: p.error };
      }
      try {
        await hooks.printed?.(who.id, p.value.jobId);
      } catch (err) {
        log.error({ err, client: who.id, jobId: p.value.jobId }, 'print acknowledgement not recorded');
        return { id: p.value.id, topic, status: 'error', error: errorBody('internal_error') };
      }
      return { id: p.value.id, topic, status: 'ok', data: { events: [] } };
    }
    if (req.kind === 'dossier-lookup')
      return hooks.dossierLookup
        ? hooks.dossierLookup(who, topic, payload)
        : lookupUnavailable(topic, payload);
    const parsed = parseRequest(who, req, payload);
    if (!parsed.ok) {
      log.warn(
        { client: who.id, topic, code: parsed.error.code, detail: parsed.error.detail },
        'request refused',
      );
      return { id: parsed.id, topic, status: 'error', error: parsed.error };
    }
    const refused = hooks.refusal?.() ?? null;
    if (refused) {
      log.warn({ client: who.id, topic, code: refused }, 'request refused: the box is not taking requests');
      return { id: parsed.id, topic, status: 'error', error: errorBody(refused) };
    }
    // A paper ticket is never issued silently into a printer that cannot print it. Checked by the ledger
    // after its retry check: a retry of a ticket already printed gets that ticket, not this refusal.
    const paper = parsed.cmd.type === 'issue' && parsed.cmd.delivery !== 'screen';
    const printerReady = (): Rejection | null => {
      const printer = hooks.statusOf?.(who.id)?.printer;
      if (!printer || printer.canPrint) return null;
      log.warn({ client: who.id, printer: printer.state }, 'ticket refused: printer cannot print');
      return { code: 'printer_unavailable', params: { state: printer.state } };
    };
    try {
      // A retry repeats topic and payload byte for byte; the same id with anything else is a new request.
      const fingerprint = createHash('sha256')
        .update(topic)
        .update('\u0000')
        .update(payload)
        .digest('base64url');
      const outcome = await ledger.submit(
        parsed.cmd,
        {
          source: who.id,
          requestId: parsed.id,
          fingerprint,
          ...(paper ? { precondition: printerReady } : {}),
        },
        (events, at) => replyData(cfg(), events, at),
      );
      if (!outcome.ok) {
        const error = errorBody(outcome.rejection.code, outcome.rejection.params);
        log.info({ client: who.id, topic, code: error.code }, 'command refused');
        return { id: parsed.id, topic, status: 'error', error };
      }
      if (outcome.duplicate) {
        log.info({ client: who.id, topic, id: parsed.id }, 'retried request answered from the log');
        const ticketId = (outcome.reply as { ticket?: { ticketId?: string } }).ticket?.ticketId;
        if (paper && ticketId) hooks.retriedTicket?.(who.id, ticketId);
        return {
          id: parsed.id,
          topic,
          status: 'ok',
          data: { ...(outcome.reply as object), duplicate: true },
        };
      }
      return {
        id: parsed.id,
        topic,
        status: 'ok',
        data: replyData(
          cfg(),
          outcome.events.map((e) => e.event),
          outcome.events[0]?.at,
        ),
      };
    } catch (err) {
      return { id: parsed.id, topic, status: 'error', error: commitFailure(err, log, who.id, topic) };
    }
  };
}
