// The dossier-status board: a page of the lobby TV (it uses the TV's `display` credential; open /board on a
// paired TV). It shows the office's dossier handling from the cloud's figures, as the box publishes them on
// `lobby/v1/state/dossiers` (retained): received today and this month, returned, on time, overdue, by field,
// and the dossiers whose result is ready, by code (no names). It updates without reloading; when the box
// cannot reach the cloud it shows the last figures and says how old they are.
import type { DossierBoardState } from '../../../protocol/dossier-lookup.js';
import type { OfficeStateMsg } from '../../../protocol/messages.js';
import { topics } from '../../../protocol/topics.js';
import { el, fill } from '../shared/dom.js';
import { ageWords, momentText } from '../shared/dossier-words.js';
import { currentLang, dictionary, langToggle, onLangChange } from '../shared/i18n.js';
import { connectionBanner, credentialOrPairPage, officeClock, startLink } from '../shared/screen.js';
import '../shared/base.css';
import './board.css';

const t = dictionary({
  title: { vi: 'Tình hình giải quyết hồ sơ', en: 'Dossier handling' },
  today: { vi: 'Hôm nay', en: 'Today' },
  month: { vi: 'Tháng {m}', en: 'Month {m}' },
  open: { vi: 'Đang giải quyết', en: 'In progress' },
  received: { vi: 'Tiếp nhận', en: 'Received' },
  returned: { vi: 'Đã trả kết quả', en: 'Returned' },
  onTime: { vi: 'Đúng hạn', en: 'On time' },
  late: { vi: 'Trễ hạn', en: 'Late' },
  total: { vi: 'Tổng số', en: 'Total' },
  overdue: { vi: 'Quá hạn', en: 'Overdue' },
  readyCount: { vi: 'Chờ nhận kết quả', en: 'Ready to collect' },
  onTimeRate: { vi: '{p}% đúng hạn', en: '{p}% on time' },
  byService: { vi: 'Theo lĩnh vực (tháng này)', en: 'By field (this month)' },
  service: { vi: 'Lĩnh vực', en: 'Field' },
  ready: {
    vi: 'Hồ sơ đã có kết quả — mời nhận tại quầy trả kết quả',
    en: 'Results ready — collect at the results counter',
  },
  noneReady: { vi: 'Chưa có hồ sơ nào chờ nhận kết quả.', en: 'No results are waiting to be collected.' },
  moreReady: { vi: 'và {n} hồ sơ khác', en: 'and {n} more' },
  page: { vi: 'Trang {n}/{of}', en: 'Page {n} of {of}' },
  fresh: { vi: 'Số liệu cập nhật lúc {at}', en: 'Figures as of {at}' },
  stale: {
    vi: 'Mất kết nối với hệ thống một cửa điện tử — số liệu của {age} trước (lúc {at})',
    en: 'The one-stop system cannot be reached — figures from {age} ago ({at})',
  },
  nothing: {
    vi: 'Chưa có số liệu: máy chủ chưa nhận được số liệu từ hệ thống một cửa điện tử.',
    en: 'No figures yet: the box has not had any from the one-stop system.',
  },
  notEnrolled: {
    vi: 'Máy chủ này chưa kết nối hệ thống một cửa điện tử.',
    en: 'This box is not connected to the one-stop system.',
  },
});

