// The releases and rollouts page (issue 12): the releases with their bundles per platform; the rollouts of the
// admin's subtree; one rollout's progress per wave and per box (a rolled-back box's last log lines), redrawn
// every few seconds while it is open. Admins start a rollout, pause, resume, abort (after confirming) and start
// the next wave; viewers see the same without buttons.
/* global location, FormData, document, setInterval */
import { unitOptions } from './health.js';
import {
  $,
  actorName,
  badge,
  drawn,
  esc,
  failureText,
  fmt,
  fmtBytes,
  fmtTime,
  getJson,
  isAdmin,
  sendJson,
  state,
  tableHtml,
  unitName,
} from './lib.js';

const ROLLOUT_STATES = {
  running: ['đang chạy', 'up'],
  paused: ['tạm dừng', 'unknown'],
  aborted: ['đã hủy', 'down'],
  completed: ['hoàn tất', 'up'],
};
/** The steps a box goes through, in order, as the progress table names them. */
const STEPS = [
  ['pending', 'Chờ'],
  ['downloading', 'Đang tải'],
  ['installed', 'Đã cài'],
  ['switching', 'Đang chuyển'],
  ['healthy', 'Ổn định'],
  ['rolled_back', 'Đã quay lại'],
  ['failed', 'Thất bại'],
];
const stepName = (s) => STEPS.find(([k]) => k === s)?.[1] ?? s;
const rolloutState = (s) => badge(ROLLOUT_STATES[s]?.[1] ?? 'unknown', ROLLOUT_STATES[s]?.[0] ?? s);
/** How often an open rollout is redrawn (ms). */
const REFRESH_MS = 3_000;
/** The offices of the admin's subtree, by id (the per-box table names them). */
let officeNames = new Map();

/** "1, 5%, 100%" → [{count: 1}, {percent: 5}, {percent: 100}]; null when a part is not a number. */
export function parseWaves(text) {
  const parts = String(text)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const waves = parts.map((p) => {
    const m = /^(\d+)(%?)$/.exec(p);
    if (!m) return null;
    return m[2] ? { percent: Number(m[1]) } : { count: Number(m[1]) };
  });
  return waves.length && waves.every(Boolean) ? waves : null;
}

/** A bundle's size: in MB, or kB below 1 MB (a test bundle). */
const sizeText = (b) => (b < 1024 ** 2 ? `${fmt(b / 1024, 0)} kB` : fmtBytes(b));

const bundlesText = (r) =>
  r.bundles.length
    ? r.bundles.map((b) => `${b.platform} · ${sizeText(b.size)} · ${actorName(b.uploadedBy)}`).join('\n')
    : 'chưa có gói';

function startForm(releases) {
  const versions = releases.filter((r) => r.bundles.length);
  return `<form id="rollout-form" class="stack">
    <h3>Triển khai phiên bản</h3>
    <label>Phiên bản <select name="version" required>${versions
      .map((r) => `<option value="${esc(r.version)}">${esc(r.version)}</option>`)
      .join('')}</select></label>
    <label>Đơn vị <select name="unitId" required>${unitOptions(state.me.unit.id)}</select></label>
    <label>Các đợt (số hộp hoặc %, đợt cuối 100%) <input name="waves" value="1, 5%, 100%" required maxlength="200" /></label>
    <label>Dừng khi số hộp thất bại vượt <input name="abortThreshold" type="number" min="0" value="0" required /></label>
    <label><input name="force" type="checkbox" /> Cài cả ngoài khung giờ cho phép</label>
    <label><input name="allowDowngrade" type="checkbox" /> Cho phép hạ phiên bản</label>
    <button type="submit">Bắt đầu triển khai</button>
    <p id="rollout-msg" class="msg" role="status"></p>
  </form>`;
}

/** What a refused rollout action means, in Vietnamese (the API's own words after it, for the details). */
const REFUSALS = {
  invalid_waves: 'Các đợt chưa đúng (đợt cuối phải là 100%).',
  no_boxes: 'Đơn vị này chưa có hộp nào để cập nhật.',
  release_not_ready: 'Phiên bản chưa có gói nào đã kiểm tra chữ ký.',
  platform_missing: 'Phiên bản thiếu gói cho nền tảng mà một số hộp đang chạy; hãy tải gói đó lên trước.',
  rollout_active: 'Một số hộp đang ở trong một đợt triển khai khác chưa kết thúc.',
  too_many_boxes: 'Đơn vị có quá nhiều hộp cho một đợt triển khai.',
  rollout_state:
    'Trạng thái hiện tại của đợt triển khai không cho phép thao tác này (có thể người khác vừa đổi); hãy mở lại trang.',
};
const refusalText = (e) => (REFUSALS[e.code] ? `${REFUSALS[e.code]} (${e.message})` : failureText(e));

