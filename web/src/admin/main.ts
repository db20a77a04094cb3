// The box's local admin page: sign in with the admin password, see every peripheral live (online, printer,
// last seen), add and revoke peripherals, and show one-time pairing codes (and their QR codes) for screens.
import QRCode from 'qrcode';
import { el, fill, keepFocus } from '../shared/dom.js';
import { dictionary, langToggle, onLangChange, pick, type Bilingual } from '../shared/i18n.js';
import '../shared/base.css';
import './admin.css';

const t = dictionary({
  title: { vi: 'Quản trị thiết bị', en: 'Devices' },
  unset: { vi: 'Chưa đặt mật khẩu quản trị', en: 'No admin password is set' },
  unsetHelp: {
    vi: 'Trang quản trị không có mật khẩu mặc định. Trên máy chủ, chạy lệnh sau rồi tải lại trang:',
    en: 'The admin page has no default password. On the box, run this, then reload the page:',
  },
  password: { vi: 'Mật khẩu quản trị', en: 'Admin password' },
  signIn: { vi: 'Đăng nhập', en: 'Sign in' },
  signOut: { vi: 'Đăng xuất', en: 'Sign out' },
  id: { vi: 'Mã thiết bị', en: 'Device id' },
  role: { vi: 'Loại', en: 'Role' },
  counter: { vi: 'Quầy', en: 'Counter' },
  name: { vi: 'Tên', en: 'Name' },
  online: { vi: 'Trực tuyến', en: 'Online' },
  offline: { vi: 'Ngoại tuyến', en: 'Offline' },
  driven: { vi: 'Máy chủ điều khiển', en: 'Driven by the box' },
  state: { vi: 'Trạng thái', en: 'State' },
  printer: { vi: 'Máy in: {state}', en: 'Printer: {state}' },
  lastSeen: { vi: 'Lần cuối', en: 'Last seen' },
  never: { vi: 'chưa bao giờ', en: 'never' },
  actions: { vi: 'Thao tác', en: 'Actions' },
  pairCode: { vi: 'Tạo mã ghép nối', en: 'Pairing code' },
  revoke: { vi: 'Thu hồi', en: 'Revoke' },
  confirmRevoke: { vi: 'Xác nhận thu hồi {id}?', en: 'Really revoke {id}?' },
  add: { vi: 'Thêm thiết bị', en: 'Add a device' },
  none: { vi: '(không)', en: '(none)' },
  create: { vi: 'Thêm', en: 'Add' },
  secret: {
    vi: 'Mật khẩu của {id} (chỉ hiện một lần, hãy nạp vào thiết bị ngay):',
    en: 'Secret of {id} (shown once; put it in the device now):',
  },
  code: { vi: 'Mã ghép nối cho {id}', en: 'Pairing code for {id}' },
  codeHelp: {
    vi: 'Trên màn hình cần ghép nối, mở {url} hoặc quét mã QR. Mã dùng một lần, hết hạn lúc {at}.',
    en: 'On the screen to pair, open {url} or scan the QR code. One use only; expires at {at}.',
  },
  close: { vi: 'Đóng', en: 'Close' },
  revoked: { vi: 'Đã thu hồi {id}.', en: 'Revoked {id}.' },
  office: { vi: 'Văn phòng', en: 'Office' },
  now: { vi: 'đang kết nối', en: 'connected now' },
  allWell: { vi: 'Tất cả {n} thiết bị đang hoạt động.', en: 'All {n} devices are working.' },
  offlineSummary: { vi: 'Ngoại tuyến ({n}): {list}', en: 'Offline ({n}): {list}' },
  troubleSummary: { vi: 'Cần xử lý ({n}): {list}', en: 'Needs attention ({n}): {list}' },
  powerBattery: {
    vi: 'Mất điện: máy chủ đang chạy bằng UPS{charge}, từ {since}.',
    en: 'Power cut: the box runs on its UPS{charge}, since {since}.',
  },
  powerLow: {
    vi: 'Mất điện, pin UPS yếu{charge}: máy chủ đã ngừng cấp số từ {since} và chờ có điện lại.',
    en: 'Power cut, UPS battery low{charge}: the box stopped taking requests at {since} until mains is back.',
  },
  powerUnknown: { vi: 'Không đọc được UPS: {reason}', en: 'The UPS cannot be read: {reason}' },
  onCounter: { vi: '{role} quầy {n}', en: '{role}, counter {n}' },
  managed: {
    vi: 'Máy chủ này do {url} quản lý: thêm, thu hồi và ghép nối thiết bị trên trang quản trị đám mây.',
    en: 'This box is managed by {url}: add, revoke and pair devices in the cloud console.',
  },
});