async function main(): Promise<void> {
  const cred = credentialOrPairPage('display');
  if (!cred) return;
  const link = startLink(cred);
  let office: OfficeStateMsg | null = null;
  let state: DossierBoardState | null = null;
  /** When `state` arrived: its age grows from there. */
  let arrived = Date.now();

  const officeName = el('div', 'office-name');
  const clock = el('div', 'clock');
  const freshness = el('p', { class: 'board-freshness', attrs: { role: 'status' } });
  const body = el('main', 'board-body');
  fill(
    document.body,
    el(
      'div',
      'board',
      el('header', 'board-head', officeName, clock, langToggle()),
      freshness,
      body,
      connectionBanner(link),
    ),
  );
  const zone = () => office?.timezone ?? 'Asia/Ho_Chi_Minh';
  const serviceName = (id: string) => office?.services.find((s) => s.id === id)?.name ?? id;
  const ageSeconds = () => (state?.ageSeconds ?? 0) + (Date.now() - arrived) / 1000;

  function figure(label: string, value: number, cls = ''): HTMLElement {
    return el(
      'div',
      { class: `figure ${cls}`.trim() },
      el('span', { class: 'value', text: value }),
      el('span', { class: 'label', text: label }),
    );
  }

  function group(title: string, ...figures: HTMLElement[]): HTMLElement {
    return el('section', 'figures', el('h2', { text: title }), el('div', 'figure-row', ...figures));
  }

  function updateFreshness(): void {
    const b = state?.board;
    if (!state || !b || !state.fetchedAt) {
      freshness.textContent = '';
      return;
    }
    const stale = state.cloud !== 'ok';
    freshness.dataset.stale = String(stale);
    freshness.dataset.ageSeconds = String(Math.round(ageSeconds()));
    freshness.textContent = stale
      ? t('stale', { age: ageWords(ageSeconds()), at: momentText(state.fetchedAt, zone()) })
      : t('fresh', { at: momentText(state.fetchedAt, zone()) });
  }

  function render(): void {
    officeName.textContent = office?.name ?? '';
    const b = state?.board;
    updateFreshness();
    if (!b) {
      const why = state?.cloud === 'not_enrolled' ? t('notEnrolled') : t('nothing');
      fill(body, el('h1', { text: t('title') }), el('p', { class: 'board-empty', text: why }));
      return;
    }
    const month = `${b.month.slice(5, 7)}/${b.month.slice(0, 4)}`;
    const done = b.thisMonth.onTime + b.thisMonth.late;
    const rate = done > 0 ? Math.round((b.thisMonth.onTime / done) * 100) : null;
    const table = el(
      'table',
      'by-service',
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          el('th', { text: t('service'), attrs: { scope: 'col' } }),
          el('th', { text: t('received'), attrs: { scope: 'col' } }),
          el('th', { text: t('returned'), attrs: { scope: 'col' } }),
          el('th', { text: t('open'), attrs: { scope: 'col' } }),
          el('th', { text: t('overdue'), attrs: { scope: 'col' } }),
        ),
      ),
      el(
        'tbody',
        {},
        ...b.byService.map((s) =>
          el(
            'tr',
            { attrs: { 'data-service': s.service } },
            el('th', { text: serviceName(s.service), attrs: { scope: 'row' } }),
            el('td', { text: s.received }),
            el('td', { text: s.returned }),
            el('td', { text: s.open }),
            el('td', { class: s.overdue > 0 ? 'bad' : '', text: s.overdue }),
          ),
        ),
      ),
    );
    const more = b.open.ready - b.ready.length;
    fill(
      body,
      el('h1', { text: t('title') }),
      el(
        'div',
        'board-grid',
        group(
          t('today'),
          figure(t('received'), b.today.received, 'today-received'),
          figure(t('returned'), b.today.returned, 'today-returned'),
        ),
        group(
          t('month', { m: month }),
          figure(t('received'), b.thisMonth.received, 'month-received'),
          figure(t('returned'), b.thisMonth.returned, 'month-returned'),
          figure(t('onTime'), b.thisMonth.onTime, 'month-on-time ok'),
          figure(t('late'), b.thisMonth.late, `month-late ${b.thisMonth.late > 0 ? 'bad' : ''}`),
        ),
        group(
          t('open'),
          figure(t('total'), b.open.total, 'open-total'),
          figure(t('overdue'), b.open.overdue, `open-overdue ${b.open.overdue > 0 ? 'bad' : ''}`),
          figure(t('readyCount'), b.open.ready, 'open-ready ok'),
        ),
      ),
      rate === null ? null : el('p', { class: 'on-time-rate', text: t('onTimeRate', { p: rate }) }),
      el('section', 'services', el('h2', { text: t('byService') }), table),
      el(
        'section',
        'ready',
        el('h2', {}, t('ready'), ' ', el('span', { class: 'ready-page' })),
        b.ready.length === 0
          ? el('p', { text: t('noneReady') })
          : el(
              'ul',
              'ready-codes',
              ...b.ready.map((r) =>
                el(
                  'li',
                  { attrs: { 'data-code': r.code } },
                  el('span', { class: 'code', text: r.code }),
                  el('span', { class: 'service', text: serviceName(r.service) }),
                ),
              ),
            ),
        more > 0 ? el('p', { class: 'more-ready', text: t('moreReady', { n: more }) }) : null,
      ),
    );
    paginate();
  }

  // More ready codes than the screen holds (up to 50): shown a page at a time, turning by itself, so none is
  // cut off at the bottom of the TV.
  let readyPage = 0;
  const rotateSeconds = Number(new URLSearchParams(location.search).get('rotate')) || 10;
  function paginate(): void {
    const section = body.querySelector('.ready');
    const list = body.querySelector('.ready-codes');
    const note = body.querySelector('.ready-page');
    if (!section || !list || !note) return;
    const items = [...list.children] as HTMLElement[];
    for (const item of items) item.style.display = '';
    const bottom = section.getBoundingClientRect().bottom;
    const fit = items.filter((i) => i.getBoundingClientRect().bottom <= bottom).length;
    if (fit === 0 || fit >= items.length) {
      note.textContent = '';
      return;
    }
    const pages = Math.ceil(items.length / fit);
    readyPage %= pages;
    items.forEach((item, k) => (item.style.display = Math.floor(k / fit) === readyPage ? '' : 'none'));
    note.textContent = `(${t('page', { n: readyPage + 1, of: pages })})`;
  }
  setInterval(() => {
    readyPage++;
    paginate();
  }, rotateSeconds * 1000);
  addEventListener('resize', paginate);

  const tick = () => {
    const { time, date } = officeClock(new Date(), zone(), currentLang());
    fill(clock, el('span', { text: time }), ' ', el('span', { class: 'date', text: date }));
    updateFreshness();
  };
  link.on(topics.officeState(), (_t, b) => {
    office = b as OfficeStateMsg;
    render();
  });
  link.on(topics.dossierBoard(), (_t, b) => {
    state = b as DossierBoardState;
    arrived = Date.now();
    render();
  });
  onLangChange(render);
  render();
  tick();
  setInterval(tick, 1000);
}

void main();