function message(text, ok) {
  const msg = $('#rollout-msg');
  msg.className = `msg ${ok ? 'ok' : 'error'}`;
  msg.textContent = text;
}

/** Draws #/releases[/<rolloutId>]. */
export async function renderReleases(rolloutId) {
  const [{ releases }, { rollouts }] = await Promise.all([
    getJson('/api/v1/releases'),
    getJson('/api/v1/rollouts'),
  ]);
  // Admins list the offices of their subtree; a viewer's page asks the rollout's unit (below) instead.
  if (isAdmin() && officeNames.size === 0)
    officeNames = new Map((await getJson('/api/v1/offices')).map((o) => [o.id, o.name]));
  const tab = $('#tab-releases');
  tab.innerHTML = `<h2>Phiên bản phần mềm</h2>
    ${tableHtml(
      ['Phiên bản', 'Ghi chú', 'Gói theo nền tảng (kích thước · người tải lên)', 'Ngày tạo'],
      releases.map((r) => [
        r.version,
        r.notes,
        { html: `<span class="pre">${esc(bundlesText(r))}</span>` },
        fmtTime(r.createdAt),
      ]),
      ' id="releases"',
    )}
    ${isAdmin() ? startForm(releases) : ''}
    <h2>Các đợt triển khai</h2>
    ${tableHtml(
      ['Phiên bản', 'Đơn vị', 'Trạng thái', 'Lý do', 'Số hộp', 'Bắt đầu', ''],
      rollouts.map((r) => [
        r.version,
        unitName(r.unitId),
        rolloutState(r.state),
        r.reason ?? '',
        fmt(r.boxes, 0),
        fmtTime(r.createdAt),
        { html: `<a href="#/releases/${encodeURIComponent(r.id)}">Xem tiến độ</a>` },
      ]),
      ' id="rollouts"',
    )}
    <section id="rollout" aria-live="polite"></section>`;
  if (isAdmin()) bindStart();
  if (rolloutId) await renderRollout(rolloutId);
  drawn('releases');
}

function bindStart() {
  const form = $('#rollout-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const waves = parseWaves(f.get('waves'));
    if (!waves) {
      message('Các đợt viết như “1, 5%, 100%”: số hộp hoặc phần trăm, cách nhau bằng dấu phẩy.', false);
      drawn('releases');
      return;
    }
    try {
      const r = await sendJson('POST', '/api/v1/rollouts', {
        version: f.get('version'),
        unitId: f.get('unitId'),
        waves,
        abortThreshold: Number(f.get('abortThreshold')),
        force: f.get('force') === 'on',
        allowDowngrade: f.get('allowDowngrade') === 'on',
      });
      location.hash = `#/releases/${encodeURIComponent(r.id)}`;
    } catch (e) {
      message(refusalText(e), false);
      drawn('releases');
    }
  });
}

const ACTIONS = [
  ['pause', 'Tạm dừng', ['running']],
  ['resume', 'Tiếp tục', ['paused']],
  ['next-wave', 'Bắt đầu đợt tiếp theo', ['running', 'paused']],
  ['abort', 'Hủy triển khai', ['running', 'paused']],
];

const ABORT_CONFIRM = `<div id="abort-confirm" hidden role="alertdialog" aria-labelledby="abort-q">
      <p id="abort-q">Hủy đợt triển khai này? Các hộp chưa ổn định sẽ dừng cập nhật; không thể tiếp tục lại.</p>
      <button type="button" class="danger" id="abort-yes">Hủy triển khai</button>
      <button type="button" class="secondary" id="abort-no">Thôi</button>
    </div>`;

/** Draws started so far: a slower, older draw (the timer's) never overwrites a newer one (after an action). */
let drawing = 0;

