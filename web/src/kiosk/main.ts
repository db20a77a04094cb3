// The ticket kiosk: one large button per service with its queue, a path for priority tickets, refusals
// explained, the printer's trouble handled by showing the ticket (and its QR code) on screen.
import QRCode from 'qrcode';
import type {
  DeviceStatus,
  OfficeStateMsg,
  PriorityReason,
  Reply,
  ServiceStateMsg,
} from '../../../protocol/messages.js';
import { ticketStatusUrl, topics } from '../../../protocol/topics.js';
import { authHeader, type Credential } from '../shared/credential.js';
import { el, fill } from '../shared/dom.js';
import { currentLang, dictionary, langToggle, onLangChange, pick, setLang } from '../shared/i18n.js';
import { OfflineError } from '../shared/link.js';
import {
  boxStateBanner,
  connectionBanner,
  credentialOrPairPage,
  loadSettings,
  officeClock,
  startLink,
  waitWords,
  type Settings,
} from '../shared/screen.js';
import '../shared/base.css';
import './kiosk.css';

const t = dictionary({
  choose: { vi: 'Mời chọn lĩnh vực cần giải quyết', en: 'Please choose a service' },
  waiting: { vi: 'Đang chờ: {n}', en: 'Waiting: {n}' },
  office_closed: { vi: 'Ngoài giờ cấp số', en: 'Not issuing now' },
  after_cutoff: { vi: 'Đã hết giờ cấp số buổi này', en: 'No more tickets this session' },
  quota_reached: { vi: 'Đã hết số trong ngày', en: 'Daily quota reached' },
  numbers_exhausted: { vi: 'Đã hết số trong ngày', en: 'No numbers left today' },
  notAccepting: { vi: 'Tạm ngừng cấp số', en: 'Not issuing' },
  priorityButton: {
    vi: 'Ưu tiên: người cao tuổi, người khuyết tật, phụ nữ mang thai, người có con nhỏ',
    en: 'Priority: elderly, disability, pregnancy, small children',
  },
  priorityTitle: { vi: 'Chọn đối tượng ưu tiên', en: 'Who is the priority ticket for?' },
  priorityChosen: { vi: 'Vé ưu tiên: {reason}', en: 'Priority ticket: {reason}' },
  cancelPriority: { vi: 'Huỷ ưu tiên', en: 'Cancel priority' },
  elderly: { vi: 'Người cao tuổi', en: 'Elderly person' },
  disability: { vi: 'Người khuyết tật', en: 'Person with a disability' },
  pregnant: { vi: 'Phụ nữ mang thai', en: 'Pregnant woman' },
  child: { vi: 'Người có con nhỏ', en: 'Person with a small child' },
  back: { vi: 'Quay lại', en: 'Back' },
  issuing: { vi: 'Đang cấp số…', en: 'Issuing your ticket…' },
  yourNumber: { vi: 'Số thứ tự của bạn', en: 'Your number' },
  ahead: { vi: 'Số người chờ trước bạn: {n}', en: 'People ahead of you: {n}' },
  estimateUnder: { vi: 'Thời gian chờ dự kiến: dưới 5 phút', en: 'Estimated wait: under 5 min' },
  estimate: { vi: 'Thời gian chờ dự kiến: khoảng {n} phút', en: 'Estimated wait: about {n} min' },
  takePaper: { vi: 'Vui lòng nhận phiếu in bên dưới.', en: 'Please take your printed ticket below.' },
  screenOnly: {
    vi: 'Máy in không in được phiếu: hãy ghi nhớ hoặc chụp lại số này.',
    en: 'The printer cannot print: please note or photograph this number.',
  },
  screenKiosk: {
    vi: 'Máy này không in phiếu: số thứ tự hiện trên màn hình để bạn ghi lại hoặc chụp ảnh.',
    en: 'This kiosk prints no tickets: your number is shown on screen to note or photograph.',
  },
  photograph: {
    vi: 'Hãy ghi nhớ hoặc chụp ảnh số này (hoặc quét mã QR).',
    en: 'Please note or photograph this number (or scan the QR code).',
  },
  scanQrText: {
    vi: 'Quét mã QR để lưu số thứ tự vào điện thoại.',
    en: 'Scan the QR code to keep your number on your phone.',
  },
  scanQr: {
    vi: 'Quét mã QR để theo dõi số của bạn trên điện thoại.',
    en: 'Scan the QR code to follow your number on your phone.',
  },
  done: { vi: 'Xong', en: 'Done' },
  printerPaperLow: { vi: 'Máy in sắp hết giấy.', en: 'The printer is low on paper.' },
  printerProblem: {
    vi: '{problem} Số thứ tự sẽ hiển thị trên màn hình thay cho phiếu in.',
    en: '{problem} Your number will be shown on screen instead of printed.',
  },
  paper_out: { vi: 'Máy in đã hết giấy.', en: 'The printer is out of paper.' },
  cover_open: { vi: 'Nắp máy in đang mở.', en: 'The printer cover is open.' },
  offline: { vi: 'Máy in không hoạt động.', en: 'The printer is offline.' },
  error: { vi: 'Máy in đang gặp lỗi.', en: 'The printer has a fault.' },
  noReply: {
    vi: 'Không nhận được trả lời từ máy chủ. Vui lòng thử lại hoặc liên hệ cán bộ.',
    en: 'The box did not answer. Please try again or ask staff.',
  },
  sorry: { vi: 'Không cấp được số', en: 'No ticket issued' },
  smsOffer: { vi: 'Nhắn tin khi sắp đến lượt', en: 'Text me when my turn is near' },
  smsTitle: { vi: 'Nhập số điện thoại di động', en: 'Enter your mobile number' },
  smsHelp: {
    vi: 'Chỉ dùng cho số {number}: nhắn tin khi sắp đến lượt và khi được mời. Số điện thoại được xoá khi xong lượt.',
    en: 'For number {number} only: a message when your turn is near and when called. The phone number is deleted afterwards.',
  },
  smsSend: { vi: 'Đăng ký nhắn tin', en: 'Text me' },
  smsDelete: { vi: 'Xoá', en: 'Delete' },
  smsSending: { vi: 'Đang gửi…', en: 'Sending…' },
  smsDone: {
    vi: 'Sẽ nhắn tin đến số ···{last} khi sắp đến lượt bạn.',
    en: 'We will text ···{last} when your turn is near.',
  },
});