const ROLE_NAMES: Record<string, Bilingual> = {
  kiosk: { vi: 'Máy cấp số', en: 'Ticket kiosk' },
  keypad: { vi: 'Bàn phím gọi số', en: 'Counter keypad' },
  ledboard: { vi: 'Bảng LED', en: 'LED board' },
  display: { vi: 'Màn hình TV', en: 'Lobby TV' },
  announcer: { vi: 'Loa gọi số', en: 'Announcer' },
  rating: { vi: 'Máy đánh giá', en: 'Rating tablet' },
  scanner: { vi: 'Đầu đọc mã vạch', en: 'Barcode scanner' },
  'clerk-panel': { vi: 'Màn hình công chức', en: 'Clerk panel' },
  lookup: { vi: 'Máy tra cứu hồ sơ', en: 'Dossier lookup station' },
};
const PRINTER_STATES: Record<string, Bilingual> = {
  ready: { vi: 'sẵn sàng', en: 'ready' },
  paper_near_end: { vi: 'sắp hết giấy', en: 'paper low' },
  paper_out: { vi: 'hết giấy', en: 'out of paper' },
  cover_open: { vi: 'nắp đang mở', en: 'cover open' },
  offline: { vi: 'không kết nối', en: 'offline' },
  error: { vi: 'đang lỗi', en: 'fault' },
};
const printerWords = (state: string) => {
  const words = PRINTER_STATES[state];
  return words ? pick(words) : state;
};
const roleName = (role: string) => (ROLE_NAMES[role] ? pick(ROLE_NAMES[role]) : role);

interface Peripheral {
  id: string;
  role: string;
  counter: number | null;
  name: string | null;
  driven: boolean;
  connections: number;
  presence: { online: boolean; session: number } | null;
  status: { ok: boolean; detail?: string; printer?: { state: string; canPrint: boolean } } | null;
  lastSeen: string | null;
  screen: string | null;
  pairing: { code: string; expiresAt: string } | null;
}
interface Overview {
  office: { id: string; name: string; timezone: string };
  lanOrigins: string[];
  /** The cloud's URL when the box runs a config its cloud sent: changes are made there. */
  managedBy: string | null;
  roles: string[];
  screenRoles: string[];
  counters: { number: number; name: string }[];
  peripherals: Peripheral[];
  /** The box's power through its UPS (null: it watches none). */
  power: {
    state: 'mains' | 'battery' | 'low_battery' | 'unknown';
    since: string | null;
    chargePct: number | null;
    reason: string | null;
  } | null;
}
type ApiError = { error?: { code: string; message: Bilingual; command?: string } };

let session: { passwordSet: boolean; loggedIn: boolean; configFile: string | null } | null = null;
let overview: Overview | null = null;
let message: { text: string; error: boolean } | null = null;
let unsetCommand = '';
let shownSecret: { id: string; secret: string } | null = null;
let shownCode: { id: string; code: string; expiresAt: string; url: string; qr: string } | null = null;
let confirmRevoke: string | null = null;
let poll: ReturnType<typeof setInterval> | undefined;

const passwordInput = el('input', {
  attrs: { id: 'password', type: 'password', autocomplete: 'current-password' },
});
const newId = el('input', {
  attrs: { id: 'new-id', autocomplete: 'off', maxlength: '23', placeholder: 'tv-2' },
});
const newRole = el('select', { attrs: { id: 'new-role' } });
const newCounter = el('select', { attrs: { id: 'new-counter' } });
const newName = el('input', { attrs: { id: 'new-name', autocomplete: 'off', maxlength: '100' } });

