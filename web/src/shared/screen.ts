// What every screen shares: its credential or the way to pair, the settings the box serves, the banner
// that says the data may be out of date, and the office clock.
import {
  authHeader,
  forgetCredential,
  loadCredential,
  type Credential,
  type ScreenRole,
} from './credential.js';
import { el, fill } from './dom.js';
import { dictionary, onLangChange, pick } from './i18n.js';
import { openLink, type ScreenLink } from './link.js';
import type { BoxStateMsg } from '../../../protocol/messages.js';
import { topics } from '../../../protocol/topics.js';

export interface Settings {
  officeId: string;
  officeName: string;
  publicUrl: string | null;
  notice: string | null;
  chime: boolean;
  kioskIdleSeconds: number;
  /** For a kiosk: whether it has a ticket printer (false: a screen-only kiosk); null for other screens. */
  kioskPrinter: boolean | null;
  lowRatingReasons: string[];
  /** The office sends SMS when a turn is near (a kiosk offers it); absent from older boxes. */
  sms?: boolean;
  clerks: { id: string; name: string; photo: boolean }[];
}

const t = dictionary({
  notPaired: {
    vi: 'Màn hình này chưa được ghép nối với máy chủ.',
    en: 'This screen is not paired with the box.',
  },
  revoked: {
    vi: 'Màn hình này đã bị thu hồi hoặc được ghép nối ở nơi khác. Cần ghép nối lại.',
    en: 'This screen was revoked or paired elsewhere. It must be paired again.',
  },
  pair: { vi: 'Ghép nối', en: 'Pair' },
  connecting: { vi: 'Đang kết nối tới máy chủ…', en: 'Connecting to the box…' },
  offline: {
    vi: 'Mất kết nối — dữ liệu có thể chưa cập nhật ({age})',
    en: 'Disconnected — data may be out of date ({age})',
  },
  seconds: { vi: '{n} giây', en: '{n} s' },
  minutes: { vi: '{n} phút', en: '{n} min' },
});

/**
 * The estimated wait in words, or null when there is nothing true to say: no estimate (no counter open for
 * the service: a ticket can still be taken, and the box cannot know when one opens), or nobody waiting.
 * Estimates under 5 minutes read "under 5 minutes": "about 0 minutes" with people waiting is not true.
 */
export function waitWords(minutes: number | null, waiting: number, short = false): string | null {
  if (minutes === null || waiting === 0) return null;
  if (minutes < 5) return short ? wt('underShort') : wt('under');
  return short ? wt('aboutShort', { n: minutes }) : wt('about', { n: minutes });
}
const wt = dictionary({
  under: { vi: 'Chờ dưới 5 phút', en: 'Under 5 min wait' },
  underShort: { vi: 'Chờ < 5 phút', en: '< 5 min wait' },
  about: { vi: 'Chờ khoảng {n} phút', en: 'About {n} min wait' },
  aboutShort: { vi: 'Chờ ~{n} phút', en: '~{n} min wait' },
});

export function ageText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? t('seconds', { n: s }) : t('minutes', { n: Math.round(s / 60) });
}

/** The screen's credential, or a page that sends the person to pair it (and null). */
export function credentialOrPairPage(role: ScreenRole): Credential | null {
  const cred = loadCredential(role);
  if (cred) return cred;
  const render = () =>
    fill(
      document.body,
      el(
        'main',
        'unpaired',
        el('p', { text: t('notPaired') }),
        el('a', { class: 'button', text: t('pair'), attrs: { href: `/pair?next=${location.pathname}` } }),
      ),
    );
  render();
  onLangChange(render);
  return null;
}

/**
 * The office's settings for screens. With the screen's credential they include the clerks (names, photos);
 * a credential the box refuses (revoked: the banner asks to pair again) still gets the public part.
 */
export async function loadSettings(cred?: Credential): Promise<Settings> {
  let auth = cred ? authHeader(cred) : undefined;
  for (;;) {
    try {
      const headers: Record<string, string> = auth ? { authorization: auth } : {};
      const r = await fetch('/api/screens/settings', { cache: 'no-store', headers });
      if (r.ok) return (await r.json()) as Settings;
      if (r.status === 401) {
        auth = undefined;
        continue;
      }
    } catch {
      // the box is restarting: try again
    }
    await new Promise((res) => setTimeout(res, 3000));
  }
}

/**
 * The connection banner: hidden while online; otherwise says since when the data may be stale, updated
 * every second. When the box refuses the credential, a full-screen notice asks to pair again.
 */
export function connectionBanner(link: ScreenLink): HTMLElement {
  const banner = el('div', { class: 'link-banner', attrs: { role: 'status', 'data-state': link.state } });
  let overlay: HTMLElement | null = null;
  const update = () => {
    banner.dataset.state = link.state;
    if (link.state === 'online') fill(banner);
    else if (link.state === 'connecting') fill(banner, t('connecting'));
    else if (link.state === 'offline')
      fill(banner, t('offline', { age: ageText(Date.now() - (link.staleSince ?? Date.now())) }));
    if (link.state === 'unpaired') {
      if (!overlay) {
        overlay = el('div', { class: 'unpaired-overlay', attrs: { role: 'alert' } });
        document.body.append(overlay);
      }
      fill(
        overlay,
        el('p', { text: t('revoked') }),
        el('a', {
          class: 'button',
          text: t('pair'),
          attrs: { href: `/pair?next=${location.pathname}` },
          on: { click: () => forgetCredential(link.cred.role) },
        }),
      );
    }
  };
  update();
  link.onState(update);
  onLangChange(update);
  setInterval(update, 1000);
  return banner;
}

/**
 * Whether the box can take requests now (`lobby/v1/state/box`, retained): a banner that says why not, in
 * the screen's language (the box sends Vietnamese and English), hidden while it can.
 */
export function boxStateBanner(
  link: ScreenLink,
  onChange: () => void = () => undefined,
): { banner: HTMLElement; accepting: () => boolean } {
  let state: BoxStateMsg | null = null;
  const banner = el('div', { class: 'box-banner', attrs: { role: 'alert', 'data-storage': 'ok' } });
  const update = () => {
    banner.dataset.storage = state?.storage ?? 'ok';
    const show = state !== null && !state.acceptingRequests && state.message !== null;
    fill(banner, ...(show && state?.message ? [pick(state.message)] : []));
    banner.style.display = show ? '' : 'none'; // inline: no screen's own layout rule can show it empty
  };
  link.on(topics.boxState(), (_t, b) => {
    state = b as BoxStateMsg;
    update();
    onChange();
  });
  onLangChange(update);
  update();
  return { banner, accepting: () => state?.acceptingRequests !== false };
}

export function startLink(cred: Credential): ScreenLink {
  return openLink(cred);
}

/** `HH:MM` (and the date) in the office's time zone, whatever the screen's own clock zone is. */
export function officeClock(now: Date, timeZone = 'Asia/Ho_Chi_Minh', lang: 'vi' | 'en' = 'vi') {
  const time = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit' }).format(now);
  const date = new Intl.DateTimeFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', {
    timeZone,
    weekday: 'long',
    day: '2-digit',
    month: '2-digit',
    year: 'numeric',
  }).format(now);
  return { time, date };
}
