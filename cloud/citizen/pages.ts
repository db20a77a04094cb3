// The citizen's pages as HTML (issue 14): the ticket page the printed QR code opens, an office's live wait
// page and its printable QR poster. Vietnamese first, English with ?lang=en. Each page is drawn here with its
// figures, so it reads without JavaScript; `static/*.js` then keep it current by asking the JSON endpoints
// (no meta refresh: a page that reloads itself moves a screen reader back to the top).
import type { OfficeWaitPublic, TicketPublic } from '../../protocol/index.js';
import type { OfficeSetup } from './live.js';

export type Lang = 'vi' | 'en';

export const langOf = (q: unknown): Lang => (q === 'en' ? 'en' : 'vi');

const TEXTS = {
  number: { vi: 'Số', en: 'Number' },
  state_waiting: { vi: 'Đang chờ', en: 'Waiting' },
  state_near: {
    vi: 'Sắp đến lượt bạn — hãy có mặt gần quầy',
    en: 'Your turn is near — please come to the counters',
  },
  state_called: {
    vi: 'Đến lượt bạn — mời đến Quầy {counter}',
    en: 'It is your turn — please go to counter {counter}',
  },
  state_serving: { vi: 'Đang được phục vụ tại Quầy {counter}', en: 'Being served at counter {counter}' },
  state_finished: { vi: 'Đã hoàn thành', en: 'Done' },
  state_no_show: {
    vi: 'Đã qua lượt (vắng mặt) — vui lòng hỏi quầy hướng dẫn',
    en: 'Missed (not present) — please ask at the information desk',
  },
  ahead: {
    vi: 'Trước bạn còn <b id="ahead">{ahead}</b> người · {wait}',
    en: '<b id="ahead">{ahead}</b> before you · {wait}',
  },
  waitUnder: { vi: 'chờ dưới 5 phút', en: 'under 5 min wait' },
  waitAbout: { vi: 'chờ khoảng {n} phút', en: 'about {n} min wait' },
  serving: { vi: 'Đang phục vụ', en: 'Now serving' },
  servingNone: { vi: 'Chưa có số nào được mời', en: 'Nobody called yet' },
  counter: { vi: 'Quầy {n}', en: 'Counter {n}' },
  issued: { vi: 'Lấy số lúc {time}', en: 'Taken at {time}' },
  fresh: { vi: 'Số liệu của bộ phận lúc {time} ({age})', en: 'Office figures as of {time} ({age})' },
  freshNone: { vi: 'Bộ phận chưa gửi số liệu', en: 'The office has sent no figures yet' },
  stale: { vi: 'có thể chưa cập nhật', en: 'may be out of date' },
  ageSeconds: { vi: '{n} giây trước', en: '{n} s ago' },
  ageMinutes: { vi: '{n} phút trước', en: '{n} min ago' },
  alertsOff: { vi: 'Bật âm thanh và rung khi đến lượt', en: 'Sound and vibrate at my turn' },
  alertsOn: { vi: 'Đã bật âm thanh và rung', en: 'Sound and vibration on' },
  alertsHint: {
    vi: 'Để trang này mở: trang tự cập nhật, không cần tải lại.',
    en: 'Keep this page open: it updates itself, no need to reload.',
  },
  waitPage: { vi: 'Xem tình hình chờ của bộ phận', en: 'See the wait at this office' },
  other: { vi: 'English', en: 'Tiếng Việt' },
  unknown: {
    vi: 'Chưa có thông tin về số này (ngày {day}). Vui lòng thử lại sau ít phút.',
    en: 'Nothing known about this number yet ({day}). Please try again in a few minutes.',
  },
  paused: {
    vi: 'Trang đã ngừng tự cập nhật.',
    en: 'This page has stopped updating.',
  },
  reload: { vi: 'Cập nhật', en: 'Update' },
  offline: {
    vi: 'Chưa lấy được số liệu mới, đang thử lại…',
    en: 'Could not get new figures, trying again…',
  },
  waitTitle: { vi: 'Tình hình chờ', en: 'Waiting now' },
  waitIntro: {
    vi: 'Số người đang chờ và thời gian chờ dự kiến nếu lấy số bây giờ, để bạn chọn lúc đến.',
    en: 'People waiting and the expected wait for a ticket taken now, so you can choose when to come.',
  },
  waiting: { vi: 'Đang chờ', en: 'Waiting' },
  people: { vi: '{n} người', en: '{n} people' },
  estimate: { vi: 'Chờ dự kiến', en: 'Expected wait' },
  estimateNone: { vi: 'không phải chờ', en: 'no wait' },
  noServices: { vi: 'Hôm nay bộ phận chưa có số liệu.', en: 'No figures from the office today.' },
  poster: { vi: 'In mã QR', en: 'Print the QR code' },
  posterTitle: { vi: 'Xem số người đang chờ', en: 'See how many are waiting' },
  posterScan: {
    vi: 'Quét mã bằng camera điện thoại để xem số người đang chờ từng lĩnh vực và thời gian chờ, trước khi đến.',
    en: 'Scan with your phone camera to see who is waiting for each service and the expected wait, before you come.',
  },
  print: { vi: 'In trang này', en: 'Print this page' },
  ratingTitle: { vi: 'Đánh giá mức độ hài lòng', en: 'Rate your visit' },
  ratingAsk: {
    vi: 'Quý khách hài lòng thế nào với cán bộ đã tiếp nhận?',
    en: 'How satisfied were you with the clerk who served you?',
  },
  ratingThanks: { vi: 'Cảm ơn quý khách đã đánh giá.', en: 'Thank you for your rating.' },
  rating_already_rated: {
    vi: 'Số này đã được đánh giá. Mỗi lượt chỉ đánh giá một lần.',
    en: 'This visit was already rated. Each visit is rated once.',
  },
  rating_not_served: {
    vi: 'Có thể đánh giá sau khi quý khách đã được phục vụ.',
    en: 'You can rate once you have been served.',
  },
  rating_tablet: {
    vi: 'Vui lòng đánh giá trên máy tính bảng tại quầy.',
    en: 'Please rate on the tablet at the counter.',
  },
  rating_needs_qr: {
    vi: 'Để đánh giá, hãy mở trang này bằng mã QR trên phiếu của bạn.',
    en: 'To rate, open this page with the QR code on your ticket.',
  },
  rating_window_closed: {
    vi: 'Đã hết thời gian đánh giá cho số này.',
    en: 'The time to rate this visit is over.',
  },
} as const satisfies Record<string, Record<Lang, string>>;

