// The clerk panel on the counter's PC: sign in, call, recall, no-show, call a number, transfer, finish,
// pause; dossier codes typed or scanned; the counter's own queue and today's figures; keyboard shortcuts.
import type { CounterStateMsg, OfficeStateMsg, Reply, ServiceStateMsg } from '../../../protocol/messages.js';
import { topics, type CounterAction } from '../../../protocol/topics.js';
import { authHeader } from '../shared/credential.js';
import { el, fill, keepFocus } from '../shared/dom.js';
import { currentLang, dictionary, langToggle, onLangChange, pick } from '../shared/i18n.js';
import { OfflineError } from '../shared/link.js';
import {
  boxStateBanner,
  connectionBanner,
  credentialOrPairPage,
  loadSettings,
  officeClock,
  startLink,
  type Settings,
} from '../shared/screen.js';
import '../shared/base.css';
import './clerk.css';

const t = dictionary({
  counter: { vi: 'Quầy {n}', en: 'Counter {n}' },
  signInTitle: { vi: 'Đăng nhập quầy', en: 'Sign in to the counter' },
  clerk: { vi: 'Công chức', en: 'Clerk' },
  signIn: { vi: 'Đăng nhập', en: 'Sign in' },
  signOut: { vi: 'Đăng xuất', en: 'Sign out' },
  open: { vi: 'Đang mở', en: 'Open' },
  closed: { vi: 'Đóng', en: 'Closed' },
  paused: { vi: 'Tạm dừng', en: 'Paused' },
  current: { vi: 'Số đang phục vụ', en: 'Current number' },
  none: { vi: 'Chưa gọi số', en: 'No number called' },
  called: { vi: 'Đang mời (gọi lại {n} lần)', en: 'Called (recalled {n}×)' },
  serving: { vi: 'Đang phục vụ', en: 'Being served' },
  next: { vi: 'Gọi số tiếp', en: 'Call next' },
  recall: { vi: 'Gọi lại', en: 'Recall' },
  no_show: { vi: 'Vắng mặt', en: 'No-show' },
  serve: { vi: 'Bắt đầu phục vụ', en: 'Start serving' },
  finish: { vi: 'Kết thúc', en: 'Finish' },
  pause: { vi: 'Tạm dừng', en: 'Pause' },
  resume: { vi: 'Tiếp tục', en: 'Resume' },
  callNumber: { vi: 'Gọi số', en: 'Call number' },
  numberPlaceholder: { vi: 'VD: A012', en: 'e.g. A012' },
  transfer: { vi: 'Chuyển', en: 'Transfer' },
  toService: { vi: '— lĩnh vực —', en: '— service —' },
  toCounter: { vi: '— quầy —', en: '— counter —' },
  toCounterLabel: { vi: 'Chuyển đến quầy', en: 'Transfer to counter' },
  dossier: { vi: 'Mã hồ sơ (gõ hoặc quét, Enter để gắn)', en: 'Dossier code (type or scan, Enter to link)' },
  linked: { vi: 'Hồ sơ đã gắn: {codes}', en: 'Linked dossiers: {codes}' },
  queue: { vi: 'Hàng chờ của quầy ({n})', en: "This counter's queue ({n})" },
  queueEmpty: { vi: 'Không có ai đang chờ', en: 'Nobody waiting' },
  today: { vi: 'Hôm nay', en: 'Today' },
  calledCount: { vi: 'Đã gọi', en: 'Called' },
  finishedCount: { vi: 'Đã phục vụ', en: 'Served' },
  noShowCount: { vi: 'Vắng mặt', en: 'No-shows' },
  transferredCount: { vi: 'Đã chuyển', en: 'Transferred' },
  avgService: { vi: 'TB phục vụ', en: 'Avg service' },
  minutes: { vi: '{n} phút', en: '{n} min' },
  ok: { vi: 'Xong: {what}', en: 'Done: {what}' },
  okTicket: { vi: '{what}: số {number}', en: '{what}: number {number}' },
  offline: {
    vi: 'Mất kết nối với máy chủ, thao tác chưa được thực hiện.',
    en: 'No link to the box; nothing was done.',
  },
  shortcuts: {
    vi: 'Phím tắt: N gọi tiếp · R gọi lại · V vắng mặt · S phục vụ · F kết thúc · P tạm dừng/tiếp tục · G gọi số · T chuyển · D mã hồ sơ',
    en: 'Keys: N next · R recall · V no-show · S serve · F finish · P pause/resume · G call number · T transfer · D dossier',
  },
  priority: { vi: 'Ưu tiên', en: 'Priority' },
  elderly: { vi: 'người cao tuổi', en: 'elderly' },
  disability: { vi: 'người khuyết tật', en: 'disability' },
  pregnant: { vi: 'phụ nữ mang thai', en: 'pregnant' },
  child: { vi: 'người có con nhỏ', en: 'small child' },
  waited: { vi: 'chờ {n} phút', en: 'waiting {n} min' },
  queueOrder: { vi: 'theo thứ tự sẽ gọi', en: 'in the order they will be called' },
  confirmNoShow: { vi: 'Xác nhận vắng mặt {number}?', en: 'Confirm {number} is a no-show?' },
  busyCall: {
    vi: 'Số {current} còn ở quầy. Nhấn Gọi số lần nữa để kết thúc số {current} và gọi {number}.',
    en: 'Number {current} is still at the counter. Press Call number again to finish {current} and call {number}.',
  },
  scan: { vi: 'Gắn hồ sơ', en: 'Dossier linked' },
  finishedWithout: {
    vi: 'Đã kết thúc; mã hồ sơ không đúng định dạng chưa được gắn: {codes}',
    en: 'Finished; the dossier codes in no accepted format were not linked: {codes}',
  },
  finishAgain: {
    vi: 'Sửa mã, hoặc nhấn Kết thúc lần nữa để kết thúc mà không gắn mã này.',
    en: 'Correct the code, or press Finish again to finish without it.',
  },
});

