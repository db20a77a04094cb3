// The office's live wait page: redraws each service's figures from the JSON endpoint, without reloading.
/* global document */
import { $, data, escapeHtml, freshText, poll, servingHtml, t, waitWords } from './shared.js';

function render(w) {
  const list =
    w.services.length === 0
      ? `<p>${escapeHtml(t('noServices'))}</p>`
      : `<ul class="services">${w.services
          .map(
            (s) => `<li data-service="${escapeHtml(s.service)}"><h2>${escapeHtml(s.name)}</h2>
<dl><div><dt>${escapeHtml(t('waiting'))}</dt><dd class="waiting">${escapeHtml(t('people', { n: s.waiting }))}</dd></div>
<div><dt>${escapeHtml(t('serving'))}</dt><dd class="serving">${servingHtml(s.nowServing)}</dd></div>
<div><dt>${escapeHtml(t('estimate'))}</dt><dd class="estimate">${escapeHtml(waitWords(s.estimatedWaitMin))}</dd></div></dl></li>`,
          )
          .join('')}</ul>`;
  $('services').innerHTML = list;
  $('fresh').textContent = freshText(w.asOf, w.heardAt);
}

document.body.dataset.updates = '0';
poll(data.json, data.wait.pollSeconds ?? 10, (w) => {
  render(w);
  return true;
});