export type TextKey = keyof typeof TEXTS;

export function text(lang: Lang, key: TextKey, vars: Record<string, string | number> = {}): string {
  return TEXTS[key][lang].replace(/\{(\w+)\}/g, (_m, k: string) => String(vars[k] ?? ''));
}

/** The texts a page's script needs, in its language. */
function textsFor(lang: Lang): Record<string, string> {
  return Object.fromEntries(Object.entries(TEXTS).map(([k, v]) => [k, v[lang]]));
}

export const escapeHtml = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

/** JSON inside a <script type="application/json">: nothing in it may close the element. */
const jsonInHtml = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c');

export function clockTime(iso: string, timezone: string): string {
  return new Date(iso).toLocaleTimeString('vi-VN', {
    timeZone: timezone,
    hour: '2-digit',
    minute: '2-digit',
  });
}

export function waitWords(lang: Lang, minutes: number | null): string {
  if (minutes === null) return text(lang, 'estimateNone');
  return minutes < 5 ? text(lang, 'waitUnder') : text(lang, 'waitAbout', { n: minutes });
}

function ageWords(lang: Lang, ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? text(lang, 'ageSeconds', { n: s }) : text(lang, 'ageMinutes', { n: Math.round(s / 60) });
}

/** Figures older than this are marked as possibly out of date (the box uplinks within seconds). */
export const STALE_AFTER_MS = 5 * 60_000;

function freshLine(
  lang: Lang,
  asOf: string | null,
  heardAt: string | null,
  timezone: string,
  now: number,
): string {
  const at = Math.max(asOf ? Date.parse(asOf) : 0, heardAt ? Date.parse(heardAt) : 0);
  if (at === 0) return escapeHtml(text(lang, 'freshNone'));
  const line = text(lang, 'fresh', {
    time: clockTime(new Date(at).toISOString(), timezone),
    age: ageWords(lang, now - at),
  });
  return escapeHtml(now - at > STALE_AFTER_MS ? `${line} — ${text(lang, 'stale')}` : line);
}

/** The ticket's state as the citizen reads it: `near` is a waiting ticket close to the front. */
export function stateKey(t: Pick<TicketPublic, 'state' | 'near'>): string {
  if (t.state === 'waiting') return t.near ? 'near' : 'waiting';
  return t.state;
}

function stateWords(lang: Lang, t: TicketPublic): string {
  const key = `state_${stateKey(t)}` as TextKey;
  return key in TEXTS ? text(lang, key, { counter: t.counter ?? '' }) : t.state;
}

export function ticketTitle(lang: Lang, t: TicketPublic): string {
  const s = stateKey(t);
  if (s === 'called') return `🔔 ${stateWords(lang, t)} · ${t.number}`;
  if (s === 'near') return `${text(lang, 'state_near').split(' — ')[0]} · ${t.number}`;
  return `${text(lang, 'number')} ${t.number} · ${stateWords(lang, t)}`;
}

