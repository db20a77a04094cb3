// The lobby TV: each counter's current number with the newest call highlighted, recent calls, waiting
// counts and estimated waits per service, the office name, a clock and a scrolling notice.
import type { EventEnvelope } from '../../../protocol/events.js';
import type { CounterStateMsg, OfficeStateMsg, ServiceStateMsg } from '../../../protocol/messages.js';
import { el, fill } from '../shared/dom.js';
import { currentLang, dictionary, onLangChange } from '../shared/i18n.js';
import {
  connectionBanner,
  credentialOrPairPage,
  loadSettings,
  officeClock,
  startLink,
  waitWords,
  type Settings,
} from '../shared/screen.js';
import '../shared/base.css';
import './tv.css';

const t = dictionary({
  nowCalling: { vi: 'Mời số {number} đến {counter}', en: 'Number {number}, please go to {counter}' },
  counter: { vi: 'Quầy {n}', en: 'Counter {n}' },
  closed: { vi: 'Đóng', en: 'Closed' },
  paused: { vi: 'Tạm dừng', en: 'Paused' },
  pausedWith: { vi: 'Đang tiếp số {number}', en: 'Still with number {number}' },
  idle: { vi: 'Chưa gọi số', en: 'Waiting to call' },
  recent: { vi: 'Số vừa gọi', en: 'Recent calls' },
  noCalls: { vi: 'Chưa có số nào được gọi', en: 'No calls yet' },
  waiting: { vi: 'Đang chờ: {n}', en: 'Waiting: {n}' },
  notAccepting: { vi: 'Ngừng cấp số', en: 'Not issuing' },
  services: { vi: 'Lĩnh vực', en: 'Services' },
  welcome: { vi: 'Xin kính chào quý khách', en: 'Welcome' },
});

interface Call {
  ticketId: string;
  number: string;
  counter: number;
  at: number;
  recall: boolean;
}

// Declared with `import type`: these are the protocol's published message shapes.
type CalledData = { ticketId: string; number: string; counter: number };

const HIGHLIGHT_MS = 15_000;
const TAKEOVER_MS = 6_000;