async function api<T>(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ ok: boolean; status: number; body: T & ApiError }> {
  const init: RequestInit = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers = { 'content-type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  const json = (await r.json().catch(() => ({}))) as T & ApiError;
  return { ok: r.ok, status: r.status, body: json };
}

const errorText = (b: ApiError, status: number) => (b.error ? pick(b.error.message) : `HTTP ${status}`);

async function refresh(): Promise<void> {
  const s = await api<NonNullable<typeof session>>('GET', '/api/admin/session');
  session = s.body;
  if (session.loggedIn) {
    const o = await api<Overview>('GET', '/api/admin/peripherals');
    if (o.ok) overview = o.body;
    else if (o.status === 401) session.loggedIn = false;
    else if (o.body.error?.command) unsetCommand = o.body.error.command;
  } else if (!session.passwordSet) {
    const o = await api<Overview>('GET', '/api/admin/peripherals');
    unsetCommand = o.body.error?.command ?? 'lobby device set-admin-password --config <office.yaml>';
  }
  render();
}

async function login(): Promise<void> {
  const r = await api('POST', '/api/admin/login', { password: passwordInput.value });
  passwordInput.value = '';
  message = r.ok ? null : { text: errorText(r.body, r.status), error: true };
  await refresh();
}

/** A pairing URL a screen elsewhere on the LAN can open: never 127.0.0.1 when the box knows better. */
function pairUrl(code: string): string {
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(location.hostname);
  const origin = local && overview?.lanOrigins[0] ? overview.lanOrigins[0] : location.origin;
  return `${origin}/pair?code=${code.replace('-', '')}`;
}

async function showCode(id: string, code: string, expiresAt: string): Promise<void> {
  const url = pairUrl(code);
  const qr = await QRCode.toString(url, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
  shownCode = { id, code, expiresAt, url, qr };
  render();
}

async function pairingCode(id: string): Promise<void> {
  const r = await api<{ code: string; expiresAt: string }>(
    'POST',
    `/api/admin/peripherals/${id}/pairing-code`,
  );
  if (!r.ok) {
    message = { text: errorText(r.body, r.status), error: true };
    return render();
  }
  message = null;
  await showCode(id, r.body.code, r.body.expiresAt);
  void refresh();
}

async function revoke(id: string): Promise<void> {
  if (confirmRevoke !== id) {
    confirmRevoke = id;
    return render();
  }
  confirmRevoke = null;
  const r = await api('DELETE', `/api/admin/peripherals/${id}`);
  message = r.ok
    ? { text: t('revoked', { id }), error: false }
    : { text: errorText(r.body, r.status), error: true };
  if (shownCode?.id === id) shownCode = null;
  await refresh();
}

async function create(): Promise<void> {
  const body: Record<string, unknown> = { id: newId.value.trim(), role: newRole.value };
  if (newCounter.value) body.counter = Number(newCounter.value);
  if (newName.value.trim()) body.name = newName.value.trim();
  const r = await api<{
    peripheral: { id: string };
    secret: string;
    pairing: { code: string; expiresAt: string } | null;
  }>('POST', '/api/admin/peripherals', body);
  if (!r.ok) {
    message = { text: errorText(r.body, r.status), error: true };
    return render();
  }
  message = null;
  newId.value = newName.value = '';
  shownSecret = { id: r.body.peripheral.id, secret: r.body.secret };
  if (r.body.pairing) await showCode(r.body.peripheral.id, r.body.pairing.code, r.body.pairing.expiresAt);
  await refresh();
}

/**
 * A time on the office's clock (24-hour), whatever the admin's computer's time zone is; with the date when
 * it is not today.
 */
function time(iso: string): string {
  const timeZone = overview?.office.timezone ?? 'Asia/Ho_Chi_Minh';
  const at = new Date(iso);
  const day = (d: Date) => new Intl.DateTimeFormat('en-CA', { timeZone }).format(d);
  const hm = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(at);
  if (day(at) === day(new Date())) return hm;
  const date = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    day: '2-digit',
    month: '2-digit',
    year: 'numeric',
  });
  return `${hm} ${date.format(at)}`;
}