function page(o: {
  lang: Lang;
  title: string;
  body: string;
  script?: string;
  data?: unknown;
  bodyClass?: string;
}): string {
  return `<!doctype html><html lang="${o.lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(o.title)}</title>
<link rel="stylesheet" href="/citizen/citizen.css">
<link rel="icon" href="/console/favicon.svg" type="image/svg+xml">
</head><body${o.bodyClass ? ` class="${o.bodyClass}"` : ''}>${o.body}
${o.data !== undefined ? `<script type="application/json" id="page-data">${jsonInHtml(o.data)}</script>` : ''}
${o.script ? `<script type="module" src="/citizen/${o.script}"></script>` : ''}
</body></html>`;
}

const otherLangHref = (lang: Lang, path: string): string => (lang === 'vi' ? `${path}?lang=en` : path);
const withLang = (lang: Lang, path: string): string => (lang === 'en' ? `${path}?lang=en` : path);

function servingList(lang: Lang, serving: { number: string; counter: number }[]): string {
  if (serving.length === 0) return escapeHtml(text(lang, 'servingNone'));
  return serving
    .map((s) => `<b>${escapeHtml(s.number)}</b> (${escapeHtml(text(lang, 'counter', { n: s.counter }))})`)
    .join(', ');
}

export function ticketPage(o: {
  lang: Lang;
  ticket: TicketPublic | null;
  params: { office: string; day: string; number: string };
  office: OfficeSetup | undefined;
  jsonUrl: string;
  ratingUrl: string;
  scale: { score: number; label: { vi: string; en: string } }[];
  now: number;
  pollMaxMinutes: number;
}): string {
  const { lang, ticket: t, params: p } = o;
  const path = `/t/${encodeURIComponent(p.office)}/${p.day}/${encodeURIComponent(p.number)}`;
  const waitHref = withLang(lang, `/w/${encodeURIComponent(p.office)}`);
  const tz = o.office?.timezone ?? 'Asia/Ho_Chi_Minh';
  const langLink = `<a href="${escapeHtml(otherLangHref(lang, path))}" lang="${lang === 'vi' ? 'en' : 'vi'}">${text(lang, 'other')}</a>`;
  if (!t)
    return page({
      lang,
      title: `${text(lang, 'number')} ${p.number}`,
      body: `<main><h1>${text(lang, 'number')} ${escapeHtml(p.number)}</h1>
<p>${escapeHtml(text(lang, 'unknown', { day: p.day }))}</p>
<nav class="links">${o.office ? `<a href="${escapeHtml(waitHref)}">${text(lang, 'waitPage')}</a> · ` : ''}${langLink}</nav></main>`,
    });
  const state = stateKey(t);
  // Once the visit is over, what is being served and the alerts are no longer the citizen's concern.
  const over = t.state === 'finished' || t.state === 'no_show';
  const aheadLine =
    t.ahead !== null
      ? text(lang, 'ahead', { ahead: t.ahead, wait: escapeHtml(waitWords(lang, t.estimatedWaitMin)) })
      : '';
  const scaleButtons = o.scale
    .slice()
    .reverse()
    .map(
      (s) =>
        `<button type="button" class="score" data-score="${s.score}">${escapeHtml(s.label[lang])}</button>`,
    )
    .join('');
  const rating = t.rating;
  const ratingBlock = `<section id="rating" aria-labelledby="rating-title"${rating && (rating.open || rating.score !== null || rating.reason === 'already_rated') ? '' : ' hidden'}>
<h2 id="rating-title">${text(lang, 'ratingTitle')}</h2>
<p id="rating-ask"${rating?.open ? '' : ' hidden'}>${text(lang, 'ratingAsk')}</p>
<div id="rating-buttons" class="scores"${rating?.open ? '' : ' hidden'}>${scaleButtons}</div>
<p id="rating-result" role="status">${rating && !rating.open && rating.reason ? escapeHtml(text(lang, `rating_${rating.reason}` as TextKey)) : ''}</p>
</section>`;
  const body = `<main id="ticket" data-state="${state}">
<h1>${text(lang, 'number')} <span id="number">${escapeHtml(t.number)}</span></h1>
<p class="office">${escapeHtml(t.officeName)} · <span id="service">${escapeHtml(t.serviceName ?? t.service)}</span></p>
<section class="status" aria-live="assertive" aria-atomic="true">
<p id="state" class="state">${escapeHtml(stateWords(lang, t))}</p>
<p id="ahead-line"${aheadLine ? '' : ' hidden'}>${aheadLine}</p>
</section>
<div id="live"${over ? ' hidden' : ''}>
<p id="serving-line">${text(lang, 'serving')}: <span id="serving">${servingList(lang, t.nowServing ?? [])}</span></p>
<p><button type="button" id="alerts" aria-pressed="false">${text(lang, 'alertsOff')}</button></p>
<p class="small">${text(lang, 'alertsHint')}</p>
</div>
${ratingBlock}
<p class="small"><span id="issued">${escapeHtml(text(lang, 'issued', { time: clockTime(t.issuedAt, tz) }))}</span> · <span id="fresh">${freshLine(lang, t.asOf, t.heardAt ?? null, tz, o.now)}</span></p>
<p id="paused" class="small" role="status" hidden>${text(lang, 'paused')} <button type="button" id="reload">${text(lang, 'reload')}</button></p>
<nav class="links"><a href="${escapeHtml(waitHref)}">${text(lang, 'waitPage')}</a> · ${langLink}</nav>
</main>`;
  return page({
    lang,
    title: ticketTitle(lang, t),
    body,
    script: 'ticket.js',
    data: {
      lang,
      timezone: tz,
      json: o.jsonUrl,
      rate: o.ratingUrl,
      pollMaxMinutes: o.pollMaxMinutes,
      staleAfterMs: STALE_AFTER_MS,
      texts: textsFor(lang),
      ticket: t,
    },
  });
}

