// The dossier lookup station: a TV with a barcode scanner, or a touch kiosk. A citizen scans the barcode or
// QR code on a receipt (a USB scanner types it as keystrokes, then Enter) or types the code, and sees the
// dossier's status in large Vietnamese text, with no personal data; the screen goes back to the start by
// itself. The box answers (protocol/README.md, "Dossier lookup"), from the cloud or from what it kept, and
// says how old its answer is. A lookup is a read: the box answers it on a full disk or a low battery too, so
// this screen shows no box-state banner.
import type { DossierLookupResult } from '../../../protocol/dossier-lookup.js';
import type { OfficeStateMsg, Reply } from '../../../protocol/messages.js';
import { topics } from '../../../protocol/topics.js';
import { el, fill } from '../shared/dom.js';
import { ageWords, dayText, momentText, statusWords } from '../shared/dossier-words.js';
import { currentLang, dictionary, langToggle, onLangChange, pick, setLang } from '../shared/i18n.js';
import { OfflineError } from '../shared/link.js';
import {
  connectionBanner,
  credentialOrPairPage,
  loadSettings,
  officeClock,
  startLink,
  type Settings,
} from '../shared/screen.js';
import '../shared/base.css';
import './lookup.css';

const t = dictionary({
  title: { vi: 'Tra cứu hồ sơ', en: 'Dossier lookup' },
  howTo: {
    vi: 'Đưa mã vạch hoặc mã QR trên giấy biên nhận vào đầu đọc, hoặc nhập mã hồ sơ rồi bấm Tra cứu.',
    en: 'Hold the barcode or QR code of your receipt to the scanner, or type the dossier code and press Look up.',
  },
  codeLabel: { vi: 'Mã hồ sơ (in trên giấy biên nhận)', en: 'Dossier code (printed on the receipt)' },
  example: { vi: 'Ví dụ: 000.00.04.H12-261122-0015', en: 'For example: 000.00.04.H12-261122-0015' },
  search: { vi: 'Tra cứu', en: 'Look up' },
  searching: { vi: 'Đang tra cứu hồ sơ {code}…', en: 'Looking up dossier {code}…' },
  again: { vi: 'Tra cứu hồ sơ khác', en: 'Look up another dossier' },
  code: { vi: 'Mã hồ sơ', en: 'Dossier code' },
  procedure: { vi: 'Thủ tục', en: 'Procedure' },
  service: { vi: 'Lĩnh vực', en: 'Field' },
  receivedAt: { vi: 'Ngày tiếp nhận', en: 'Received on' },
  dueAt: { vi: 'Ngày hẹn trả kết quả', en: 'Result due on' },
  returnedAt: { vi: 'Ngày trả kết quả', en: 'Result collected on' },
  status: { vi: 'Tình trạng', en: 'Status' },
  readyBanner: {
    vi: 'Hồ sơ đã có kết quả. Mời ông/bà mang giấy biên nhận đến quầy trả kết quả để nhận.',
    en: 'The result is ready. Please bring your receipt to the results counter to collect it.',
  },
  overdueBanner: {
    vi: 'Hồ sơ đã quá ngày hẹn trả. Xin lỗi ông/bà; vui lòng liên hệ cán bộ để được hướng dẫn.',
    en: 'The dossier is past its due date. We apologise; please ask staff for help.',
  },
  moreInfoBanner: {
    vi: 'Hồ sơ cần bổ sung giấy tờ. Vui lòng liên hệ cán bộ tiếp nhận.',
    en: 'The dossier needs more documents. Please ask the receiving staff.',
  },
  fresh: { vi: 'Thông tin cập nhật lúc {at}.', en: 'Information as of {at}.' },
  stale: {
    vi: 'Hiện không kết nối được hệ thống một cửa điện tử. Đây là thông tin đã lưu lúc {at} ({age} trước), có thể đã thay đổi.',
    en: 'The one-stop system cannot be reached now. This is the information saved at {at} ({age} ago); it may have changed.',
  },
  sorry: { vi: 'Không tra cứu được', en: 'No answer' },
  notFoundTitle: { vi: 'Không tìm thấy hồ sơ', en: 'Dossier not found' },
  badCodeTitle: { vi: 'Mã hồ sơ không đúng', en: 'Not a dossier code' },
  busyTitle: { vi: 'Vui lòng chờ', en: 'Please wait' },
  noReply: {
    vi: 'Không nhận được trả lời từ máy chủ. Vui lòng thử lại hoặc hỏi cán bộ.',
    en: 'The box did not answer. Please try again or ask staff.',
  },
  backSoon: { vi: 'Màn hình sẽ tự quay lại sau {n} giây.', en: 'This screen goes back in {n} seconds.' },
});