const REASONS = { elderly: 1, disability: 1, pregnant: 1, child: 1 };

interface CounterInfo {
  waiting: {
    number: string;
    service: string;
    priority: string | null;
    issuedAt: string;
    transferredHere: boolean;
  }[];
  today: {
    called: number;
    finished: number;
    noShow: number;
    transferred: number;
    averageServiceMin: number | null;
  };
}

async function main(): Promise<void> {
  const cred = credentialOrPairPage('clerk-panel');
  if (!cred || cred.counter === null) return;
  const n = cred.counter;
  const link = startLink(cred);
  let settings: Settings | null = null;
  let office: OfficeStateMsg | null = null;
  let counter: CounterStateMsg | null = null;
  const services = new Map<string, ServiceStateMsg>();
  let info: CounterInfo | null = null;
  let message: { text: string; error: boolean } | null = null;
  let linked: { ticketId: string; codes: string[] } | null = null;
  // Codes the box refused for the current ticket: Finish never sends them again (it would be refused the
  // same way and the clerk could not finish the ticket at all).
  let refused: { ticketId: string; codes: Set<string> } | null = null;
  let busy = false;
  /** A press that needs a second one: no-show (the citizen may be walking up) and calling over a citizen. */
  let confirming: { what: 'no_show' | 'call'; ticketId: string; number?: string } | null = null;

  // Inputs live across renders, so typing is never lost when state changes.
  const clerkSelect = el('select', { attrs: { id: 'clerk', 'aria-label': t('clerk') } });
  const numberInput = el('input', { attrs: { id: 'call-number', autocomplete: 'off', maxlength: '9' } });
  const serviceSelect = el('select', { attrs: { id: 'transfer-service' } });
  const counterSelect = el('select', {
    attrs: { id: 'transfer-counter', 'aria-label': t('toCounterLabel') },
  });
  const dossierInput = el('input', { attrs: { id: 'dossier', autocomplete: 'off', maxlength: '64' } });
  const body = el('main', 'clerk-body');
  const clock = el('div', 'clock');
  fill(document.body, el('div', 'clerk', body, boxStateBanner(link).banner, connectionBanner(link)));

  async function send(
    action: CounterAction | 'scan',
    payload: Record<string, unknown> = {},
  ): Promise<Reply | null> {
    if (busy) return null;
    busy = true;
    render();
    try {
      const topic = action === 'scan' ? topics.scan(n) : topics.counterCommand(n, action);
      const reply = await link.request(topic, payload);
      const what = action === 'scan' ? t('scan') : labelOf(action);
      if (reply.status === 'ok') {
        const ticket = reply.data?.ticket as { number?: string } | undefined;
        message = {
          text: ticket?.number ? t('okTicket', { what, number: ticket.number }) : t('ok', { what }),
          error: false,
        };
      } else {
        message = { text: reply.error ? pick(reply.error.message) : 'error', error: true };
      }
      return reply;
    } catch (err) {
      message = { text: err instanceof OfflineError ? t('offline') : String(err), error: true };
      return null;
    } finally {
      busy = false;
      render();
      void refreshInfo();
    }
  }

  const labelOf = (a: CounterAction): string =>
    a === 'call'
      ? t('callNumber')
      : a === 'sign_in'
        ? t('signIn')
        : a === 'sign_out'
          ? t('signOut')
          : t(a as 'next');

  const codesIn = (text: string) =>
    text
      .split(/[\s,;]+/)
      .map((c) => c.trim())
      .filter(Boolean);

  async function scan(): Promise<void> {
    const code = dossierInput.value.trim();
    if (!code || !counter?.current) return;
    const ticketId = counter.current.ticketId;
    const reply = await send('scan', { code });
    if (reply?.error?.code === 'invalid_dossier_code') refuse(ticketId, code);
    if (reply?.status === 'ok') {
      dossierInput.value = '';
      if (linked?.ticketId !== ticketId) linked = { ticketId, codes: [] };
      if (!linked.codes.includes(code)) linked.codes.push(code);
      render();
    }
  }

  function refuse(ticketId: string, code: string): void {
    if (refused?.ticketId !== ticketId) refused = { ticketId, codes: new Set() };
    refused.codes.add(code);
  }

  async function finish(): Promise<void> {
    const ticketId = counter?.current?.ticketId;
    const typed = codesIn(dossierInput.value);
    const r = refused;
    const known = r !== null && r.ticketId === ticketId ? r.codes : new Set<string>();
    const skipped = typed.filter((c) => known.has(c));
    const dossiers = typed.filter((c) => !skipped.includes(c));
    const reply = await send('finish', dossiers.length ? { dossiers } : {});
    if (reply?.status === 'ok') {
      dossierInput.value = '';
      if (skipped.length) {
        message = { text: t('finishedWithout', { codes: skipped.join(', ') }), error: false };
        render();
      }
    } else if (reply?.error?.code === 'invalid_dossier_code' && ticketId) {
      // The next press finishes without the refused code; the message says what a code looks like.
      // The reply names the refused code in its message (replies carry no parameters).
      const bad = dossiers.find((c) => reply.error?.message.en.includes(`"${c}"`));
      if (bad) refuse(ticketId, bad);
      message = { text: `${pick(reply.error.message)} ${t('finishAgain')}`, error: true };
      render();
    }
  }

  async function callNumber(): Promise<void> {
    const number = numberInput.value.trim().toUpperCase();
    if (!number) return numberInput.focus();
    // Calling a number finishes the citizen still at the counter: never silently ("served in 0 min").
    const cur = counter?.current;
    if (
      cur &&
      !(confirming?.what === 'call' && confirming.ticketId === cur.ticketId && confirming.number === number)
    ) {
      confirming = { what: 'call', ticketId: cur.ticketId, number };
      message = { text: t('busyCall', { current: cur.number, number }), error: true };
      return render();
    }
    confirming = null;
    const reply = await send('call', { number });
    if (reply?.status === 'ok') numberInput.value = '';
  }

  function noShow(): void {
    const cur = counter?.current;
    if (!cur) return;
    if (confirming?.what === 'no_show' && confirming.ticketId === cur.ticketId) {
      confirming = null;
      void send('no_show');
      return;
    }
    confirming = { what: 'no_show', ticketId: cur.ticketId };
    render();
  }

  async function transfer(): Promise<void> {
    const payload: Record<string, unknown> = {};
    if (serviceSelect.value) payload.toService = serviceSelect.value;
    if (counterSelect.value) payload.toCounter = Number(counterSelect.value);
    const reply = await send('transfer', payload);
    if (reply?.status === 'ok') serviceSelect.value = counterSelect.value = '';
  }

  async function refreshInfo(): Promise<void> {
    try {
      const r = await fetch('/api/screens/counter', {
        headers: { authorization: authHeader(cred as NonNullable<typeof cred>) },
        cache: 'no-store',
      });
      if (r.ok) {
        info = (await r.json()) as CounterInfo;
        render();
      }
    } catch {
      // offline: the banner says so; the figures stay as they were
    }
  }

  const action = (a: CounterAction, key: string, run: () => void, enabled = true) => {
    const b = el(
      'button',
      { class: `action action-${a}`, attrs: { 'data-action': a, title: key } },
      el('span', { text: labelOf(a) }),
      el('kbd', { text: key }),
    );
    b.disabled = !enabled || busy || link.state !== 'online';
    b.addEventListener('click', run);
    return b;
  };

  /** No-show asks once more ("Xác nhận vắng mặt A002?"): a citizen walking up must not lose their turn. */
  function noShowButton(enabled: boolean): HTMLButtonElement {
    const b = action('no_show', 'V', noShow, enabled);
    const cur = counter?.current;
    if (cur && confirming?.what === 'no_show' && confirming.ticketId === cur.ticketId) {
      b.classList.add('confirm');
      fill(b, el('span', { text: t('confirmNoShow', { number: cur.number }) }), el('kbd', { text: 'V' }));
    }
    return b;
  }

  function options(select: HTMLSelectElement, first: string, list: { value: string; label: string }[]): void {
    const keep = select.value;
    fill(
      select,
      el('option', { text: first, attrs: { value: '' } }),
      ...list.map((o) => el('option', { text: o.label, attrs: { value: o.value } })),
    );
    select.value = keep;
  }

  function render(): void {
    keepFocus(draw);
  }

  function draw(): void {
    const status = counter?.status ?? 'closed';
    const cur = counter?.current ?? null;
    if (linked && linked.ticketId !== cur?.ticketId) linked = null;
    const signedIn = counter?.clerk ?? null;
    const head = el(
      'header',
      'clerk-head',
      // The page's heading once signed in; before, the sign-in form's title is.
      el(signedIn ? 'h1' : 'div', { class: 'counter-title', text: counter?.name ?? t('counter', { n }) }),
      el('div', { class: `status status-${status}`, text: t(status === 'open' ? 'open' : status) }),
      el('div', { class: 'signed-in', text: signedIn ? signedIn.name : '' }),
      clock,
      langToggle(),
    );
    renderClock();
    if (!signedIn) {
      options(
        clerkSelect,
        t('clerk'),
        (settings?.clerks ?? []).map((c) => ({ value: c.id, label: `${c.name} (${c.id})` })),
      );
      const b = el('button', { class: 'primary', text: t('signIn'), attrs: { type: 'submit' } });
      b.disabled = busy || link.state !== 'online';
      fill(
        body,
        head,
        el(
          'form',
          {
            class: 'sign-in',
            on: {
              submit: (e) => {
                e.preventDefault();
                if (clerkSelect.value) void send('sign_in', { clerk: clerkSelect.value });
              },
            },
          },
          el('h1', { text: t('signInTitle') }),
          clerkSelect,
          b,
        ),
        messageBox(),
      );
      return;
    }
    options(
      serviceSelect,
      t('toService'),
      (office?.services ?? []).map((s) => ({ value: s.id, label: s.name })),
    );
    options(
      counterSelect,
      t('toCounter'),
      (office?.counters ?? [])
        .filter((c) => c.number !== n)
        .map((c) => ({ value: String(c.number), label: c.name })),
    );
    numberInput.placeholder = t('numberPlaceholder');
    const paused = status === 'paused';
    const called = cur?.state === 'called';
    fill(
      body,
      head,
      el(
        'section',
        'current',
        el('div', { class: 'current-label', text: t('current') }),
        el('div', { class: 'current-number', text: cur ? cur.number : '—' }),
        el('div', {
          class: 'current-state',
          text: !cur ? t('none') : called ? t('called', { n: cur.recalls }) : t('serving'),
        }),
        linked &&
          linked.codes.length > 0 &&
          el('div', { class: 'linked', text: t('linked', { codes: linked.codes.join(', ') }) }),
      ),
      el(
        'section',
        'actions',
        action('next', 'N', () => void send('next'), !paused),
        action('recall', 'R', () => void send('recall'), called),
        noShowButton(called),
        action('serve', 'S', () => void send('serve'), called),
        action('finish', 'F', () => void finish(), cur !== null),
        paused
          ? action('resume', 'P', () => void send('resume'))
          : action('pause', 'P', () => void send('pause'), status === 'open'),
      ),
      el(
        'section',
        'tools',
        el(
          'form',
          { class: 'tool', on: { submit: (e) => (e.preventDefault(), void callNumber()) } },
          el('label', { text: t('callNumber'), attrs: { for: 'call-number' } }),
          numberInput,
          el('button', { text: `${t('callNumber')} (G)`, attrs: { type: 'submit' } }),
        ),
        el(
          'form',
          { class: 'tool', on: { submit: (e) => (e.preventDefault(), void transfer()) } },
          el('label', { text: t('transfer'), attrs: { for: 'transfer-service' } }),
          serviceSelect,
          counterSelect,
          el('button', { text: `${t('transfer')} (T)`, attrs: { type: 'submit' } }),
        ),
        el(
          'form',
          { class: 'tool wide', on: { submit: (e) => (e.preventDefault(), void scan()) } },
          el('label', { text: t('dossier'), attrs: { for: 'dossier' } }),
          dossierInput,
        ),
      ),
      messageBox(),
      el(
        'section',
        'side',
        el(
          'div',
          'queue',
          el('h2', { text: t('queue', { n: info?.waiting.length ?? 0 }) }),
          el('p', { class: 'queue-order', text: t('queueOrder') }),
          info && info.waiting.length > 0
            ? el(
                'ol',
                '',
                ...info.waiting.slice(0, 30).map((w) =>
                  el(
                    'li',
                    w.priority ? 'priority' : '',
                    el('span', { class: 'queue-number', text: w.number }),
                    w.priority &&
                      el('span', {
                        class: 'badge-priority',
                        text: `${t('priority')}: ${w.priority in REASONS ? t(w.priority as 'elderly') : w.priority}`,
                      }),
                    el('span', {
                      class: 'queue-service',
                      text: services.get(w.service)?.name ?? w.service,
                    }),
                    el('span', {
                      class: 'queue-wait',
                      text: t('waited', {
                        n: Math.max(0, Math.floor((Date.now() - Date.parse(w.issuedAt)) / 60_000)),
                      }),
                    }),
                  ),
                ),
              )
            : el('p', { text: t('queueEmpty') }),
        ),
        el(
          'div',
          'figures',
          el('h2', { text: t('today') }),
          el(
            'dl',
            '',
            el('dt', { text: t('calledCount') }),
            el('dd', { text: info?.today.called ?? 0 }),
            el('dt', { text: t('finishedCount') }),
            el('dd', { text: info?.today.finished ?? 0 }),
            el('dt', { text: t('noShowCount') }),
            el('dd', { text: info?.today.noShow ?? 0 }),
            el('dt', { text: t('transferredCount') }),
            el('dd', { text: info?.today.transferred ?? 0 }),
            el('dt', { text: t('avgService') }),
            el('dd', {
              text:
                info?.today.averageServiceMin != null
                  ? t('minutes', { n: info.today.averageServiceMin })
                  : '—',
            }),
          ),
        ),
      ),
      el(
        'footer',
        'clerk-foot',
        el('span', { text: t('shortcuts') }),
        el('button', { class: 'sign-out', text: t('signOut'), on: { click: () => void send('sign_out') } }),
      ),
    );
  }

  function messageBox(): HTMLElement {
    return el('div', {
      class: `message${message?.error ? ' error' : ''}`,
      text: message?.text ?? '',
      attrs: { role: message?.error ? 'alert' : 'status' },
    });
  }

  function renderClock(): void {
    clock.textContent = officeClock(new Date(), office?.timezone, currentLang()).time;
  }

  document.addEventListener('keydown', (e) => {
    const target = e.target as HTMLElement;
    if (e.ctrlKey || e.altKey || e.metaKey) return;
    if (target.tagName === 'INPUT' || target.tagName === 'SELECT' || target.tagName === 'TEXTAREA') {
      if (e.key === 'Escape') target.blur();
      return;
    }
    if (!counter?.clerk) return;
    const click = (a: string) =>
      document.querySelector<HTMLButtonElement>(`button[data-action="${a}"]:not(:disabled)`)?.click();
    const keys: Record<string, () => void> = {
      n: () => click('next'),
      r: () => click('recall'),
      v: () => click('no_show'),
      s: () => click('serve'),
      f: () => click('finish'),
      p: () => click(counter?.status === 'paused' ? 'resume' : 'pause'),
      g: () => numberInput.focus(),
      t: () => serviceSelect.focus(),
      d: () => dossierInput.focus(),
    };
    const fn = keys[e.key.toLowerCase()];
    if (fn) {
      e.preventDefault();
      fn();
    }
  });

  link.on('lobby/v1/state/office', (_t, b) => {
    office = b as OfficeStateMsg;
    render();
  });
  link.on(topics.counterState(n), (_t, b) => {
    counter = b as CounterStateMsg;
    if (confirming && confirming.ticketId !== counter.current?.ticketId) confirming = null;
    render();
  });
  link.on('lobby/v1/state/services/+', (_t, b) => {
    const s = b as ServiceStateMsg;
    services.set(s.service, s);
  });
  let pendingRefresh: ReturnType<typeof setTimeout> | undefined;
  link.on('lobby/v1/events/ticket/#', () => {
    clearTimeout(pendingRefresh);
    pendingRefresh = setTimeout(() => void refreshInfo(), 300);
  });
  link.onState((s) => {
    render();
    if (s === 'online') void refreshInfo();
  });
  onLangChange(render);
  setInterval(renderClock, 1000);
  setInterval(() => void refreshInfo(), 30_000);
  render();
  settings = await loadSettings(cred);
  render();
  void refreshInfo();
}

void main();