function serviceCards(lang: Lang, w: OfficeWaitPublic): string {
  if (w.services.length === 0) return `<p>${text(lang, 'noServices')}</p>`;
  return `<ul class="services">${w.services
    .map(
      (s) => `<li data-service="${escapeHtml(s.service)}"><h2>${escapeHtml(s.name)}</h2>
<dl><div><dt>${text(lang, 'waiting')}</dt><dd class="waiting">${escapeHtml(text(lang, 'people', { n: s.waiting }))}</dd></div>
<div><dt>${text(lang, 'serving')}</dt><dd class="serving">${servingList(lang, s.nowServing)}</dd></div>
<div><dt>${text(lang, 'estimate')}</dt><dd class="estimate">${escapeHtml(waitWords(lang, s.estimatedWaitMin))}</dd></div></dl></li>`,
    )
    .join('')}</ul>`;
}

export function waitPage(o: {
  lang: Lang;
  wait: OfficeWaitPublic;
  office: OfficeSetup;
  jsonUrl: string;
  now: number;
  pollMaxMinutes: number;
}): string {
  const { lang, wait: w } = o;
  const path = `/w/${encodeURIComponent(w.officeId)}`;
  const body = `<main id="wait">
<h1>${text(lang, 'waitTitle')}</h1>
<p class="office">${escapeHtml(w.officeName)}</p>
<p>${text(lang, 'waitIntro')}</p>
<div id="services" aria-live="polite">${serviceCards(lang, w)}</div>
<p class="small"><span id="fresh">${freshLine(lang, w.asOf, w.heardAt, o.office.timezone, o.now)}</span></p>
<p id="paused" class="small" role="status" hidden>${text(lang, 'paused')} <button type="button" id="reload">${text(lang, 'reload')}</button></p>
<nav class="links"><a href="${escapeHtml(withLang(lang, `${path}/poster`))}">${text(lang, 'poster')}</a> · <a href="${escapeHtml(otherLangHref(lang, path))}" lang="${lang === 'vi' ? 'en' : 'vi'}">${text(lang, 'other')}</a></nav>
</main>`;
  return page({
    lang,
    title: `${text(lang, 'waitTitle')} · ${w.officeName}`,
    body,
    script: 'wait.js',
    data: {
      lang,
      timezone: o.office.timezone,
      json: o.jsonUrl,
      pollMaxMinutes: o.pollMaxMinutes,
      staleAfterMs: STALE_AFTER_MS,
      texts: textsFor(lang),
      wait: w,
    },
  });
}

export function posterPage(o: { lang: Lang; office: OfficeSetup; url: string; qrSvg: string }): string {
  const { lang } = o;
  const other: Lang = lang === 'vi' ? 'en' : 'vi';
  const body = `<main id="poster">
<h1>${text(lang, 'posterTitle')}</h1>
<p class="office">${escapeHtml(o.office.name)}</p>
<figure class="qr" aria-label="${escapeHtml(o.url)}">${o.qrSvg}</figure>
<p class="url">${escapeHtml(o.url)}</p>
<p class="scan">${text(lang, 'posterScan')}</p>
<p class="scan" lang="${other}">${text(other, 'posterScan')}</p>
<nav class="links no-print"><a href="${escapeHtml(withLang(lang, `/w/${encodeURIComponent(o.office.id)}`))}">${text(lang, 'waitTitle')}</a></nav>
</main>`;
  return page({ lang, title: `${text(lang, 'posterTitle')} · ${o.office.name}`, body, bodyClass: 'poster' });
}
