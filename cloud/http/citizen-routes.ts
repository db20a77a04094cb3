// The citizen's phone (issue 14): the ticket page the printed QR code opens, an office's live wait page and its
// QR poster, and the rating from the phone. Public (no login), no personal data, rate-limited per client: the
// pages as the lookups are, their live polls with a larger allowance (a lobby's Wi-Fi is one address).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type } from '@sinclair/typebox';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import { ApiError, OfficeWaitPublic, PhoneRatingState, TicketPublic } from '../../protocol/index.js';
import { officeSetup, officeWait, ticketRow, ticketStatus, type OfficeSetup } from '../citizen/live.js';
import { langOf, posterPage, text, ticketPage, waitPage } from '../citizen/pages.js';
import { phoneRatingState, recordPhoneRating } from '../citizen/phone-rating.js';
import {
  CITIZEN_POLL_MAX_MINUTES,
  CITIZEN_POLL_SECONDS,
  PHONE_RATING_WINDOW_MINUTES,
  PHONE_RATINGS_PER_MINUTE,
  PUBLIC_LIVE_POLLS_PER_MINUTE,
} from '../limits.js';
import { HttpError, type CloudContext } from './context.js';

/** cloud/citizen/static sits in the package (not in dist/): look for it from this file upwards. */
function staticDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'cloud', 'citizen', 'static');
    if (existsSync(join(p, 'ticket.js'))) return p;
    dir = dirname(dir);
  }
  throw new Error('cloud/citizen/static not found next to the lobby package');
}

/** How long a proxy may keep an office's wait figures (they are public and the same for everyone). */
const WAIT_CACHE_SECONDS = 5;

const errors = { 400: ApiError, 403: ApiError, 404: ApiError, 409: ApiError, 429: ApiError };
const OFFICE = Type.String({ maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' });
const TICKET_PARAMS = Type.Object({
  office: OFFICE,
  day: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
  number: Type.String({ pattern: '^[A-Z]{0,3}[0-9]{1,6}$' }),
});
const FORMAT = Type.Object({
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('html')])),
  lang: Type.Optional(Type.Union([Type.Literal('vi'), Type.Literal('en')])),
});
type TicketParams = { office: string; day: string; number: string };
type FormatQuery = { format?: 'json' | 'html'; lang?: 'vi' | 'en' };

const wantsJson = (req: FastifyRequest): boolean =>
  (req.query as FormatQuery).format === 'json' || (req.headers.accept ?? '').startsWith('application/json');

