// Pairing: the screen trades a one-time code (typed, or carried by the QR code's URL) for its credential,
// which the browser keeps; then it opens the screen of its role.
import { loadCredential, saveCredential, type Credential, type ScreenRole } from '../shared/credential.js';
import { el, fill } from '../shared/dom.js';
import { dictionary, langToggle, onLangChange, pick, type Bilingual } from '../shared/i18n.js';
import '../shared/base.css';
import './pair.css';

const t = dictionary({
  title: { vi: 'Ghép nối màn hình', en: 'Pair this screen' },
  help: {
    vi: 'Nhập mã ghép nối hiển thị trên trang quản trị của máy chủ (/admin), hoặc quét mã QR.',
    en: "Type the pairing code shown on the box's admin page (/admin), or scan its QR code.",
  },
  code: { vi: 'Mã ghép nối', en: 'Pairing code' },
  submit: { vi: 'Ghép nối', en: 'Pair' },
  working: { vi: 'Đang ghép nối…', en: 'Pairing…' },
  done: { vi: 'Đã ghép nối {id}. Đang mở màn hình…', en: 'Paired {id}. Opening the screen…' },
  network: { vi: 'Không kết nối được máy chủ.', en: 'Cannot reach the box.' },
  paired: { vi: 'Màn hình đã ghép nối trên trình duyệt này', en: 'Screens paired in this browser' },
  display: { vi: 'Màn hình sảnh (TV)', en: 'Lobby TV' },
  kiosk: { vi: 'Kiosk lấy số', en: 'Ticket kiosk' },
  rating: { vi: 'Máy đánh giá', en: 'Rating tablet' },
  'clerk-panel': { vi: 'Màn hình quầy', en: 'Clerk panel' },
  lookup: { vi: 'Máy tra cứu hồ sơ', en: 'Dossier lookup station' },
});

const PAGES: Record<ScreenRole, string> = {
  display: '/tv',
  kiosk: '/kiosk',
  rating: '/rating',
  'clerk-panel': '/clerk',
  lookup: '/lookup',
};
const ROLES = Object.keys(PAGES) as ScreenRole[];

let message: { text: string; error: boolean } | null = null;
let busy = false;

async function pair(code: string): Promise<void> {
  busy = true;
  message = { text: t('working'), error: false };
  render();
  try {
    const r = await fetch('/api/pair', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    const body = (await r.json()) as {
      deviceId?: string;
      role?: ScreenRole;
      counter?: number | null;
      secret?: string;
      screen?: string;
      error?: { message: Bilingual };
    };
    if (!r.ok || !body.deviceId || !body.role || !body.secret) {
      message = { text: body.error ? pick(body.error.message) : String(r.status), error: true };
      return;
    }
    const cred: Credential = {
      deviceId: body.deviceId,
      role: body.role,
      counter: body.counter ?? null,
      secret: body.secret,
    };
    saveCredential(cred);
    message = { text: t('done', { id: cred.deviceId }), error: false };
    // The code is spent: leave it out of the history.
    history.replaceState(null, '', '/pair');
    location.assign(body.screen ?? PAGES[cred.role]);
  } catch {
    message = { text: t('network'), error: true };
  } finally {
    busy = false;
    render();
  }
}

const input = el('input', {
  attrs: {
    id: 'code',
    name: 'code',
    autocomplete: 'off',
    autocapitalize: 'characters',
    spellcheck: 'false',
    maxlength: '12',
  },
});

function render(): void {
  const paired = ROLES.map((r) => ({ role: r, cred: loadCredential(r) })).filter((x) => x.cred);
  const submit = el('button', {
    class: 'primary',
    text: busy ? t('working') : t('submit'),
    attrs: { type: 'submit' },
  });
  submit.disabled = busy;
  fill(
    document.body,
    el(
      'main',
      'pair',
      el('div', 'pair-top', el('h1', { text: t('title') }), langToggle()),
      el('p', { text: t('help') }),
      el(
        'form',
        {
          on: {
            submit: (e) => {
              e.preventDefault();
              if (input.value.trim()) void pair(input.value);
            },
          },
        },
        el('label', { text: t('code'), attrs: { for: 'code' } }),
        input,
        submit,
      ),
      message &&
        el('p', {
          class: message.error ? 'message error' : 'message',
          text: message.text,
          attrs: { role: 'status' },
        }),
      paired.length > 0 &&
        el(
          'section',
          'paired',
          el('h2', { text: t('paired') }),
          el(
            'ul',
            '',
            ...paired.map((x) =>
              el(
                'li',
                '',
                el('a', { text: `${t(x.role)} — ${x.cred?.deviceId ?? ''}`, attrs: { href: PAGES[x.role] } }),
              ),
            ),
          ),
        ),
    ),
  );
}

onLangChange(render);
render();
const code = new URLSearchParams(location.search).get('code');
if (code) {
  input.value = code;
  void pair(code);
}