const isOnline = (p: Peripheral) => p.connections > 0 || p.presence?.online === true;
const printerTrouble = (p: Peripheral) => p.status?.printer && !p.status.printer.canPrint;
/** What an admin calls the device: its name, else its kind and counter. */
const displayName = (p: Peripheral) =>
  p.name ??
  (p.counter !== null ? t('onCounter', { role: roleName(p.role), n: p.counter }) : roleName(p.role));

/** What the UPS says, when it says something is wrong: a power cut first of all. */
function powerLine(power: Overview['power']): string | null {
  if (!power || power.state === 'mains') return null;
  if (power.state === 'unknown') return t('powerUnknown', { reason: power.reason ?? '' });
  const charge = power.chargePct === null ? '' : ` (${Math.round(power.chargePct)}%)`;
  const since = power.since ? time(power.since) : '';
  return t(power.state === 'battery' ? 'powerBattery' : 'powerLow', { charge, since });
}

/** What is wrong, at the top of the page: a power cut, the devices offline and the printers that cannot print. */
function summary(list: Peripheral[], power: string | null): HTMLElement {
  const down = list.filter((p) => !isOnline(p));
  const trouble = list.filter((p) => isOnline(p) && printerTrouble(p));
  const named = (ps: Peripheral[]) => ps.map((p) => `${displayName(p)} (${p.id})`).join(', ');
  if (down.length === 0 && trouble.length === 0 && power === null)
    return el(
      'section',
      { class: 'summary ok', attrs: { role: 'status' } },
      t('allWell', { n: list.length }),
    );
  return el(
    'section',
    { class: 'summary bad', attrs: { role: 'status' } },
    power !== null && el('p', { class: 'power', text: power }),
    down.length > 0 && el('p', { text: t('offlineSummary', { n: down.length, list: named(down) }) }),
    trouble.length > 0 && el('p', { text: t('troubleSummary', { n: trouble.length, list: named(trouble) }) }),
  );
}

function row(p: Peripheral, managed: boolean): HTMLElement {
  const online = isOnline(p);
  const printer = p.status?.printer;
  const stateBits = [
    p.driven ? `${t('driven')}: ${online ? t('online') : t('offline')}` : online ? t('online') : t('offline'),
    printer
      ? t('printer', {
          state: printerWords(printer.state),
        })
      : null,
    p.status && !p.status.ok && p.status.detail ? p.status.detail : null,
  ].filter(Boolean);
  return el(
    'tr',
    { class: online ? 'online' : 'offline', attrs: { 'data-id': p.id } },
    el('td', { class: 'id', text: p.id }),
    el('td', { class: 'role', text: roleName(p.role) }),
    el('td', { text: p.counter ?? '' }),
    el('td', { class: p.name ? 'name' : 'name derived', text: displayName(p) }),
    el('td', { class: `state${printer && !printer.canPrint ? ' bad' : ''}`, text: stateBits.join(' · ') }),
    el('td', { class: 'last-seen', text: online ? t('now') : p.lastSeen ? time(p.lastSeen) : t('never') }),
    !managed &&
      el(
        'td',
        'row-actions',
        p.pairing && el('span', { class: 'pending-code', text: p.pairing.code }),
        p.screen &&
          !p.driven &&
          el('button', {
            text: t('pairCode'),
            attrs: { 'data-action': 'pair' },
            on: { click: () => void pairingCode(p.id) },
          }),
        el('button', {
          class: confirmRevoke === p.id ? 'danger confirm' : 'danger',
          text: confirmRevoke === p.id ? t('confirmRevoke', { id: p.id }) : t('revoke'),
          attrs: { 'data-action': 'revoke' },
          on: { click: () => void revoke(p.id) },
        }),
      ),
  );
}

function render(): void {
  keepFocus(draw);
}