const REASONS: PriorityReason[] = ['elderly', 'disability', 'pregnant', 'child'];
interface IssuedTicket {
  ticketId: string;
  number: string;
  serviceName: string;
  priority: PriorityReason | null;
  ahead: number;
  estimatedWaitMin: number | null;
}
type View =
  | { kind: 'start' }
  | { kind: 'priority' }
  | { kind: 'issuing' }
  | { kind: 'ticket'; ticket: IssuedTicket; onScreen: boolean; qr: string | null; smsTo?: string }
  | { kind: 'sms'; back: View & { kind: 'ticket' }; phone: string; sending: boolean; error: string | null }
  | { kind: 'error'; message: string };

async function main(): Promise<void> {
  const cred = credentialOrPairPage('kiosk');
  if (!cred) return;
  const link = startLink(cred);
  let settings: Settings | null = null;
  let office: OfficeStateMsg | null = null;
  const services = new Map<string, ServiceStateMsg>();
  let printer: DeviceStatus['printer'] | null = null;
  let view: View = { kind: 'start' };
  let priority: PriorityReason | null = null;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;

  const officeName = el('div', 'office-name');
  const clock = el('div', 'clock');
  const body = el('main', 'kiosk-body');
  // The box cannot take tickets (its disk is full, or it is restarting): say so and grey the buttons.
  const box = boxStateBanner(link, () => {
    if (view.kind === 'start') render();
  });
  fill(
    document.body,
    el(
      'div',
      'kiosk',
      el('header', 'kiosk-head', officeName, clock, langToggle()),
      body,
      box.banner,
      connectionBanner(link),
    ),
  );

  /** A kiosk with no printer at all (a browser kiosk): every ticket is on screen, with its QR code. */
  const screenOnly = () => settings?.kioskPrinter === false && printer === null;
  const canPrint = () => !screenOnly() && printer?.canPrint !== false;

  function goStart(): void {
    view = { kind: 'start' };
    priority = null;
    render();
  }

  /** After the idle time, or "Xong" on a ticket, the next citizen finds the start screen in Vietnamese. */
  function nextCitizen(): void {
    setLang('vi'); // renders through onLangChange
    goStart();
  }

  /** Anything but the untouched start screen (in Vietnamese) goes back to it after the idle time. */
  function armIdle(): void {
    clearTimeout(idleTimer);
    if (view.kind === 'start' && priority === null && currentLang() === 'vi') return;
    if (view.kind === 'issuing') return;
    idleTimer = setTimeout(nextCitizen, (settings?.kioskIdleSeconds ?? 20) * 1000);
  }
  document.addEventListener('pointerdown', armIdle, { capture: true });

  /**
   * A press whose outcome the box could not know (`storage_failed`: it is restarting from its log) is sent
   * again with the same id until the box says what happened, for up to a minute: a ticket that did commit
   * comes back (`duplicate`), never a second one (protocol/README.md, 3.6).
   */
  async function requestUntilKnown(body: Record<string, unknown>): Promise<Reply> {
    const until = Date.now() + 60_000;
    let restarting = false; // told storage_failed: the box goes down, so no reply for a while is expected
    for (;;) {
      const reply = await link.request(topics.ticketRequest(), body).catch((err: unknown) => {
        if (restarting && err instanceof OfflineError && Date.now() < until) return null;
        throw err;
      });
      if (reply && (reply.error?.code !== 'storage_failed' || Date.now() >= until)) return reply;
      restarting = true;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  async function issue(service: string, delivery: 'print' | 'screen'): Promise<void> {
    view = { kind: 'issuing' };
    render();
    try {
      const body: Record<string, unknown> = { service, delivery, id: link.nextId() };
      if (priority) body.priority = priority;
      const reply = await requestUntilKnown(body);
      if (reply.status === 'error' && reply.error?.code === 'printer_unavailable' && delivery === 'print') {
        // The printer failed between its last status and this press: show the number instead.
        return issue(service, 'screen');
      }
      if (reply.status === 'error') {
        view = { kind: 'error', message: reply.error ? pick(reply.error.message) : t('sorry') };
      } else {
        const ticket = (reply.data?.ticket ?? {}) as IssuedTicket;
        const onScreen = delivery === 'screen';
        let qr: string | null = null;
        // With a public status page the QR code opens it; without one (a box-local URL would work only on
        // the office LAN) it holds the ticket itself as text, which a phone's camera keeps.
        if (onScreen)
          qr = await QRCode.toString(
            settings?.publicUrl && office
              ? ticketStatusUrl(
                  settings.publicUrl,
                  office.id,
                  ticket.ticketId,
                  await ticketKey(ticket.ticketId),
                )
              : ticketText(ticket),
            { type: 'svg', margin: 1, errorCorrectionLevel: 'M' },
          );
        view = { kind: 'ticket', ticket, onScreen, qr };
      }
    } catch (err) {
      view = { kind: 'error', message: err instanceof OfflineError ? t('noReply') : String(err) };
    }
    render();
  }

  /** The key the ticket's QR code carries (its holder may rate the visit from the phone); null if unknown. */
  async function ticketKey(ticketId: string): Promise<string | null> {
    try {
      const r = await fetch(`/api/screens/ticket-key?ticketId=${encodeURIComponent(ticketId)}`, {
        headers: { authorization: authHeader(cred as Credential) },
        cache: 'no-store',
      });
      return r.ok ? ((await r.json()) as { key: string }).key : null;
    } catch {
      return null;
    }
  }

  /** The ticket as a QR code's text: office, number, service, date and time on the office clock. */
  function ticketText(tk: IssuedTicket): string {
    const { time, date } = officeClock(new Date(), office?.timezone, 'vi');
    const name = office?.name ?? settings?.officeName ?? '';
    return `${name}\nSố thứ tự: ${tk.number}\n${tk.serviceName}\n${time} ${date}`;
  }

  function printerNotice(): HTMLElement | null {
    if (screenOnly()) return el('div', { class: 'printer-notice', text: t('screenKiosk') });
    if (!printer) return null;
    if (!printer.canPrint) {
      const problem =
        printer.state in { paper_out: 1, cover_open: 1, offline: 1, error: 1 }
          ? t(printer.state as 'paper_out' | 'cover_open' | 'offline' | 'error')
          : t('error');
      return el('div', {
        class: 'printer-notice bad',
        text: t('printerProblem', { problem }),
        attrs: { role: 'status' },
      });
    }
    if (printer.state === 'paper_near_end')
      return el('div', { class: 'printer-notice', text: t('printerPaperLow') });
    return null;
  }

  function serviceButton(id: string, name: string): HTMLElement {
    const s = services.get(id);
    const accepting = s?.accepting ?? false;
    const detail = !s
      ? ''
      : !accepting
        ? s.refusal &&
          s.refusal in { office_closed: 1, after_cutoff: 1, quota_reached: 1, numbers_exhausted: 1 }
          ? t(s.refusal as 'office_closed')
          : t('notAccepting')
        : (waitWords(s.estimatedWaitMin, s.waiting) ?? '');
    const b = el(
      'button',
      {
        class: `service${accepting ? '' : ' closed'}`,
        attrs: { 'data-service': id, type: 'button' },
        on: { click: () => void issue(id, canPrint() ? 'print' : 'screen') },
      },
      el('span', { class: 'service-name', text: s?.name ?? name }),
      el('span', { class: 'service-waiting', text: t('waiting', { n: s?.waiting ?? 0 }) }),
      el('span', { class: 'service-detail', text: detail }),
    );
    b.disabled = !accepting || link.state !== 'online' || !box.accepting();
    return b;
  }

  function render(): void {
    officeName.textContent = office?.name ?? settings?.officeName ?? '';
    renderClock();
    switch (view.kind) {
      case 'start': {
        const list = office?.services ?? [...services.values()].map((s) => ({ id: s.service, name: s.name }));
        fill(
          body,
          el('h1', { text: t('choose') }),
          printerNotice(),
          priority &&
            el(
              'div',
              'priority-chosen',
              el('span', { text: t('priorityChosen', { reason: t(priority) }) }),
              el('button', { class: 'secondary', text: t('cancelPriority'), on: { click: goStart } }),
            ),
          el('div', 'services', ...list.map((s) => serviceButton(s.id, s.name))),
          !priority &&
            el('button', {
              class: 'priority-button',
              text: t('priorityButton'),
              on: {
                click: () => {
                  view = { kind: 'priority' };
                  render();
                },
              },
            }),
        );
        break;
      }
      case 'priority':
        fill(
          body,
          el('h1', { text: t('priorityTitle') }),
          el(
            'div',
            'reasons',
            ...REASONS.map((r) =>
              el('button', {
                class: 'reason',
                text: t(r),
                attrs: { 'data-reason': r },
                on: {
                  click: () => {
                    priority = r;
                    view = { kind: 'start' };
                    render();
                  },
                },
              }),
            ),
          ),
          el('button', { class: 'secondary', text: t('back'), on: { click: goStart } }),
        );
        break;
      case 'issuing':
        fill(body, el('div', { class: 'issuing', text: t('issuing') }));
        break;
      case 'ticket': {
        const tk = view.ticket;
        const qr = el('div', 'qr');
        if (view.qr) qr.innerHTML = view.qr; // SVG from the qrcode library: our URL, escaped
        fill(
          body,
          el(
            'div',
            'ticket',
            // The view's heading is the number itself: "Số của quý khách A001" to a screen reader.
            el(
              'h1',
              'ticket-heading',
              el('span', { class: 'ticket-label', text: t('yourNumber') }),
              el('span', { class: 'ticket-number', text: tk.number }),
            ),
            el('div', { class: 'ticket-service', text: tk.serviceName }),
            tk.priority && el('div', { class: 'ticket-priority', text: t(tk.priority) }),
            el('div', { class: 'ticket-ahead', text: t('ahead', { n: tk.ahead }) }),
            tk.estimatedWaitMin !== null &&
              tk.ahead > 0 &&
              el('div', {
                class: 'ticket-wait',
                text:
                  tk.estimatedWaitMin < 5 ? t('estimateUnder') : t('estimate', { n: tk.estimatedWaitMin }),
              }),
            el('p', {
              class: view.onScreen ? 'ticket-how warn' : 'ticket-how',
              text: !view.onScreen ? t('takePaper') : screenOnly() ? t('photograph') : t('screenOnly'),
            }),
            view.qr && qr,
            view.qr &&
              el('p', { class: 'ticket-qr-help', text: settings?.publicUrl ? t('scanQr') : t('scanQrText') }),
            view.smsTo
              ? el('p', {
                  class: 'sms-done',
                  text: t('smsDone', { last: view.smsTo }),
                  attrs: { role: 'status' },
                })
              : settings?.sms &&
                  el('button', {
                    class: 'secondary sms-offer',
                    text: t('smsOffer'),
                    on: { click: () => smsStart(view as View & { kind: 'ticket' }) },
                  }),
            el('button', { class: 'primary done', text: t('done'), on: { click: nextCitizen } }),
          ),
        );
        break;
      }
      case 'sms':
        renderSms(view);
        break;
      case 'error':
        fill(
          body,
          el(
            'div',
            'refusal',
            el('h1', { text: t('sorry') }),
            el('p', { class: 'refusal-message', text: view.message, attrs: { role: 'alert' } }),
            el('button', { class: 'primary', text: t('back'), on: { click: goStart } }),
          ),
        );
        break;
    }
    armIdle();
  }

  // ---- SMS when the turn is near (issue 14): the number goes to the box over HTTP, for this ticket only ----

  function smsStart(back: View & { kind: 'ticket' }): void {
    view = { kind: 'sms', back, phone: '', sending: false, error: null };
    render();
  }

  function renderSms(v: View & { kind: 'sms' }): void {
    const press = (digit: string) => () => {
      if (v.phone.length < 15) v.phone += digit;
      render();
    };
    const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '+', '0'].map((d) =>
      el('button', {
        class: 'key',
        text: d,
        attrs: { type: 'button', 'data-key': d },
        on: { click: press(d) },
      }),
    );
    fill(
      body,
      el(
        'div',
        'sms',
        el('h1', { text: t('smsTitle') }),
        el('p', { class: 'sms-help', text: t('smsHelp', { number: v.back.ticket.number }) }),
        el('output', { class: 'sms-phone', text: v.phone || '—', attrs: { 'aria-live': 'polite' } }),
        el(
          'div',
          'keys',
          ...keys,
          el('button', {
            class: 'key',
            text: t('smsDelete'),
            attrs: { type: 'button', 'data-key': 'delete' },
            on: {
              click: () => {
                v.phone = v.phone.slice(0, -1);
                render();
              },
            },
          }),
        ),
        v.error && el('p', { class: 'refusal-message', text: v.error, attrs: { role: 'alert' } }),
        el('button', {
          class: 'primary sms-send',
          text: v.sending ? t('smsSending') : t('smsSend'),
          attrs: v.sending || v.phone.length < 9 ? { disabled: '' } : {},
          on: { click: () => void smsSend(v) },
        }),
        el('button', {
          class: 'secondary',
          text: t('back'),
          on: {
            click: () => {
              view = v.back;
              render();
            },
          },
        }),
      ),
    );
  }

  async function smsSend(v: View & { kind: 'sms' }): Promise<void> {
    v.sending = true;
    render();
    try {
      const r = await fetch('/api/screens/sms', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: authHeader(cred as Credential) },
        body: JSON.stringify({ ticketId: v.back.ticket.ticketId, phone: v.phone }),
      });
      if (r.ok) {
        // Only the last digits stay on screen; the number itself is dropped with this view.
        view = { ...v.back, smsTo: v.phone.slice(-3) };
      } else {
        const body = (await r.json().catch(() => ({}))) as {
          error?: { message?: { vi: string; en: string } };
        };
        v.error = body.error?.message ? pick(body.error.message) : t('noReply');
        v.sending = false;
      }
    } catch {
      v.error = t('noReply');
      v.sending = false;
    }
    render();
  }

  function renderClock(): void {
    const { time } = officeClock(new Date(), office?.timezone, currentLang());
    clock.textContent = time;
  }

  link.on('lobby/v1/state/office', (_t, b) => {
    office = b as OfficeStateMsg;
    if (view.kind === 'start') render();
  });
  link.on('lobby/v1/state/services/+', (_t, b) => {
    const s = b as ServiceStateMsg;
    services.set(s.service, s);
    if (view.kind === 'start') render();
  });
  link.on(topics.status(cred.deviceId), (_t, b) => {
    printer = (b as DeviceStatus).printer ?? null;
    if (view.kind === 'start') render();
  });
  link.onState(() => {
    if (view.kind === 'start') render();
  });
  onLangChange(render);
  setInterval(renderClock, 1000);
  render();
  settings = await loadSettings(cred);
  render();
}

void main();
