// The rating tablet at a counter: the clerk's name and photo, the ticket being rated, the office's scale,
// reasons after a low rating, a thank-you, then an idle screen until the next citizen. One rating a ticket.
import type { RatingSession } from '../../../protocol/messages.js';
import { topics } from '../../../protocol/topics.js';
import { authHeader } from '../shared/credential.js';
import { el, fill } from '../shared/dom.js';
import { dictionary, langToggle, onLangChange, pick, setLang } from '../shared/i18n.js';
import { OfflineError } from '../shared/link.js';
import {
  connectionBanner,
  credentialOrPairPage,
  loadSettings,
  startLink,
  type Settings,
} from '../shared/screen.js';
import '../shared/base.css';
import './rating.css';

const t = dictionary({
  counter: { vi: 'Quầy {n}', en: 'Counter {n}' },
  clerk: { vi: 'Công chức tiếp nhận', en: 'Clerk' },
  question: {
    vi: 'Quý khách có hài lòng với việc tiếp nhận hồ sơ số {number}?',
    en: 'How satisfied are you with the service for number {number}?',
  },
  ratingFor: { vi: 'Đánh giá cho số', en: 'Rating for number' },
  notYours: {
    vi: 'Không phải số của quý khách? Xin chờ đến lượt mình được phục vụ.',
    en: 'Not your number? Please wait until you are served.',
  },
  idle: {
    vi: 'Sau khi được phục vụ, xin quý khách vui lòng đánh giá mức độ hài lòng.',
    en: 'After your service, please rate how satisfied you are.',
  },
  welcome: { vi: 'Xin kính chào quý khách', en: 'Welcome' },
  reasonsTitle: {
    vi: 'Rất tiếc vì quý khách chưa hài lòng. Xin cho biết lý do (không bắt buộc):',
    en: 'We are sorry. Tell us why (optional):',
  },
  send: { vi: 'Gửi đánh giá', en: 'Send' },
  skip: { vi: 'Bỏ qua', en: 'Skip' },
  thanks: { vi: 'Cảm ơn quý khách đã đánh giá!', en: 'Thank you for your rating!' },
  thanksMore: {
    vi: 'Ý kiến của quý khách giúp chúng tôi phục vụ tốt hơn.',
    en: 'Your opinion helps us serve you better.',
  },
  failed: { vi: 'Chưa gửi được đánh giá, xin thử lại.', en: 'The rating was not sent; please try again.' },
});

const THANKS_MS = 6000;

/**
 * A face for a level of the scale (0 worst … 3 best), as on HappyOrNot terminals: read at a glance, in any
 * language. Drawn as SVG: no emoji font needed on the tablet.
 */
function face(level: number): SVGSVGElement {
  const NS = 'http://www.w3.org/2000/svg';
  const node = (tag: string, attrs: Record<string, string>) => {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    return n;
  };
  const svg = node('svg', { viewBox: '0 0 100 100', class: 'face', 'aria-hidden': 'true' }) as SVGSVGElement;
  const curve = [-18, 0, 9, 20][level] ?? 0; // the mouth: a frown for 0, straight for 1, a broad smile for 3
  svg.append(
    node('circle', {
      cx: '50',
      cy: '50',
      r: '46',
      fill: 'none',
      stroke: 'currentColor',
      'stroke-width': '7',
    }),
    node('circle', { cx: '34', cy: '40', r: '6', fill: 'currentColor' }),
    node('circle', { cx: '66', cy: '40', r: '6', fill: 'currentColor' }),
    node('path', {
      d: `M28 ${68 - curve / 2} Q50 ${68 + curve} 72 ${68 - curve / 2}`,
      fill: 'none',
      stroke: 'currentColor',
      'stroke-width': '7',
      'stroke-linecap': 'round',
    }),
  );
  return svg;
}
type View = 'idle' | 'rate' | 'reasons' | 'thanks';

