// The box side of the browser screens: their pages and bundles, pairing, the screens' small HTTP API and
// the local admin page. Screens speak MQTT over WebSocket for everything live; HTTP only pairs them and
// serves what MQTT does not carry (a clerk's photo, a counter's figures for the day).
import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ConfigError } from '../config/load.js';
import { peripheralSummary, type BoxConfig } from '../config/schema.js';
import type { LobbyBroker } from '../broker/broker.js';
import type { Identity } from '../broker/acl.js';
import type { PeripheralDirectory } from '../broker/directory.js';
import { callOrder } from '../engine/index.js';
import type { Ledger } from '../ledger.js';
import type { EventStore } from '../store/event-store.js';
import { deviceIdOfClientId, ROLES, type Role } from '../../protocol/index.js';
import {
  addPeripheral,
  peripheralInputProblems,
  rekeyPeripheral,
  revokePeripheral,
} from '../../provisioning/peripherals.js';
import {
  HTTP_GUESS_WINDOW_MS,
  MAX_ADMIN_LOGIN_FAILURES,
  MAX_DEVICE_SECRET_FAILURES,
} from '../../protocol/limits.js';
import { AttemptLimiter } from '../broker/attempts.js';
import { AdminSessions, verifyAdminPassword } from './admin-auth.js';
import { findWebDir, SCREENS, WebAssets, type Screen } from './assets.js';
import { CounterTallies } from './counter-figures.js';
import { formatCode, PairingCodes } from './pairing.js';
import type { PowerHealth } from '../power/power-guard.js';
import type { SmsNotifier, SmsRefusal } from '../sms/notifier.js';

export interface WebDeps {
  log: Logger;
  /** The latest good config: the file is re-read when it changes. */
  config: () => BoxConfig;
  /** Without a file, nothing can be paired or administered: the file is the source of truth. */
  configFile?: string | undefined;
  directory: PeripheralDirectory;
  broker: LobbyBroker;
  ledger: Ledger;
  store: EventStore;
  clock: () => number;
  /**
   * The cloud's URL when the box runs a config its cloud sent (device/fleet/): peripherals and pairing are
   * then changed in the cloud console, and the local page refuses to rewrite the config.
   */
  managedBy?: () => string | null;
  /** The box's power through its UPS (device/power/), when it watches one: the page says "mất điện". */
  power?: () => PowerHealth | null;
  /** Applies the config file now (peripherals added, re-keyed, revoked), without waiting for the watcher. */
  applyConfigFile: () => void;
  /**
   * A managed box pairs a screen with a code its cloud asked for (the `pair-screen` command): the new secret
   * is kept on the box (device/fleet/screen-pairings.ts), not in the cloud's config. Returns the secret.
   */
  pairManaged?: (deviceId: string) => Promise<string>;
  /** Where the bundles are; found next to the code when not given. */
  webDir?: string;
  /** Messages to citizens' phones (device/sms/), when the config has an `sms` section. */
  sms?: SmsNotifier | null;
  /** A ticket's key for its QR code (device/ticket-keys.ts): a kiosk showing the ticket on screen asks it. */
  ticketKey?: (ticketId: string) => string;
}

export interface WebApps {
  pairing: PairingCodes;
  /** Null when `npm run build` has not produced the bundles. */
  assets: WebAssets | null;
}

/** The roles a browser screen can take, and the page of each. */
export const SCREEN_OF: Partial<Record<Role, Screen>> = {
  display: 'tv',
  kiosk: 'kiosk',
  rating: 'rating',
  'clerk-panel': 'clerk',
  lookup: 'lookup',
};

const TITLES: Record<Screen, string> = {
  tv: 'Màn hình sảnh',
  kiosk: 'Lấy số thứ tự',
  rating: 'Đánh giá mức độ hài lòng',
  clerk: 'Quầy giao dịch',
  admin: 'Quản trị thiết bị',
  pair: 'Ghép nối màn hình',
  lookup: 'Tra cứu hồ sơ',
  board: 'Tình hình giải quyết hồ sơ',
};

type Bilingual = { vi: string; en: string };
const fail = (code: string, vi: string, en: string, extra: Record<string, unknown> = {}) => ({
  error: { code, message: { vi, en } satisfies Bilingual, ...extra },
});