type View =
  | { kind: 'start' }
  | { kind: 'searching'; code: string }
  | { kind: 'found'; result: DossierLookupResult; receivedAt: number }
  | { kind: 'refused'; code: string; message: string };

/** Printable keys a scanner types: a code is ASCII letters, digits and a few separators. */
const CODE_KEY = /^[A-Za-z0-9.\-_/]$/;

async function main(): Promise<void> {
  const cred = credentialOrPairPage('lookup');
  if (!cred) return;
  const link = startLink(cred);
  let settings: Settings | null = null;
  let office: OfficeStateMsg | null = null;
  let view: View = { kind: 'start' };
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  let countdown: ReturnType<typeof setInterval> | undefined;
  /** Keys a scanner typed while no input had the focus (on a result): the next code. */
  let typed = '';
  const query = new URLSearchParams(location.search);
  const idleSeconds = () => Number(query.get('idle')) || Math.max(30, settings?.kioskIdleSeconds ?? 30);

  const officeName = el('div', 'office-name');
  const clock = el('div', 'clock');
  const body = el('main', 'lookup-body');
  fill(
    document.body,
    el(
      'div',
      'lookup',
      el('header', 'lookup-head', officeName, clock, langToggle()),
      body,
      connectionBanner(link),
    ),
  );

  const zone = () => office?.timezone ?? 'Asia/Ho_Chi_Minh';
  const nameOfOffice = () => office?.name ?? settings?.officeName ?? '';
  const serviceName = (id: string) => office?.services.find((s) => s.id === id)?.name ?? id;

  function goStart(): void {
    clearTimeout(idleTimer);
    clearInterval(countdown);
    view = { kind: 'start' };
    typed = '';
    if (currentLang() !== 'vi')
      setLang('vi'); // renders through onLangChange
    else render();
  }

  /** A result or a refusal goes back to the start screen (in Vietnamese) by itself. */
  function armIdle(): void {
    clearTimeout(idleTimer);
    clearInterval(countdown);
    if (view.kind === 'start' || view.kind === 'searching') return;
    const until = Date.now() + idleSeconds() * 1000;
    idleTimer = setTimeout(goStart, idleSeconds() * 1000);
    const tick = () => {
      const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      const note = document.querySelector('.back-soon');
      if (note) note.textContent = t('backSoon', { n: left });
    };
    countdown = setInterval(tick, 1000);
  }
  document.addEventListener('pointerdown', () => view.kind !== 'start' && armIdle(), { capture: true });

  /** Ids of the lookups this page sent: any other lookup answer on the reply topic is the wired scanner's. */
  const sent = new Set<string>();

  async function lookup(raw: string): Promise<void> {
    const code = raw.trim();
    if (!code) return;
    view = { kind: 'searching', code };
    render();
    try {
      const id = link.nextId();
      sent.add(id);
      show(await link.request(topics.dossierLookup(), { id, code }));
    } catch (err) {
      const message = err instanceof OfflineError ? t('noReply') : String(err);
      view = { kind: 'refused', code: 'no_reply', message };
      render();
      armIdle();
    }
  }

  function show(reply: Reply): void {
    if (reply.status === 'ok' && reply.data) {
      view = { kind: 'found', result: reply.data as unknown as DossierLookupResult, receivedAt: Date.now() };
    } else {
      const message = reply.error ? pick(reply.error.message) : t('sorry');
      view = { kind: 'refused', code: reply.error?.code ?? '', message };
    }
    render();
    armIdle();
  }

  // A scanner wired to the box (serial): the box looks the code up as this station and publishes the answer
  // on its reply topic.
  link.on(topics.reply(cred.deviceId), (_t, body) => {
    const r = body as Reply;
    if (r.topic === topics.dossierLookup() && (r.id === null || !sent.has(r.id))) show(r);
  });

  // A USB scanner is a keyboard: on a result (no input on screen) its keystrokes make the next code, and
  // its Enter looks it up, so a citizen can scan without touching anything.
  document.addEventListener('keydown', (e) => {
    if (view.kind === 'start') {
      // Touched elsewhere on the start screen: the scanner's keys still go into the code field.
      const input = document.getElementById('dossier-code');
      if (input && document.activeElement !== input && CODE_KEY.test(e.key)) input.focus();
      return;
    }
    if (view.kind === 'searching') return;
    if (e.key === 'Enter') {
      if (typed) void lookup(typed);
      typed = '';
    } else if (CODE_KEY.test(e.key)) typed += e.key;
  });

  function startView(): HTMLElement[] {
    const input = el('input', {
      attrs: {
        id: 'dossier-code',
        name: 'code',
        autocomplete: 'off',
        autocapitalize: 'characters',
        spellcheck: 'false',
        maxlength: '64',
        inputmode: 'text',
        'aria-describedby': 'code-example',
      },
    });
    const form = el(
      'form',
      { class: 'lookup-form', attrs: { role: 'search' } },
      el('label', { text: t('codeLabel'), attrs: { for: 'dossier-code' } }),
      input,
      el('p', { class: 'example', text: t('example'), attrs: { id: 'code-example' } }),
      el('button', { class: 'primary', text: t('search'), attrs: { type: 'submit' } }),
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void lookup(input.value);
    });
    // The scanner types into the field wherever the citizen last touched.
    setTimeout(() => input.focus(), 0);
    return [el('p', { class: 'how-to', text: t('howTo') }), form];
  }

  function row(label: string, value: string, cls = ''): HTMLElement {
    return el('div', { class: `row ${cls}`.trim() }, el('dt', { text: label }), el('dd', { text: value }));
  }

  function foundView(result: DossierLookupResult, receivedAt: number): HTMLElement[] {
    const d = result.dossier;
    const age = result.ageSeconds + (Date.now() - receivedAt) / 1000;
    const state = d.readyToCollect ? 'ready' : d.overdue ? 'overdue' : d.status;
    const banner = d.readyToCollect
      ? t('readyBanner')
      : d.overdue
        ? t('overdueBanner')
        : d.status === 'additional_info'
          ? t('moreInfoBanner')
          : null;
    return [
      el(
        'section',
        { class: 'dossier', attrs: { 'data-state': state, 'aria-live': 'polite' } },
        el('p', { class: 'dossier-status', text: statusWords(d.status) }),
        banner ? el('p', { class: 'dossier-banner', text: banner }) : null,
        el(
          'dl',
          'dossier-facts',
          row(t('code'), d.code, 'code'),
          row(t('procedure'), d.procedureName ?? d.procedure),
          row(t('service'), serviceName(d.service)),
          row(t('receivedAt'), dayText(d.receivedAt, zone())),
          row(t('dueAt'), dayText(d.dueAt, zone()), d.overdue ? 'late' : ''),
          d.returnedAt ? row(t('returnedAt'), dayText(d.returnedAt, zone())) : null,
        ),
        el('p', {
          class: `freshness ${result.cloudReachable ? '' : 'stale'}`.trim(),
          attrs: { 'data-age-seconds': String(Math.round(age)) },
          text: result.cloudReachable
            ? t('fresh', { at: momentText(result.fetchedAt, zone()) })
            : t('stale', { at: momentText(result.fetchedAt, zone()), age: ageWords(age) }),
        }),
      ),
      again(),
    ];
  }

  function again(): HTMLElement {
    return el(
      'div',
      'again',
      el('button', { class: 'primary', text: t('again'), on: { click: goStart } }),
      el('p', { class: 'back-soon', text: t('backSoon', { n: idleSeconds() }) }),
    );
  }

  function refusedView(code: string, message: string): HTMLElement[] {
    const title =
      code === 'dossier_not_found'
        ? t('notFoundTitle')
        : code === 'invalid_dossier_code' || code === 'schema_invalid'
          ? t('badCodeTitle')
          : code === 'lookup_rate_limited'
            ? t('busyTitle')
            : t('sorry');
    return [
      el(
        'section',
        { class: 'refusal', attrs: { role: 'alert', 'data-code': code } },
        el('h2', { text: title }),
        el('p', { text: message }),
        code === 'invalid_dossier_code' || code === 'schema_invalid' ? el('p', { text: t('example') }) : null,
      ),
      again(),
    ];
  }

  function render(): void {
    officeName.textContent = nameOfOffice();
    const content =
      view.kind === 'start'
        ? startView()
        : view.kind === 'searching'
          ? [
              el('p', {
                class: 'searching',
                attrs: { role: 'status' },
                text: t('searching', { code: view.code }),
              }),
            ]
          : view.kind === 'found'
            ? foundView(view.result, view.receivedAt)
            : refusedView(view.code, view.message);
    fill(body, el('h1', { text: t('title') }), ...content);
    body.dataset.view = view.kind;
  }

  const tickClock = () => {
    const { time, date } = officeClock(new Date(), zone(), currentLang());
    fill(clock, el('span', { text: time }), ' ', el('span', { class: 'date', text: date }));
  };
  link.on(topics.officeState(), (_t, b) => {
    office = b as OfficeStateMsg;
    if (view.kind !== 'start') render();
    else officeName.textContent = office.name;
  });
  onLangChange(() => {
    render();
    armIdle();
  });
  render();
  tickClock();
  setInterval(tickClock, 1000);
  settings = await loadSettings(cred);
  officeName.textContent = nameOfOffice();
}

void main();