async function renderRollout(id) {
  const mine = ++drawing;
  const r = await getJson(`/api/v1/rollouts/${encodeURIComponent(id)}`);
  if (r.boxes.some((b) => !officeNames.has(b.officeId))) {
    const direct = await getJson(`/api/v1/health/offices?unit=${encodeURIComponent(r.unitId)}`).catch(
      () => null,
    );
    for (const o of direct?.offices ?? []) officeNames.set(o.id, o.name);
  }
  if (mine !== drawing) return;
  const section = $('#rollout');
  section.dataset.rollout = r.id;
  section.dataset.state = r.state;
  const buttons = isAdmin()
    ? ACTIONS.filter(([, , states]) => states.includes(r.state))
        .map(
          ([a, label]) =>
            `<button type="button" data-action="${a}"${a === 'abort' ? ' class="danger"' : ''}>${label}</button>`,
        )
        .join(' ')
    : '';
  section.innerHTML = `<h2>Tiến độ triển khai ${esc(r.version)} cho ${esc(unitName(r.unitId))}</h2>
    <p>Trạng thái: ${rolloutState(r.state).html}${r.reason ? ` — ${esc(r.reason)}` : ''} ·
      đã bắt đầu ${fmt(r.wavesStarted, 0)}/${fmt(r.progress.length, 0)} đợt · ngưỡng thất bại ${fmt(r.abortThreshold, 0)}</p>
    ${buttons ? `<div class="actions">${buttons}</div>` : ''}
    ${buttons ? ABORT_CONFIRM : ''}
    <p id="rollout-action-msg" class="msg" role="status"></p>
    ${tableHtml(
      ['Đợt', 'Số hộp', 'Bắt đầu', ...STEPS.map(([, n]) => n)],
      r.progress.map((w) => [
        fmt(w.wave, 0),
        fmt(w.size, 0),
        w.startedAt ? fmtTime(w.startedAt) : 'chưa',
        ...STEPS.map(([k]) => fmt(w.counts[k] ?? 0, 0)),
      ]),
      ' id="waves"',
    )}
    ${tableHtml(
      ['Bộ phận', 'Hộp', 'Đợt', 'Bước', 'Lý do', 'Phiên bản đang chạy'],
      r.boxes.map((b) => [
        officeNames.get(b.officeId) ?? b.officeId,
        b.boxId,
        fmt(b.wave, 0),
        stepName(b.state),
        {
          html:
            esc(b.reason ?? '') +
            (b.state === 'rolled_back' && b.logTail.length
              ? `<pre class="log-tail">${esc(b.logTail.join('\n'))}</pre>`
              : ''),
        },
        b.running ?? '–',
      ]),
      ' id="rollout-boxes"',
    )}`;
  for (const tr of section.querySelectorAll('#rollout-boxes tbody tr'))
    tr.dataset.box = r.boxes[[...tr.parentNode.children].indexOf(tr)].boxId;
  if (isAdmin()) bindActions(r.id);
}

function bindActions(id) {
  const act = async (a) => {
    try {
      await sendJson('POST', `/api/v1/rollouts/${encodeURIComponent(id)}/${a}`, {});
      await renderReleases(id);
    } catch (e) {
      $('#rollout-action-msg').className = 'msg error';
      $('#rollout-action-msg').textContent = refusalText(e);
      drawn('releases');
    }
  };
  for (const b of document.querySelectorAll('#rollout [data-action]'))
    b.addEventListener('click', () => {
      if (b.dataset.action !== 'abort') return act(b.dataset.action);
      $('#abort-confirm').hidden = false;
      $('#abort-yes').focus();
    });
  $('#abort-yes')?.addEventListener('click', () => act('abort'));
  $('#abort-no')?.addEventListener('click', () => {
    $('#abort-confirm').hidden = true;
  });
}

// An open rollout that is not final is redrawn while the page is visible (the boxes report on their own);
// an open confirmation is left alone.
setInterval(() => {
  const section = document.getElementById('rollout');
  if (!state.me || !section?.dataset.rollout || $('#tab-releases').hidden || document.hidden) return;
  if (!['running', 'paused'].includes(section.dataset.state) || !($('#abort-confirm')?.hidden ?? true))
    return;
  // Not counted as a page drawn: the browser tests wait on the text, and a timer's draw must not pass for an action's.
  renderRollout(section.dataset.rollout).catch(() => {});
}, REFRESH_MS);