const ADMIN_COOKIE = 'lobby_admin';
const SESSION_SECONDS = 8 * 3600;

const PairBody = Type.Object(
  { code: Type.String({ minLength: 1, maxLength: 32 }) },
  { additionalProperties: false },
);
const LoginBody = Type.Object(
  { password: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);
const NewPeripheralBody = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 23 }),
    role: Type.String({ minLength: 1, maxLength: 20 }),
    counter: Type.Optional(Type.Integer({ minimum: 1, maximum: 9999 })),
    name: Type.Optional(Type.String({ maxLength: 100 })),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const ClerkParams = Type.Object({ clerk: Type.String({ maxLength: 64 }) });
const AssetParams = Type.Object({ name: Type.String({ maxLength: 128 }) });

function cookieOf(req: FastifyRequest, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" ' +
  'fill="#0b1f3a"/><rect x="7" y="5" width="18" height="22" rx="2" fill="#ffd23f"/><path d="M11 12h10M11 ' +
  '17h10M11 22h6" stroke="#0b1f3a" stroke-width="2.5"/></svg>';

/** Pages run only our own code and talk only to this box. */
function secureHeaders(reply: FastifyReply, req: FastifyRequest): void {
  const host = req.headers.host ?? '';
  reply.header(
    'content-security-policy',
    // worker-src blob: mqtt.js runs its keep-alive timer in a worker it makes from a blob, so a clerk panel
    // in a background tab (timers throttled to one a minute) keeps its connection; scripts stay 'self'.
    `default-src 'self'; connect-src 'self' ws://${host} wss://${host}; img-src 'self' data: blob:; ` +
      "worker-src 'self' blob:; " +
      "style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  );
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
}

function pageHtml(assets: WebAssets, screen: Screen): string {
  const m = assets.manifest[screen];
  if (!m) throw new Error(`no bundle for ${screen}`);
  const preload = m.imports.map((c) => `<link rel="modulepreload" href="/assets/${c}">`).join('');
  const css = m.css ? `<link rel="stylesheet" href="/assets/${m.css}">` : '';
  return (
    `<!doctype html><html lang="vi"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${TITLES[screen]}</title><link rel="icon" href="/favicon.svg">${css}${preload}</head>` +
    `<body><noscript>Cần bật JavaScript. JavaScript is required.</noscript>` +
    `<script type="module" src="/assets/${m.js}"></script></body></html>`
  );
}

/** The box's LAN addresses: a pairing QR code made on the box's own screen must not say 127.0.0.1. */
export function lanOrigins(port: number): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? [])
      if (a.family === 'IPv4' && !a.internal) out.push(`http://${a.address}:${port}`);
  return out;
}