async function main(): Promise<void> {
  const cred = credentialOrPairPage('display');
  if (!cred) return;
  const link = startLink(cred);
  let settings: Settings | null = null;
  let office: OfficeStateMsg | null = null;
  const counters = new Map<number, CounterStateMsg>();
  const services = new Map<string, ServiceStateMsg>();
  let calls: Call[] = [];
  let seededFromState = false;

  const officeName = el('h1', 'office-name');
  const nowCalling = el('div', { class: 'now-calling', attrs: { 'aria-live': 'assertive' } });
  const clockTime = el('div', 'clock-time');
  const clockDate = el('div', 'clock-date');
  const countersBox = el('section', 'counters');
  const recentTitle = el('h2');
  const recentList = el('ol', 'recent-list');
  const servicesBox = el('section', 'services');
  const noticeText = el('span', 'notice-text');
  const notice = el('footer', 'notice', noticeText);
  const root = el(
    'div',
    'tv',
    el('header', 'tv-head', officeName, nowCalling, el('div', 'clock', clockTime, clockDate)),
    el('main', 'tv-main', countersBox, el('aside', 'recent', recentTitle, recentList)),
    servicesBox,
    notice,
    connectionBanner(link),
  );
  const takeover = el('div', { class: 'takeover', attrs: { 'aria-hidden': 'true' } });
  takeover.hidden = true;
  fill(document.body, root, takeover);

  const counterLabel = (n: number) => t('counter', { n });
  const newest = () => calls[0];
  const highlighted = (ticketId: string | undefined) => {
    const c = newest();
    return c !== undefined && c.ticketId === ticketId && Date.now() - c.at < HIGHLIGHT_MS;
  };

  function renderHead(): void {
    officeName.textContent = office?.name ?? settings?.officeName ?? '';
    const c = newest();
    if (c && Date.now() - c.at < HIGHLIGHT_MS) {
      nowCalling.className = 'now-calling active';
      fill(nowCalling, ...callWords(c));
    } else {
      nowCalling.className = 'now-calling';
      nowCalling.textContent = t('welcome');
    }
  }

  /** "Mời số A001 đến Quầy 1" with the number (and counter) as large as a card's number. */
  function callWords(c: Call): (HTMLElement | string)[] {
    const [before, after] = t('nowCalling', { number: '\u0000', counter: '\u0001' }).split('\u0000') as [
      string,
      string,
    ];
    const [middle, end] = after.split('\u0001') as [string, string];
    return [
      before,
      el('span', { class: 'call-number', text: c.number }),
      middle,
      el('span', { class: 'call-counter', text: counterLabel(c.counter) }),
      end,
    ];
  }

  /**
   * A new call takes over the screen for TAKEOVER_MS (as lobby displays do: a citizen looking up sees only
   * the number and the counter), then the board comes back with the call highlighted.
   */
  let takeoverTimer: ReturnType<typeof setTimeout> | undefined;
  function showTakeover(c: Call): void {
    fill(takeover, el('div', 'takeover-call', ...callWords(c)));
    takeover.hidden = false;
    clearTimeout(takeoverTimer);
    takeoverTimer = setTimeout(() => {
      takeover.hidden = true;
    }, TAKEOVER_MS);
  }

  /** The card's title: the counter's own name when it says its number, else "Quầy N · name". */
  function cardTitle(n: number, name: string | undefined): string {
    const label = counterLabel(n);
    if (!name || name === label) return label;
    return new RegExp(`\\b${n}\\b`).test(name) ? name : `${label} · ${name}`;
  }

  function renderCounters(): void {
    const numbers = office
      ? office.counters.map((c) => c.number)
      : [...counters.keys()].sort((a, b) => a - b);
    // Cards as near square as the area allows: 4 counters 2×2, 6 as 3×2, 8 as 4×2, 12 as 4×3.
    const cols = numbers.length <= 4 ? 2 : numbers.length <= 6 ? 3 : numbers.length <= 12 ? 4 : 5;
    countersBox.style.gridTemplateColumns = `repeat(${cols}, minmax(0, 1fr))`;
    fill(
      countersBox,
      ...numbers.map((n) => {
        const s = counters.get(n);
        const current = s?.current ?? null;
        const status = s?.status ?? 'closed';
        const hot = status !== 'paused' && highlighted(current?.ticketId);
        // A paused counter says so in its big line, whoever is still at it: citizens must not wait for a
        // call from it. The number still with the clerk stays, smaller, for its owner.
        const big =
          status === 'closed'
            ? t('closed')
            : status === 'paused'
              ? t('paused')
              : current
                ? current.number
                : '—';
        return el(
          'div',
          {
            class: `counter status-${status}${hot ? ' hot' : ''}${current ? ' has-ticket' : ''}`,
            attrs: { 'data-counter': String(n) },
          },
          el(
            'div',
            'counter-no',
            cardTitle(n, s?.name ?? office?.counters.find((c) => c.number === n)?.name),
          ),
          el('div', { class: 'counter-ticket', text: big }),
          el('div', {
            class: 'counter-clerk',
            text:
              status === 'paused'
                ? current
                  ? t('pausedWith', { number: current.number })
                  : ''
                : (s?.clerk?.name ?? ''),
          }),
        );
      }),
    );
  }

  function renderRecent(): void {
    recentTitle.textContent = t('recent');
    if (calls.length === 0) return fill(recentList, el('li', { class: 'empty', text: t('noCalls') }));
    fill(
      recentList,
      ...calls
        .slice(0, 7)
        .map((c, i) =>
          el(
            'li',
            i === 0 ? 'first' : '',
            el('span', { class: 'recent-number', text: c.number }),
            el('span', { class: 'recent-arrow', text: '→' }),
            el('span', { class: 'recent-counter', text: counterLabel(c.counter) }),
          ),
        ),
    );
  }

  function renderServices(): void {
    const ids = office ? office.services.map((s) => s.id) : [...services.keys()];
    fill(
      servicesBox,
      ...ids.map((id) => {
        const s = services.get(id);
        const name = s?.name ?? office?.services.find((x) => x.id === id)?.name ?? id;
        const wait = !s
          ? ''
          : !s.accepting
            ? t('notAccepting')
            : (waitWords(s.estimatedWaitMin, s.waiting, true) ?? '');
        return el(
          'div',
          { class: `service${s && !s.accepting ? ' closed' : ''}`, attrs: { 'data-service': id } },
          el('div', { class: 'service-name', text: name }),
          el('div', { class: 'service-waiting', text: t('waiting', { n: s?.waiting ?? 0 }) }),
          el('div', { class: 'service-wait', text: wait }),
        );
      }),
    );
  }

  function renderNotice(): void {
    // An admin's notice from the cloud (fleet command) goes before the screen's own, until its end time.
    const admin = office?.notice;
    const live = admin && Date.parse(admin.until) > Date.now() ? admin : null;
    const text = live
      ? currentLang() === 'en' && live.text.en
        ? live.text.en
        : live.text.vi
      : (settings?.notice ?? '');
    notice.hidden = text === '';
    if (noticeText.textContent !== text) {
      noticeText.textContent = text;
      // About 12 characters a second, whatever the length.
      noticeText.style.animationDuration = `${Math.max(15, Math.round(text.length / 6))}s`;
    }
  }

  function renderClock(): void {
    const { time, date } = officeClock(new Date(), office?.timezone, currentLang());
    clockTime.textContent = time;
    clockDate.textContent = date;
  }

  const renderAll = () => {
    renderHead();
    renderCounters();
    renderRecent();
    renderServices();
    renderNotice();
    renderClock();
  };

  /** A TV opened mid-day has missed the call events: start its list from the counters' current tickets. */
  function seedCalls(): void {
    const known = new Set(calls.map((c) => c.ticketId));
    const fromState: Call[] = [];
    for (const s of counters.values())
      if (s.current && !known.has(s.current.ticketId))
        fromState.push({
          ticketId: s.current.ticketId,
          number: s.current.number,
          counter: s.counter,
          at: 0, // not a new call: never highlighted
          recall: false,
        });
    calls = [...calls, ...fromState].sort((a, b) => b.at - a.at);
  }

  link.on('lobby/v1/state/office', (_t, body) => {
    office = body as OfficeStateMsg;
    renderAll();
  });
  link.on('lobby/v1/state/counters/+', (_t, body) => {
    const s = body as CounterStateMsg;
    counters.set(s.counter, s);
    if (!seededFromState) {
      // Retained states arrive together on subscribe; seed once they are in.
      setTimeout(() => {
        if (!seededFromState) {
          seededFromState = true;
          seedCalls();
          renderRecent();
        }
      }, 300);
    }
    renderCounters();
  });
  link.on('lobby/v1/state/services/+', (_t, body) => {
    const s = body as ServiceStateMsg;
    services.set(s.service, s);
    renderServices();
  });
  const onCall = (recall: boolean) => (_t: string, body: unknown) => {
    const e = body as EventEnvelope;
    const d = e.data as CalledData;
    calls = [
      { ticketId: d.ticketId, number: d.number, counter: d.counter, at: Date.now(), recall },
      ...calls.filter((c) => c.ticketId !== d.ticketId),
    ].slice(0, 20);
    chime();
    const first = calls[0];
    if (first) showTakeover(first);
    renderHead();
    renderCounters();
    renderRecent();
  };
  link.on('lobby/v1/events/ticket/called', onCall(false));
  link.on('lobby/v1/events/ticket/recalled', onCall(true));
  link.on('lobby/v1/events/day/started', () => {
    calls = [];
    renderAll();
  });
  link.onState((s) => {
    // After a reconnect the retained state is sent again; take counters' current tickets anew.
    if (s === 'online') seededFromState = false;
  });

  let audio: AudioContext | null = null;
  function chime(): void {
    const wanted = new URLSearchParams(location.search).get('chime');
    if (wanted === '0' || (!settings?.chime && wanted !== '1')) return;
    try {
      audio ??= new AudioContext();
      void audio.resume();
      const start = audio.currentTime;
      for (const [i, freq] of [880, 660].entries()) {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, start + i * 0.45);
        gain.gain.exponentialRampToValueAtTime(0.4, start + i * 0.45 + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + i * 0.45 + 0.9);
        osc.connect(gain).connect(audio.destination);
        osc.start(start + i * 0.45);
        osc.stop(start + i * 0.45 + 1);
      }
    } catch {
      // no audio device, or the browser blocks sound until someone touches the screen
    }
  }

  onLangChange(renderAll);
  setInterval(() => {
    renderClock();
    renderHead(); // the highlight fades after a while
    if (newest() && Date.now() - (newest()?.at ?? 0) < HIGHLIGHT_MS + 1500) renderCounters();
  }, 1000);
  renderAll();
  settings = await loadSettings(cred);
  renderAll();
}

void main();
