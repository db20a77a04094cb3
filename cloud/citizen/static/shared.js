// What the citizen's pages share: their data, the texts in their language, times in the office's zone, and the
// poll loop — one ask every `pollSeconds`, slower after a failure (Retry-After when the cloud gives one), and
// none after `pollMaxMinutes` (a button asks again): a phone left open all day must not ask all day.
/* global document, fetch, setTimeout, clearTimeout */

export const $ = (id) => document.getElementById(id);

export const data = JSON.parse($('page-data').textContent);
const texts = data.texts;

export function t(key, vars = {}) {
  return (texts[key] ?? key).replace(/\{(\w+)\}/g, (_m, k) => String(vars[k] ?? ''));
}

export function escapeHtml(s) {
  return String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
}

export function clockTime(ms) {
  return new Date(ms).toLocaleTimeString('vi-VN', {
    timeZone: data.timezone,
    hour: '2-digit',
    minute: '2-digit',
  });
}

export function waitWords(minutes) {
  if (minutes === null || minutes === undefined) return t('estimateNone');
  return minutes < 5 ? t('waitUnder') : t('waitAbout', { n: minutes });
}

export function servingHtml(list) {
  if (!list || list.length === 0) return escapeHtml(t('servingNone'));
  return list
    .map((s) => `<b>${escapeHtml(s.number)}</b> (${escapeHtml(t('counter', { n: s.counter }))})`)
    .join(', ');
}

/** "Office figures as of 08:10 (40 s ago)", marked when older than the page's staleness bound. */
export function freshText(asOf, heardAt, now = Date.now()) {
  const at = Math.max(asOf ? Date.parse(asOf) : 0, heardAt ? Date.parse(heardAt) : 0);
  if (at === 0) return t('freshNone');
  const s = Math.max(0, Math.round((now - at) / 1000));
  const age = s < 120 ? t('ageSeconds', { n: s }) : t('ageMinutes', { n: Math.round(s / 60) });
  const line = t('fresh', { time: clockTime(at), age });
  return now - at > data.staleAfterMs ? `${line} — ${t('stale')}` : line;
}

/**
 * Asks `url` every `pollSeconds` (from the last answer) and hands each answer to `onData`, which returns false
 * to stop. Failures are shown and retried later; after `pollMaxMinutes` the loop stops until the button.
 */
export function poll(url, pollSeconds, onData) {
  const started = Date.now();
  let delay = pollSeconds * 1000;
  let timer = null;
  const paused = $('paused');
  const stop = () => {
    paused.hidden = false;
  };
  const ask = async () => {
    timer = null;
    if (Date.now() - started > data.pollMaxMinutes * 60_000) return stop();
    let next = pollSeconds * 1000;
    try {
      const res = await fetch(url, { headers: { accept: 'application/json' }, cache: 'no-store' });
      if (res.status === 429) {
        const after = Number(res.headers.get('retry-after'));
        next = Math.max(next, (Number.isFinite(after) && after > 0 ? after : 60) * 1000);
        throw new Error('rate limited');
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = await res.json();
      delay = pollSeconds * 1000;
      document.body.dataset.updates = String(Number(document.body.dataset.updates ?? 0) + 1);
      if (onData(body) === false) return;
    } catch {
      // Slower and slower while the cloud is away (at most a minute), and say so.
      delay = Math.min(delay * 2, 60_000);
      next = Math.max(next, delay);
      const fresh = $('fresh');
      if (fresh && !fresh.textContent.endsWith(t('offline'))) fresh.textContent += ` — ${t('offline')}`;
    }
    timer = setTimeout(ask, next);
  };
  $('reload')?.addEventListener('click', () => {
    paused.hidden = true;
    if (timer) clearTimeout(timer);
    poll(url, pollSeconds, onData);
  });
  timer = setTimeout(ask, pollSeconds * 1000);
}