function draw(): void {
  const head = el('header', 'admin-head', el('h1', { text: t('title') }), langToggle());
  const msg =
    message &&
    el('p', {
      class: message.error ? 'message error' : 'message',
      text: message.text,
      attrs: { role: 'status' },
    });
  if (!session) return fill(document.body, el('main', 'admin', head));
  if (!session.passwordSet) {
    return fill(
      document.body,
      el(
        'main',
        'admin',
        head,
        el('h2', { text: t('unset') }),
        el('p', { text: t('unsetHelp') }),
        el('pre', { class: 'command', text: unsetCommand }),
      ),
    );
  }
  if (!session.loggedIn || !overview) {
    return fill(
      document.body,
      el(
        'main',
        'admin',
        head,
        el(
          'form',
          { class: 'login', on: { submit: (e) => (e.preventDefault(), void login()) } },
          el('label', { text: t('password'), attrs: { for: 'password' } }),
          passwordInput,
          el('button', { class: 'primary', text: t('signIn'), attrs: { type: 'submit' } }),
        ),
        msg,
      ),
    );
  }
  const o = overview;
  const keepRole = newRole.value;
  fill(newRole, ...o.roles.map((r) => el('option', { text: roleName(r), attrs: { value: r } })));
  newRole.value = keepRole || 'display';
  const keepCounter = newCounter.value;
  fill(
    newCounter,
    el('option', { text: t('none'), attrs: { value: '' } }),
    ...o.counters.map((c) => el('option', { text: c.name, attrs: { value: String(c.number) } })),
  );
  newCounter.value = keepCounter;
  const codeBox = el('div', 'qr');
  if (shownCode) codeBox.innerHTML = shownCode.qr; // SVG from the qrcode library
  fill(
    document.body,
    el(
      'main',
      'admin',
      el(
        'header',
        'admin-head',
        el('h1', { text: `${t('title')} — ${o.office.name}` }),
        langToggle(),
        el('button', {
          class: 'sign-out',
          text: t('signOut'),
          on: { click: () => void api('POST', '/api/admin/logout').then(refresh) },
        }),
      ),
      o.managedBy && el('p', { class: 'managed', text: t('managed', { url: o.managedBy }) }),
      summary(o.peripherals, powerLine(o.power)),
      msg,
      shownSecret &&
        el(
          'div',
          'shown secret-box',
          el('p', { text: t('secret', { id: shownSecret.id }) }),
          el('code', { class: 'secret', text: shownSecret.secret }),
          el('button', { text: t('close'), on: { click: () => ((shownSecret = null), render()) } }),
        ),
      shownCode &&
        el(
          'div',
          'shown code-box',
          el('h2', { text: t('code', { id: shownCode.id }) }),
          el('div', { class: 'big-code', text: shownCode.code }),
          codeBox,
          el('p', { text: t('codeHelp', { url: shownCode.url, at: time(shownCode.expiresAt) }) }),
          el('button', { text: t('close'), on: { click: () => ((shownCode = null), render()) } }),
        ),
      el(
        'table',
        'peripherals',
        el(
          'thead',
          '',
          el(
            'tr',
            '',
            ...[t('id'), t('role'), t('counter'), t('name'), t('state'), t('lastSeen')]
              .concat(o.managedBy ? [] : [t('actions')])
              .map((h) => el('th', { text: h })),
          ),
        ),
        el('tbody', '', ...o.peripherals.map((p) => row(p, o.managedBy !== null))),
      ),
      !o.managedBy &&
        el(
          'form',
          { class: 'add', on: { submit: (e) => (e.preventDefault(), void create()) } },
          el('h2', { text: t('add') }),
          el('label', '', t('id'), newId),
          el('label', '', t('role'), newRole),
          el('label', '', t('counter'), newCounter),
          el('label', '', t('name'), newName),
          el('button', { class: 'primary', text: t('create'), attrs: { type: 'submit' } }),
        ),
    ),
  );
}

onLangChange(render);
render();
void refresh().then(() => {
  poll = setInterval(() => {
    if (session?.loggedIn && !confirmRevoke) void refresh();
  }, 3000);
});
window.addEventListener('beforeunload', () => clearInterval(poll));