export function registerWebApps(app: FastifyInstance, deps: WebDeps): WebApps {
  const log = deps.log;
  const dir = deps.webDir ?? findWebDir();
  const assets = dir ? new WebAssets(dir) : null;
  if (!assets) log.warn('screens not built (run `npm run build`): their pages answer 503');
  const pairing = new PairingCodes(deps.clock);
  const sessions = new AdminSessions(deps.clock);
  // Per address: wrong admin passwords; wrong pairing codes or device secrets. Each attempt is counted
  // before its hash is computed, so concurrent guesses cannot exceed the limit.
  const loginFailures = new AttemptLimiter(deps.clock, MAX_ADMIN_LOGIN_FAILURES, HTTP_GUESS_WINDOW_MS);
  const guessFailures = new AttemptLimiter(deps.clock, MAX_DEVICE_SECRET_FAILURES, HTTP_GUESS_WINDOW_MS);
  /** 429 with Retry-After (seconds): the sender knows when it may try again. */
  const tooMany = (reply: FastifyReply, retryAfterMs: number, vi: string, en: string) =>
    reply
      .code(429)
      .header('retry-after', String(Math.ceil(retryAfterMs / 1000)))
      .send(fail('too_many_attempts', vi, en, { retryAfterSeconds: Math.ceil(retryAfterMs / 1000) }));
  const tallies = CounterTallies.fromStore(deps.store, deps.ledger.state.day);
  deps.ledger.onCommit((events) => {
    for (const e of events) tallies.add(e.event, e.day);
  });

  // When each device was last heard from (connect, ping, disconnect), for the admin page.
  const lastSeen = new Map<string, number>();
  const seen = (clientId: string) => {
    const id = deviceIdOfClientId(clientId);
    if (id) lastSeen.set(id, deps.clock());
  };
  deps.broker.aedes.on('client', (c) => seen(c.id));
  deps.broker.aedes.on('ping', (_packet, c) => seen(c.id));
  deps.broker.aedes.on('clientDisconnect', (c) => seen(c.id));
  // A peripheral the box drives (an LED board on a serial line) has no connection: its driver's reports
  // (presence, status, published by the box itself) are when it was last heard from.
  deps.broker.aedes.on('publish', (packet, client) => {
    if (client) return;
    const m = /^lobby\/v1\/(?:presence|status)\/([^/]+)$/.exec(packet.topic);
    if (m?.[1] && deps.directory.get(m[1])) lastSeen.set(m[1], deps.clock());
  });

  // ---- pages and bundles --------------------------------------------------------------------------

  app.get('/', async (_req, reply) => reply.redirect('/pair'));
  // The icon a browser asks for on every page (a 404 in each screen's log otherwise): a queue ticket.
  for (const path of ['/favicon.svg', '/favicon.ico'])
    app.get(path, async (_req, reply) =>
      reply.header('cache-control', 'public, max-age=86400').type('image/svg+xml').send(FAVICON),
    );
  // `/board` is a page of the lobby TV (a `display`), not a role of its own: it pairs as a display.
  for (const screen of SCREENS) {
    app.get(`/${screen}`, async (req, reply) => {
      secureHeaders(reply, req);
      reply.header('cache-control', 'no-cache');
      if (!assets)
        return reply
          .code(503)
          .type('text/plain; charset=utf-8')
          .send('Giao diện chưa được build. The screens are not built: run `npm run build` on the box.');
      return reply.type('text/html; charset=utf-8').send(pageHtml(assets, screen));
    });
  }
  app.get<{ Params: Static<typeof AssetParams> }>(
    '/assets/:name',
    { schema: { params: AssetParams } },
    async (req, reply) => {
      const a = assets?.get(req.params.name);
      if (!a) return reply.code(404).send(fail('not_found', 'Không tìm thấy.', 'Not found.'));
      reply.header('cache-control', 'public, max-age=31536000, immutable');
      reply.header('etag', a.etag);
      reply.header('vary', 'accept-encoding');
      if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
      reply.type(a.type);
      if (a.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
        reply.header('content-encoding', 'gzip');
        return reply.send(a.gzip);
      }
      return reply.send(a.body);
    },
  );

  // ---- what every screen reads -----------------------------------------------------------------

  /** A screen proves who it is with its MQTT credentials (HTTP Basic): the same check as the broker's. */
  async function screenDevice(req: FastifyRequest, reply: FastifyReply): Promise<Identity | null> {
    const ip = req.ip;
    const h = req.headers.authorization ?? '';
    const raw = h.startsWith('Basic ') ? Buffer.from(h.slice(6), 'base64').toString('utf8') : '';
    const colon = raw.indexOf(':');
    const [id, secret] = colon > 0 ? [raw.slice(0, colon), raw.slice(colon + 1)] : ['', ''];
    let who = id ? deps.directory.knownGood(id, secret) : null;
    if (!who) {
      const attempt = guessFailures.reserve(ip);
      if (!attempt.ok) {
        await tooMany(reply, attempt.retryAfterMs, 'Thử sai quá nhiều lần.', 'Too many attempts.');
        return null;
      }
      who = id ? await deps.directory.verify(id, secret) : null;
      if (who) attempt.succeeded();
    }
    if (!who) {
      log.warn({ ip, device: id || undefined }, 'screen API: bad device credentials');
      await reply
        .code(401)
        .send(fail('unauthorized', 'Thiết bị chưa được ghép nối.', 'This device is not paired.'));
      return null;
    }
    return who;
  }

  // What any screen needs before it is paired (the pairing page, the banner) is public; the clerks' names
  // are not: they come only to a paired screen (its credential in HTTP Basic), which the clerk panel's
  // sign-in list and the rating screen are.
  app.get('/api/screens/settings', async (req, reply) => {
    const cfg = deps.config();
    const paired = req.headers.authorization !== undefined;
    const who = paired ? await screenDevice(req, reply) : null;
    if (paired && !who) return reply;
    // Whether a kiosk has a ticket printer at all: the box drives one, or something reported its state. A
    // browser kiosk without either shows every ticket on screen instead of promising paper.
    const kioskPrinter =
      who?.role === 'kiosk'
        ? deps.directory.get(who.id)?.driver !== undefined ||
          deps.broker.statusOf(who.id)?.printer !== undefined
        : null;
    return {
      kioskPrinter,
      officeId: cfg.office.id,
      officeName: cfg.office.name,
      publicUrl: cfg.office.publicUrl ?? null,
      notice: cfg.screens.notice ?? null,
      chime: cfg.screens.chime,
      kioskIdleSeconds: cfg.screens.kioskIdleSeconds,
      lowRatingReasons: cfg.screens.lowRatingReasons,
      sms: deps.sms?.enabled === true,
      clerks: paired ? cfg.clerks.map((c) => ({ id: c.id, name: c.name, photo: c.photo !== undefined })) : [],
    };
  });

  app.get<{ Params: Static<typeof ClerkParams> }>(
    '/api/screens/clerk-photo/:clerk',
    { schema: { params: ClerkParams } },
    async (req, reply) => {
      if (!(await screenDevice(req, reply))) return reply;
      const clerk = deps.config().clerks.find((c) => c.id === req.params.clerk);
      if (!clerk?.photo) return reply.code(404).send(fail('not_found', 'Không có ảnh.', 'No photo.'));
      const base = deps.configFile ? dirname(resolve(deps.configFile)) : process.cwd();
      const file = isAbsolute(clerk.photo) ? clerk.photo : resolve(base, clerk.photo);
      try {
        const body = await readFile(file);
        const ext = extname(file).toLowerCase();
        reply.header('cache-control', 'private, max-age=300');
        return reply
          .type(ext === '.png' ? 'image/png' : ext === '.webp' ? 'image/webp' : 'image/jpeg')
          .send(body);
      } catch (err) {
        log.warn({ clerk: clerk.id, file, err: (err as Error).message }, 'clerk photo unreadable');
        return reply.code(404).send(fail('not_found', 'Không có ảnh.', 'No photo.'));
      }
    },
  );

  // A phone number for one ticket, typed on the kiosk (issue 14). Over HTTP, not MQTT: the number must not pass
  // the broker or the request ledger (which keeps requests to answer retries); it is held in memory only
  // (device/sms/), and neither this route nor fastify logs a body.
  const SMS_REFUSALS: Record<SmsRefusal, [number, string, string]> = {
    phone_invalid: [400, 'Số điện thoại không hợp lệ.', 'That is not a phone number.'],
    no_such_ticket: [404, 'Không tìm thấy số thứ tự này.', 'No such ticket.'],
    ticket_over: [409, 'Số này đã được mời.', 'This number was already called.'],
    sms_full: [503, 'Tạm thời không nhận thêm số điện thoại.', 'No more phone numbers can be taken now.'],
  };
  app.post('/api/screens/sms', async (req, reply) => {
    const who = await screenDevice(req, reply);
    if (!who) return reply;
    if (who.role !== 'kiosk')
      return reply.code(403).send(fail('forbidden', 'Chỉ dành cho kiosk.', 'For kiosks only.'));
    if (!deps.sms?.enabled)
      return reply
        .code(409)
        .send(fail('sms_off', 'Văn phòng chưa bật nhắn tin.', 'This office sends no text messages.'));
    const body = (req.body ?? {}) as { ticketId?: unknown; phone?: unknown };
    if (typeof body.ticketId !== 'string' || typeof body.phone !== 'string' || body.phone.length > 40)
      return reply.code(400).send(fail('invalid_request', 'Yêu cầu không hợp lệ.', 'Invalid request.'));
    const refused = deps.sms.register(body.ticketId, body.phone, deps.ledger.state);
    if (refused) {
      const [status, vi, en] = SMS_REFUSALS[refused];
      return reply.code(status).send(fail(refused, vi, en));
    }
    return { ticketId: body.ticketId, sms: true };
  });

  // The key a ticket's QR code carries (issue 14), for a kiosk that shows the ticket on screen: only a kiosk,
  // only a ticket of today's that exists.
  app.get('/api/screens/ticket-key', async (req, reply) => {
    const who = await screenDevice(req, reply);
    if (!who) return reply;
    if (who.role !== 'kiosk')
      return reply.code(403).send(fail('forbidden', 'Chỉ dành cho kiosk.', 'For kiosks only.'));
    const ticketId = (req.query as { ticketId?: unknown }).ticketId;
    if (typeof ticketId !== 'string' || !deps.ledger.state.tickets.has(ticketId) || !deps.ticketKey)
      return reply.code(404).send(fail('no_such_ticket', 'Không tìm thấy số thứ tự này.', 'No such ticket.'));
    return { ticketId, key: deps.ticketKey(ticketId) };
  });

  app.get('/api/screens/counter', async (req, reply) => {
    const who = await screenDevice(req, reply);
    if (!who) return reply;
    const cfg = deps.config();
    const counter = cfg.counters.find((c) => c.number === who.counter);
    if (who.role !== 'clerk-panel' || !counter)
      return reply.code(403).send(fail('forbidden', 'Chỉ dành cho màn hình quầy.', 'For clerk panels only.'));
    const state = deps.ledger.state;
    // In the order `next` will call them (priority first under the counter's policy), not the order of issue.
    const waiting = callOrder(counter, state).map((t) => ({
      number: t.number,
      service: t.service,
      priority: t.priority,
      issuedAt: new Date(t.issuedAt).toISOString(),
      transferredHere: t.targetCounter === counter.number,
    }));
    return { counter: counter.number, day: state.day, waiting, today: tallies.of(counter.number) };
  });

  // ---- pairing ----------------------------------------------------------------------------------

  const noConfigFile = () =>
    fail(
      'no_config_file',
      'Máy chủ chạy không có tệp cấu hình, không thể lưu thay đổi.',
      'The box runs without a config file; changes cannot be saved.',
    );

  /** 409 naming the cloud when the box is managed by one; false when the request may go on. */
  const refusedAsManaged = (reply: FastifyReply): boolean => {
    const cloud = deps.managedBy?.();
    if (!cloud) return false;
    void reply
      .code(409)
      .send(
        fail(
          'managed_by_cloud',
          `Máy chủ này do ${cloud} quản lý: hãy thay đổi trên trang quản trị đám mây.`,
          `This box is managed by ${cloud}: change it in the cloud console.`,
          { cloud },
        ),
      );
    return true;
  };

  app.post<{ Body: Static<typeof PairBody> }>(
    '/api/pair',
    { schema: { body: PairBody } },
    async (req, reply) => {
      const ip = req.ip;
      // A managed box pairs only with the codes its cloud asked for (pairManaged); the file is not its config.
      const managed = Boolean(deps.managedBy?.());
      if (managed && !deps.pairManaged && refusedAsManaged(reply)) return reply;
      if (!managed && !deps.configFile) return reply.code(503).send(noConfigFile());
      const attempt = guessFailures.reserve(ip);
      if (!attempt.ok) {
        log.warn({ ip }, 'pairing refused: too many wrong codes');
        return tooMany(
          reply,
          attempt.retryAfterMs,
          'Nhập sai quá nhiều lần, hãy thử lại sau.',
          'Too many attempts; try later.',
        );
      }
      const deviceId = pairing.redeem(req.body.code);
      const p = deviceId ? deps.directory.get(deviceId) : undefined;
      const screen = p ? SCREEN_OF[p.role] : undefined;
      if (deviceId && p && screen) attempt.succeeded();
      if (!deviceId || !p || !screen) {
        log.warn({ ip, deviceId }, 'pairing refused: unknown, used or expired code');
        return reply
          .code(400)
          .send(
            fail(
              'pairing_code_invalid',
              'Mã ghép nối không đúng, đã dùng hoặc đã hết hạn.',
              'The pairing code is wrong, used or expired.',
            ),
          );
      }
      let secret: string;
      if (managed && deps.pairManaged) secret = await deps.pairManaged(deviceId);
      else {
        secret = (await rekeyPeripheral(deps.configFile as string, deviceId)).secret;
        deps.applyConfigFile();
      }
      log.info({ pairing: { device: deviceId, role: p.role, counter: p.counter }, ip }, 'screen paired');
      return { deviceId, role: p.role, counter: p.counter ?? null, secret, screen: `/${screen}` };
    },
  );

  // ---- admin --------------------------------------------------------------------------------------

  const unsetMessage = () => {
    const file = deps.configFile ?? '<office.yaml>';
    return fail(
      'admin_password_unset',
      `Chưa đặt mật khẩu quản trị. Trên máy chủ, chạy: lobby device set-admin-password --config ${file}`,
      `No admin password is set. On the box, run: lobby device set-admin-password --config ${file}`,
      { command: `lobby device set-admin-password --config ${file}` },
    );
  };

  /** Every admin route passes here: a password must be set, the session live, the request same-origin. */
  let passwordHashSeen = deps.config().admin?.passwordHash;
  async function admin(req: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    const hash = deps.config().admin?.passwordHash;
    if (hash !== passwordHashSeen) {
      // A new password (set-admin-password on a running box) signs everyone out.
      sessions.clear();
      passwordHashSeen = hash;
    }
    if (!hash) {
      await reply.code(503).send(unsetMessage());
      return false;
    }
    if (!sessions.check(cookieOf(req, ADMIN_COOKIE))) {
      await reply
        .code(401)
        .send(fail('admin_login_required', 'Cần đăng nhập quản trị.', 'Admin sign-in required.'));
      return false;
    }
    const origin = req.headers.origin;
    if (req.method !== 'GET' && origin && new URL(origin).host !== req.headers.host) {
      log.warn({ ip: req.ip, origin }, 'admin request from another origin refused');
      await reply.code(403).send(fail('forbidden', 'Không được phép.', 'Forbidden.'));
      return false;
    }
    return true;
  }

  const audit = (req: FastifyRequest, action: string, detail: Record<string, unknown> = {}) =>
    log.info({ admin: { action, ...detail }, ip: req.ip }, `admin: ${action}`);

  app.get('/api/admin/session', async (req) => ({
    passwordSet: Boolean(deps.config().admin?.passwordHash),
    loggedIn: sessions.check(cookieOf(req, ADMIN_COOKIE)),
    configFile: deps.configFile ?? null,
  }));

  app.post<{ Body: Static<typeof LoginBody> }>(
    '/api/admin/login',
    { schema: { body: LoginBody } },
    async (req, reply) => {
      const hash = deps.config().admin?.passwordHash;
      if (!hash) return reply.code(503).send(unsetMessage());
      const attempt = loginFailures.reserve(req.ip);
      if (!attempt.ok) {
        audit(req, 'login.blocked');
        return tooMany(
          reply,
          attempt.retryAfterMs,
          'Sai mật khẩu quá nhiều lần, hãy thử lại sau.',
          'Too many attempts; try later.',
        );
      }
      if (!(await verifyAdminPassword(req.body.password, hash))) {
        log.warn({ admin: { action: 'login.failed' }, ip: req.ip }, 'admin: wrong password');
        return reply.code(401).send(fail('wrong_password', 'Sai mật khẩu.', 'Wrong password.'));
      }
      attempt.succeeded();
      const token = sessions.create();
      reply.header(
        'set-cookie',
        `${ADMIN_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_SECONDS}`,
      );
      audit(req, 'login');
      return { ok: true };
    },
  );

  app.post('/api/admin/logout', async (req, reply) => {
    sessions.drop(cookieOf(req, ADMIN_COOKIE));
    reply.header('set-cookie', `${ADMIN_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    audit(req, 'logout');
    return { ok: true };
  });

  app.get('/api/admin/peripherals', async (req, reply) => {
    if (!(await admin(req, reply))) return reply;
    const cfg = deps.config();
    const connected = new Map<string, number>();
    for (const cid of deps.broker.connectedIds()) {
      const id = deviceIdOfClientId(cid);
      if (id) connected.set(id, (connected.get(id) ?? 0) + 1);
    }
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    const port = req.socket.localPort ?? 0;
    return {
      office: { id: cfg.office.id, name: cfg.office.name, timezone: cfg.office.timezone },
      configFile: deps.configFile ?? null,
      managedBy: deps.managedBy?.() ?? null,
      power: deps.power?.() ?? null,
      lanOrigins: lanOrigins(port),
      roles: ROLES,
      screenRoles: Object.keys(SCREEN_OF),
      counters: cfg.counters.map((c) => ({ number: c.number, name: c.name ?? `Quầy ${c.number}` })),
      peripherals: deps.directory.all().map((p) => {
        const code = pairing.pendingFor(p.id);
        return {
          ...peripheralSummary(p),
          connections: connected.get(p.id) ?? 0,
          presence: deps.broker.presenceOf(p.id) ?? null,
          status: deps.broker.statusOf(p.id) ?? null,
          lastSeen: iso(lastSeen.get(p.id)),
          screen: SCREEN_OF[p.role] ? `/${SCREEN_OF[p.role]}` : null,
          pairing: code ? { code: formatCode(code.code), expiresAt: iso(code.expiresAt) } : null,
        };
      }),
    };
  });

  app.post<{ Body: Static<typeof NewPeripheralBody> }>(
    '/api/admin/peripherals',
    { schema: { body: NewPeripheralBody } },
    async (req, reply) => {
      if (!(await admin(req, reply))) return reply;
      if (refusedAsManaged(reply)) return reply;
      if (!deps.configFile) return reply.code(503).send(noConfigFile());
      const problems = peripheralInputProblems(req.body);
      if (problems.length > 0)
        return reply.code(400).send(fail('invalid_peripheral', problems.join('; '), problems.join('; ')));
      try {
        const { peripheral, secret } = await addPeripheral(deps.configFile, req.body);
        deps.applyConfigFile();
        audit(req, 'peripheral.create', {
          id: peripheral.id,
          role: peripheral.role,
          counter: peripheral.counter,
        });
        const code = SCREEN_OF[peripheral.role] ? pairing.create(peripheral.id) : undefined;
        if (code) audit(req, 'pairing.create', { id: peripheral.id });
        return {
          peripheral: { id: peripheral.id, role: peripheral.role, counter: peripheral.counter ?? null },
          secret,
          pairing: code
            ? { code: formatCode(code.code), expiresAt: new Date(code.expiresAt).toISOString() }
            : null,
        };
      } catch (err) {
        const msg =
          err instanceof ConfigError ? err.issues.map((i) => i.message).join('; ') : (err as Error).message;
        return reply.code(400).send(fail('invalid_peripheral', msg, msg));
      }
    },
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    '/api/admin/peripherals/:id',
    { schema: { params: IdParams } },
    async (req, reply) => {
      if (!(await admin(req, reply))) return reply;
      if (refusedAsManaged(reply)) return reply;
      if (!deps.configFile) return reply.code(503).send(noConfigFile());
      const id = req.params.id;
      if (!revokePeripheral(deps.configFile, id))
        return reply
          .code(404)
          .send(fail('not_found', `Không có thiết bị "${id}".`, `No peripheral "${id}".`));
      pairing.cancel(id);
      deps.applyConfigFile();
      audit(req, 'peripheral.revoke', { id });
      return { ok: true };
    },
  );

  app.post<{ Params: Static<typeof IdParams> }>(
    '/api/admin/peripherals/:id/pairing-code',
    { schema: { params: IdParams } },
    async (req, reply) => {
      if (!(await admin(req, reply))) return reply;
      if (refusedAsManaged(reply)) return reply;
      if (!deps.configFile) return reply.code(503).send(noConfigFile());
      const p = deps.directory.get(req.params.id);
      if (!p) return reply.code(404).send(fail('not_found', 'Không có thiết bị này.', 'No such peripheral.'));
      if (!SCREEN_OF[p.role])
        return reply
          .code(400)
          .send(
            fail(
              'not_a_screen',
              'Chỉ ghép nối được màn hình (TV, kiosk, đánh giá, quầy).',
              'Only screens (TV, kiosk, rating, clerk panel) pair by code.',
            ),
          );
      const code = pairing.create(p.id);
      audit(req, 'pairing.create', { id: p.id });
      return { code: formatCode(code.code), expiresAt: new Date(code.expiresAt).toISOString() };
    },
  );

  return { pairing, assets };
}