async function main(): Promise<void> {
  const cred = credentialOrPairPage('rating');
  if (!cred) return;
  const link = startLink(cred);
  let settings: Settings | null = null;
  let session: RatingSession | null = null;
  let view: View = 'idle';
  let chosen: number | null = null;
  let reasons = new Set<string>();
  let error: string | null = null;
  let sending = false;
  /** Tickets rated on this tablet: a second tap never rates again, whatever the box still shows. */
  const rated = new Set<string>();
  const photos = new Map<string, string | null>();
  let thanksTimer: ReturnType<typeof setTimeout> | undefined;

  const body = el('main', 'rating-body');
  fill(document.body, el('div', 'rating', body, connectionBanner(link)));

  function photoOf(clerkId: string): string | null {
    if (photos.has(clerkId)) return photos.get(clerkId) ?? null;
    photos.set(clerkId, null);
    if (settings?.clerks.find((c) => c.id === clerkId)?.photo && cred)
      void fetch(`/api/screens/clerk-photo/${encodeURIComponent(clerkId)}`, {
        headers: { authorization: authHeader(cred) },
      })
        .then((r) => (r.ok ? r.blob() : null))
        .then((b) => {
          if (b) {
            photos.set(clerkId, URL.createObjectURL(b));
            render();
          }
        })
        .catch(() => photos.delete(clerkId));
    return null;
  }

  function nextView(): View {
    if (view === 'thanks' || view === 'reasons') return view;
    return session?.open && session.ticketId && !rated.has(session.ticketId) ? 'rate' : 'idle';
  }

  async function submit(score: number, withReasons: string[]): Promise<void> {
    if (!session?.ticketId || sending) return;
    const ticketId = session.ticketId;
    sending = true;
    error = null;
    try {
      const payload: Record<string, unknown> = { score, ticketId };
      if (withReasons.length > 0) payload.reasons = withReasons;
      const reply = await link.request(topics.rating(session.counter), payload);
      if (
        reply.status === 'ok' ||
        reply.error?.code === 'already_rated' ||
        reply.error?.code === 'no_rating_session'
      ) {
        rated.add(ticketId);
        view = 'thanks';
        clearTimeout(thanksTimer);
        thanksTimer = setTimeout(() => {
          view = 'idle';
          view = nextView();
          // The next citizen reads Vietnamese, whatever this one chose (as the kiosk's idle reset).
          setLang('vi');
          render();
        }, THANKS_MS);
      } else if (reply.error?.code === 'rating_closed') {
        // The counter called the next number meanwhile: this visit is no longer offered. The idle screen
        // says why, until the next session.
        view = 'idle';
        error = pick(reply.error.message);
      } else {
        error = reply.error ? pick(reply.error.message) : t('failed');
      }
    } catch (err) {
      error = err instanceof OfflineError ? t('failed') : String(err);
    } finally {
      sending = false;
      chosen = null;
      reasons = new Set();
      render();
    }
  }

  function choose(score: number): void {
    const max = session?.scale.length ?? 4;
    const low = score <= Math.floor(max / 2);
    if (low && (settings?.lowRatingReasons.length ?? 0) > 0) {
      chosen = score;
      view = 'reasons';
      render();
      return;
    }
    void submit(score, []);
  }

  function clerkCard(): HTMLElement | null {
    const c = session?.clerk;
    if (!c) return null;
    const src = photoOf(c.id);
    return el(
      'div',
      'clerk-card',
      src
        ? el('img', { class: 'clerk-photo', attrs: { src, alt: c.name } })
        : el('div', { class: 'clerk-photo none', text: c.name.split(' ').pop()?.[0] ?? '?' }),
      el(
        'div',
        'clerk-text',
        el('div', { class: 'clerk-label', text: t('clerk') }),
        el('div', { class: 'clerk-name', text: c.name }),
      ),
    );
  }

  function render(): void {
    view = nextView();
    const head = el(
      'header',
      'rating-head',
      el('div', { class: 'office-name', text: settings?.officeName ?? '' }),
      el('div', {
        class: 'counter-label',
        text: t('counter', { n: session?.counter ?? cred?.counter ?? '' }),
      }),
      langToggle(),
    );
    if (view === 'thanks') {
      fill(
        body,
        head,
        el('div', 'thanks', el('h1', { text: t('thanks') }), el('p', { text: t('thanksMore') })),
      );
      return;
    }
    if (view === 'reasons' && chosen !== null) {
      const score = chosen;
      fill(
        body,
        head,
        el('h1', { class: 'reasons-title', text: t('reasonsTitle') }),
        el(
          'div',
          'reasons',
          ...(settings?.lowRatingReasons ?? []).map((r) =>
            el('button', {
              class: `reason${reasons.has(r) ? ' on' : ''}`,
              text: r,
              attrs: { 'aria-pressed': String(reasons.has(r)) },
              on: {
                click: () => {
                  if (reasons.has(r)) reasons.delete(r);
                  else reasons.add(r);
                  render();
                },
              },
            }),
          ),
        ),
        el(
          'div',
          'reason-actions',
          el('button', { class: 'secondary', text: t('skip'), on: { click: () => void submit(score, []) } }),
          el('button', {
            class: 'primary',
            text: t('send'),
            on: { click: () => void submit(score, [...reasons]) },
          }),
        ),
        error && el('p', { class: 'error', text: error, attrs: { role: 'alert' } }),
      );
      return;
    }
    if (view === 'rate' && session) {
      const scale = [...session.scale].sort((a, b) => b.score - a.score);
      const max = session.scale.length;
      fill(
        body,
        head,
        clerkCard(),
        // Whose visit: the number and service, large, so the next citizen walking up does not rate theirs.
        el(
          'div',
          { class: 'rating-for', attrs: { 'data-ticket': session.ticketId ?? '' } },
          el('span', { class: 'rating-for-label', text: t('ratingFor') }),
          el('span', { class: 'rating-for-number', text: session.number ?? '' }),
          session.service && el('span', { class: 'rating-for-service', text: session.service }),
        ),
        el('h1', { class: 'question', text: t('question', { number: session.number ?? '' }) }),
        el(
          'div',
          'scale',
          ...scale.map((s) => {
            const level = Math.round(((s.score - 1) / Math.max(1, max - 1)) * 3);
            const b = el(
              'button',
              {
                class: `level level-${level}`,
                attrs: { 'data-score': String(s.score) },
                on: { click: () => choose(s.score) },
              },
              face(level),
              el('span', { class: 'level-label', text: pick(s.label) }),
            );
            b.disabled = sending || link.state !== 'online';
            return b;
          }),
        ),
        el('p', { class: 'not-yours', text: t('notYours') }),
        error && el('p', { class: 'error', text: error, attrs: { role: 'alert' } }),
      );
      return;
    }
    fill(
      body,
      head,
      el(
        'div',
        'idle',
        clerkCard(),
        el('h1', { text: t('welcome') }),
        el('p', { text: t('idle') }),
        error && el('p', { class: 'error', text: error, attrs: { role: 'alert' } }),
      ),
    );
  }

  link.on(topics.ratingSession(cred.deviceId), (_t, b) => {
    const before = session?.ticketId ?? null;
    session = b as RatingSession;
    // A half-done rating (reasons) never carries over to another ticket.
    if (view === 'reasons' && (!session.open || session.ticketId !== before)) {
      view = 'idle';
      chosen = null;
      reasons = new Set();
    }
    if (session.ticketId !== before) {
      error = null;
      // Another visit (or none, once the counter calls the next number) than the one this citizen has just
      // rated: the next citizen reads Vietnamese. After a rating, the thank-you screen's end does it.
      if (before !== null && !sending && view !== 'thanks' && !rated.has(before)) setLang('vi');
    }
    render();
  });
  link.onState(render);
  onLangChange(render);
  render();
  settings = await loadSettings(cred);
  render();
}

void main();