export async function citizenRoutes(app: FastifyInstance, ctx: CloudContext): Promise<void> {
  const pollSeconds = ctx.settings.citizenPollSeconds ?? CITIZEN_POLL_SECONDS;
  const windowMinutes = ctx.settings.phoneRatingWindowMinutes ?? PHONE_RATING_WINDOW_MINUTES;
  const pageLimit = { rateLimit: { max: ctx.settings.publicLookupsPerMinute, timeWindow: '1 minute' } };
  const liveLimit = {
    rateLimit: {
      max: ctx.settings.publicLivePollsPerMinute ?? PUBLIC_LIVE_POLLS_PER_MINUTE,
      timeWindow: '1 minute',
    },
  };
  const db = ctx.store.db;

  await app.register(fastifyStatic, {
    root: staticDir(),
    prefix: '/citizen/',
    decorateReply: false,
    // The scripts change with the cloud's version; a phone re-asks after a few minutes.
    maxAge: '5m',
  });

  const office = async (id: string): Promise<OfficeSetup> => {
    const o = await officeSetup(db, id);
    if (!o) throw new HttpError(404, 'not_found', `no office "${id}"`);
    return o;
  };
  const status = async (o: OfficeSetup, p: TicketParams) =>
    ticketStatus(db, o, `${p.day}/${p.number}`, {
      pollSeconds,
      rating: (t) => phoneRatingState(db, o, t, ctx.clock(), windowMinutes),
    });
  const ticketJsonUrl = (p: TicketParams) =>
    `/api/v1/public/tickets/${encodeURIComponent(p.office)}/${p.day}/${encodeURIComponent(p.number)}`;

  app.get(
    '/t/:office/:day/:number',
    {
      schema: {
        tags: ['public'],
        summary:
          "A ticket's page (the QR code on the ticket): place in line, wait, turn near, called; HTML or JSON",
        description:
          'JSON with `Accept: application/json` or `?format=json`; `?lang=en` for English. The page keeps itself ' +
          'current from `/api/v1/public/tickets/…` (no reload).',
        params: Type.Object({
          office: Type.String({ maxLength: 64 }),
          day: TICKET_PARAMS.properties.day,
          number: TICKET_PARAMS.properties.number,
        }),
        querystring: FORMAT,
      },
      config: pageLimit,
    },
    async (req, reply) => {
      const p = req.params as TicketParams;
      const lang = langOf((req.query as FormatQuery).lang);
      const o = await officeSetup(db, p.office);
      const t = o ? await status(o, p) : null;
      if (wantsJson(req)) {
        if (!t)
          throw new HttpError(404, 'not_found', 'no such ticket (yet): the office may not have sent it');
        return reply.type('application/json').send(t);
      }
      return reply
        .code(t ? 200 : 404)
        .type('text/html; charset=utf-8')
        .send(
          ticketPage({
            lang,
            ticket: t,
            params: p,
            office: o,
            jsonUrl: ticketJsonUrl(p),
            ratingUrl: `${ticketJsonUrl(p)}/rating`,
            scale: o?.scale ?? [],
            now: ctx.clock(),
            pollMaxMinutes: CITIZEN_POLL_MAX_MINUTES,
          }),
        );
    },
  );

  app.get(
    '/api/v1/public/tickets/:office/:day/:number',
    {
      schema: {
        tags: ['public'],
        summary: "A ticket's live status, as its page polls it (no personal data)",
        params: TICKET_PARAMS,
        response: { 200: TicketPublic, ...errors },
      },
      config: liveLimit,
    },
    async (req) => {
      const p = req.params as TicketParams;
      const t = await status(await office(p.office), p);
      if (!t) throw new HttpError(404, 'not_found', 'no such ticket (yet): the office may not have sent it');
      return t;
    },
  );

  app.post(
    '/api/v1/public/tickets/:office/:day/:number/rating',
    {
      schema: {
        tags: ['public'],
        summary: 'Rate a visit from the phone (offices without rating tablets): once per ticket',
        description:
          "With the ticket's key from its QR code (else `403 key_invalid`); only once the citizen reached the " +
          'counter, within the rating window, once: a second rating is ' +
          '`409 already_rated`. Counted in the reports as a rating tablet’s, for the clerk who served the ticket.',
        params: TICKET_PARAMS,
        body: Type.Object(
          {
            score: Type.Integer({ minimum: 1, maximum: 10 }),
            key: Type.String({
              minLength: 1,
              maxLength: 64,
              description: "The ticket's key, from its QR code (`#k=…`): proves the phone holds the ticket",
            }),
          },
          { additionalProperties: false },
        ),
        querystring: Type.Object({
          lang: Type.Optional(Type.Union([Type.Literal('vi'), Type.Literal('en')])),
        }),
        response: { 200: PhoneRatingState, ...errors },
      },
      config: { rateLimit: { max: PHONE_RATINGS_PER_MINUTE, timeWindow: '1 minute' } },
    },
    async (req) => {
      const p = req.params as TicketParams;
      const lang = langOf((req.query as FormatQuery).lang);
      const o = await office(p.office);
      const t = await ticketRow(db, o.id, `${p.day}/${p.number}`);
      if (!t) throw new HttpError(404, 'not_found', 'no such ticket (yet): the office may not have sent it');
      const { score, key } = req.body as { score: number; key: string };
      const now = ctx.clock();
      const refused = await recordPhoneRating(
        db,
        ctx.settings.masterKey,
        o,
        t,
        score,
        key,
        now,
        windowMinutes,
      );
      if (refused === 'key_invalid') throw new HttpError(403, 'key_invalid', text(lang, 'rating_needs_qr'));
      if (refused === 'already_rated')
        throw new HttpError(409, 'already_rated', text(lang, 'rating_already_rated'));
      if (refused === 'window_closed')
        throw new HttpError(409, 'window_closed', text(lang, 'rating_window_closed'));
      if (refused === 'not_served') throw new HttpError(409, 'not_served', text(lang, 'rating_not_served'));
      if (refused === 'tablet') throw new HttpError(409, 'rated_at_counter', text(lang, 'rating_tablet'));
      if (refused === 'score_out_of_scale')
        throw new HttpError(400, 'score_out_of_scale', `score must lie in 1..${o.scale.length}`);
      return phoneRatingState(db, o, t, now, windowMinutes);
    },
  );

  app.get(
    '/w/:office',
    {
      schema: {
        tags: ['public'],
        summary:
          "An office's live wait page: each service's waiting count, numbers served, wait; HTML or JSON",
        params: Type.Object({ office: OFFICE }),
        querystring: FORMAT,
      },
      config: pageLimit,
    },
    async (req, reply) => {
      const { office: id } = req.params as { office: string };
      const o = await office(id);
      const w = await officeWait(db, o, ctx.clock(), pollSeconds);
      if (wantsJson(req)) return reply.type('application/json').send(w);
      return reply.type('text/html; charset=utf-8').send(
        waitPage({
          lang: langOf((req.query as FormatQuery).lang),
          wait: w,
          office: o,
          jsonUrl: `/api/v1/public/offices/${encodeURIComponent(o.id)}/wait`,
          now: ctx.clock(),
          pollMaxMinutes: CITIZEN_POLL_MAX_MINUTES,
        }),
      );
    },
  );

  app.get(
    '/api/v1/public/offices/:office/wait',
    {
      schema: {
        tags: ['public'],
        summary: "An office's live wait figures, as its wait page polls them (no personal data)",
        params: Type.Object({ office: OFFICE }),
        response: { 200: OfficeWaitPublic, ...errors },
      },
      config: liveLimit,
    },
    async (req, reply) => {
      const { office: id } = req.params as { office: string };
      const w = await officeWait(db, await office(id), ctx.clock(), pollSeconds);
      // The same for every phone of the office (no ticket in it): a proxy or CDN in front may answer for us.
      void reply.header('cache-control', `public, max-age=${WAIT_CACHE_SECONDS}`);
      return w;
    },
  );

  app.get(
    '/w/:office/poster',
    {
      schema: {
        tags: ['public'],
        summary: "A printable poster with the QR code of the office's wait page",
        params: Type.Object({ office: OFFICE }),
        querystring: Type.Object({
          lang: Type.Optional(Type.Union([Type.Literal('vi'), Type.Literal('en')])),
        }),
      },
      config: pageLimit,
    },
    async (req, reply) => {
      const { office: id } = req.params as { office: string };
      const o = await office(id);
      const url = `${ctx.settings.publicUrl}/w/${encodeURIComponent(o.id)}`;
      const qrSvg = await QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
      return reply
        .type('text/html; charset=utf-8')
        .send(posterPage({ lang: langOf((req.query as FormatQuery).lang), office: o, url, qrSvg }));
    },
  );
}
