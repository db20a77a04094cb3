// What a box asks the cloud about dossiers, with its own credential: a lookup station's answer for a code
// scanned from a receipt, and its office's figures for the dossier-status board. No personal data: the
// dossiers table holds none.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import {
  ApiError,
  DossierBoard,
  DossierLookupAnswer,
  type DossierBoard as Board,
} from '../../protocol/index.js';
import { publicDossier } from '../dossiers/public-view.js';
import { localDay } from '../dossiers/rollup.js';
import { BOARD_READY_MAX, BOX_LOOKUPS_PER_MINUTE } from '../limits.js';
import { boxCredential } from './box-routes.js';
import { HttpError, type CloudContext } from './context.js';

const CODE = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$' });
const errors = { 400: ApiError, 401: ApiError, 404: ApiError, 429: ApiError };
const DAY_MS = 24 * 3600_000;
const CLOSED = new Set(['returned', 'cancelled']);

export async function boxDossierRoutes(app: FastifyInstance, ctx: CloudContext): Promise<void> {
  const boxAuth = boxCredential(ctx);
  // Counted per box (its id), not per address: one lobby's stations share the box's address.
  const perBox = {
    rateLimit: {
      max: BOX_LOOKUPS_PER_MINUTE,
      timeWindow: '1 minute',
      keyGenerator: (req: { headers: Record<string, unknown>; ip: string }) =>
        String(req.headers.authorization ?? req.ip).split('.')[0] ?? req.ip,
    },
  };

  app.get(
    '/api/v1/box/dossiers/:code',
    {
      ...boxAuth,
      schema: {
        tags: ['box'],
        summary: "A dossier's status for a lookup station (box credential)",
        params: Type.Object({ code: CODE }),
        response: { 200: DossierLookupAnswer, ...errors },
      },
      config: perBox,
    },
    async (req) => {
      const { code } = req.params as { code: string };
      const now = ctx.clock();
      const d = await publicDossier(ctx.store.db, code);
      if (!d) throw new HttpError(404, 'not_found', `no dossier "${code}"`);
      return {
        ...d,
        readyToCollect: d.status === 'ready',
        overdue: d.returnedAt === null && !CLOSED.has(d.status) && Date.parse(d.dueAt) < now,
        asOf: new Date(now).toISOString(),
      } satisfies DossierLookupAnswer;
    },
  );

  app.get(
    '/api/v1/box/dossier-board',
    {
      ...boxAuth,
      schema: {
        tags: ['box'],
        summary: "The box's office's dossier handling, for its status board (box credential)",
        response: { 200: DossierBoard, ...errors },
      },
      config: perBox,
    },
    async (req) => {
      const box = req.box as { id: string; officeId: string };
      const now = ctx.clock();
      const office = await ctx.store.db
        .selectFrom('offices')
        .select(['id', 'timezone'])
        .where('id', '=', box.officeId)
        .executeTakeFirstOrThrow();
      const day = localDay(now, office.timezone);
      const month = day.slice(0, 7);
      // The month so far and today: what was received or returned in the last 32 days, sorted out by the
      // office's calendar; plus everything still open, however old.
      const since = now - 32 * DAY_MS;
      const rows = await ctx.store.db
        .selectFrom('dossiers')
        .select(['code', 'service', 'status', 'received_at', 'due_at', 'returned_at', 'updated_at'])
        .where('office_id', '=', office.id)
        .where((eb) =>
          eb.or([
            eb('received_at', '>=', since),
            eb('returned_at', '>=', since),
            eb.and([eb('returned_at', 'is', null), eb('status', 'not in', ['returned', 'cancelled'])]),
          ]),
        )
        .execute();
      const board: Board = {
        officeId: office.id,
        day,
        month,
        today: { received: 0, returned: 0 },
        thisMonth: { received: 0, returned: 0, onTime: 0, late: 0 },
        open: { total: 0, overdue: 0, ready: 0 },
        byService: [],
        ready: [],
        readyTruncated: false,
        asOf: new Date(now).toISOString(),
      };
      const services = new Map<string, Board['byService'][number]>();
      const of = (service: string) => {
        let s = services.get(service);
        if (!s) services.set(service, (s = { service, received: 0, returned: 0, open: 0, overdue: 0 }));
        return s;
      };
      const ready: { code: string; service: string; since: number }[] = [];
      for (const r of rows) {
        const received = localDay(Number(r.received_at), office.timezone);
        const returnedAt = r.returned_at === null ? null : Number(r.returned_at);
        const returned = returnedAt === null ? null : localDay(returnedAt, office.timezone);
        if (received === day) board.today.received++;
        if (returned === day) board.today.returned++;
        if (received.startsWith(month)) {
          board.thisMonth.received++;
          of(r.service).received++;
        }
        if (returned?.startsWith(month)) {
          board.thisMonth.returned++;
          of(r.service).returned++;
          if ((returnedAt as number) <= Number(r.due_at)) board.thisMonth.onTime++;
          else board.thisMonth.late++;
        }
        if (returnedAt === null && !CLOSED.has(r.status)) {
          board.open.total++;
          of(r.service).open++;
          if (Number(r.due_at) < now) {
            board.open.overdue++;
            of(r.service).overdue++;
          }
          if (r.status === 'ready') {
            board.open.ready++;
            ready.push({ code: r.code, service: r.service, since: Number(r.updated_at) });
          }
        }
      }
      ready.sort((a, b) => a.since - b.since || (a.code < b.code ? -1 : 1));
      board.ready = ready
        .slice(0, BOARD_READY_MAX)
        .map((r) => ({ code: r.code, service: r.service, since: new Date(r.since).toISOString() }));
      board.readyTruncated = ready.length > BOARD_READY_MAX;
      board.byService = [...services.values()].sort((a, b) => (a.service < b.service ? -1 : 1));
      return board;
    },
  );
}
