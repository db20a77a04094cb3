// The ticket page (the printed QR code opens it): keeps the citizen's place current without reloading, and
// when the turn is near or the number is called says so on the page, in the tab's title, with a short sound
// and a vibration where the browser allows (both need a tap first: browsers refuse sound and vibration to a
// page the person has not touched, so the page offers the button), and offers the rating once served.
/* global document, navigator, window, fetch, URLSearchParams */
import { $, data, escapeHtml, freshText, poll, servingHtml, t, waitWords } from './shared.js';

let ticket = data.ticket;
let audio = null;
// The ticket's key from its QR code (`#k=…`): it never leaves the phone but in a rating.
const key = new URLSearchParams(window.location.hash.slice(1)).get('k');
// The other language's page is the same ticket: it keeps the key.
const otherLang = document.querySelector('nav.links a[lang]');
if (otherLang && key) otherLang.href += window.location.hash;

function stateKey(x) {
  if (x.state === 'waiting') return x.near ? 'near' : 'waiting';
  return x.state;
}

function stateWords(x) {
  return t(`state_${stateKey(x)}`, { counter: x.counter ?? '' });
}

function title(x) {
  const s = stateKey(x);
  if (s === 'called') return `🔔 ${stateWords(x)} · ${x.number}`;
  if (s === 'near') return `${t('state_near').split(' — ')[0]} · ${x.number}`;
  return `${t('number')} ${x.number} · ${stateWords(x)}`;
}

/** A short two-tone chime, once the person has allowed sound (the button). */
function chime() {
  if (!audio || audio.state !== 'running') return;
  const now = audio.currentTime;
  for (const [i, freq] of [880, 660].entries()) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, now + i * 0.35);
    gain.gain.exponentialRampToValueAtTime(0.4, now + i * 0.35 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.35 + 0.3);
    osc.connect(gain).connect(audio.destination);
    osc.start(now + i * 0.35);
    osc.stop(now + i * 0.35 + 0.32);
  }
}

function alertCitizen(kind) {
  document.body.dataset.alerted = kind;
  chime();
  if (navigator.vibrate) navigator.vibrate(kind === 'called' ? [400, 150, 400, 150, 400] : [300]);
}

function render(x) {
  const before = stateKey(ticket);
  ticket = x;
  const now = stateKey(x);
  $('ticket').dataset.state = now;
  $('service').textContent = x.serviceName ?? x.service;
  $('state').textContent = stateWords(x);
  const aheadLine = $('ahead-line');
  if (x.ahead !== null) {
    aheadLine.innerHTML = t('ahead', { ahead: x.ahead, wait: escapeHtml(waitWords(x.estimatedWaitMin)) });
    aheadLine.hidden = false;
  } else aheadLine.hidden = true;
  $('serving').innerHTML = servingHtml(x.nowServing);
  $('live').hidden = x.state === 'finished' || x.state === 'no_show';
  $('fresh').textContent = freshText(x.asOf, x.heardAt);
  document.title = title(x);
  renderRating(x.rating);
  if (now !== before && (now === 'near' || now === 'called')) alertCitizen(now);
}

function renderRating(r) {
  const box = $('rating');
  if (!r) return;
  const show = r.open || r.score !== null || r.reason === 'already_rated';
  box.hidden = !show;
  // Without the ticket's key (the page opened from its address, not its QR code) no rating is asked.
  $('rating-ask').hidden = !r.open || !key;
  $('rating-buttons').hidden = !r.open || !key;
  if (r.open) $('rating-result').textContent = key ? '' : t('rating_needs_qr');
  else if (r.reason === 'already_rated' && r.score !== null && box.dataset.thanked === '1')
    $('rating-result').textContent = t('ratingThanks');
  else if (r.reason) $('rating-result').textContent = t(`rating_${r.reason}`);
}

$('alerts').addEventListener('click', () => {
  const button = $('alerts');
  const Ctx = window.AudioContext ?? window.webkitAudioContext;
  if (Ctx && !audio) audio = new Ctx();
  void audio?.resume();
  button.setAttribute('aria-pressed', 'true');
  button.textContent = t('alertsOn');
  if (navigator.vibrate) navigator.vibrate(50);
});

for (const b of document.querySelectorAll('#rating-buttons button')) {
  b.addEventListener('click', async () => {
    for (const x of document.querySelectorAll('#rating-buttons button')) x.disabled = true;
    const res = await fetch(`${data.rate}${data.lang === 'en' ? '?lang=en' : ''}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ score: Number(b.dataset.score), key }),
    }).catch(() => null);
    const body = res ? await res.json().catch(() => ({})) : {};
    if (res?.ok) {
      $('rating').dataset.thanked = '1';
      ticket = { ...ticket, rating: body };
      renderRating(body);
      $('rating-result').textContent = t('ratingThanks');
    } else {
      $('rating-result').textContent = body.message ?? t('offline');
      for (const x of document.querySelectorAll('#rating-buttons button')) x.disabled = false;
      if (res?.status === 409) {
        $('rating-ask').hidden = true;
        $('rating-buttons').hidden = true;
      }
    }
  });
}

document.title = title(ticket);
renderRating(ticket.rating);
const over = (x) => x.state === 'no_show' || (x.state === 'finished' && !x.rating?.open);
if (!over(ticket))
  poll(data.json, ticket.pollSeconds ?? 10, (x) => {
    render(x);
    return !over(x);
  });
