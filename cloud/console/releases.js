// The releases and rollouts page (issue 12): the releases with their bundles per platform; the rollouts of the
// admin's subtree; one rollout's progress per wave and per box (a rolled-back box's last log lines), redrawn
// every few seconds while it is open. Admins of a top unit upload a release (its bundles' files, with notes);
// admins start a rollout, pause, resume, abort (after confirming) and start the next wave; viewers see the same
// without forms or buttons.
/* global location, FormData, document, setInterval, btoa, TextEncoder */
import { unitOptions } from './health.js';
import {
  $,
  actorName,
  api,
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

/** Releases reach the whole fleet: only an admin of a top unit (a province) uploads them (the API says so too). */
const mayUpload = () => isAdmin() && state.me.unit?.parent_id === null;

function uploadForm() {
  return `<form id="upload-form" class="stack">
    <h3>Tải lên phiên bản mới</h3>
    <p class="hint">Chọn các tệp mà <code>npm run release</code> tạo cho mỗi nền tảng: gói <code>.tar.gz</code>,
      <code>.manifest.json</code> và <code>.manifest.sig</code>. Chữ ký được kiểm tra trước khi nhận gói.</p>
    <label>Các tệp của phiên bản <input name="files" type="file" multiple required
      accept=".gz,.json,.sig,application/gzip,application/json" /></label>
    <label>Ghi chú phát hành <textarea name="notes" rows="3" maxlength="4000" required></textarea></label>
    <button type="submit">Tải lên</button>
    <p id="upload-msg" class="msg${uploaded ? ' ok' : ''}" role="status">${esc(uploaded)}</p>
  </form>`;
}
/** What the last upload did, shown once in the form drawn after it. */
let uploaded = '';

/**
 * The chosen files grouped per platform: each `<name>.manifest.json` with its `<name>.manifest.sig` and the
 * tarball its manifest names. Returns {bundles: [{platform, version, manifestText, sig, tarball}]} or {error}.
 */
export async function groupBundleFiles(files) {
  const byName = new Map([...files].map((f) => [f.name, f]));
  const manifests = [...files].filter((f) => f.name.endsWith('.manifest.json'));
  if (!manifests.length) return { error: 'Chưa chọn tệp .manifest.json nào.' };
  const bundles = [];
  for (const m of manifests) {
    const text = await m.text();
    let manifest;
    try {
      manifest = JSON.parse(text);
    } catch {
      return { error: `${m.name} không phải JSON hợp lệ.` };
    }
    const sig = byName.get(m.name.replace(/\.json$/, '.sig'));
    const tarball = byName.get(manifest.file);
    if (!sig) return { error: `Thiếu tệp chữ ký ${m.name.replace(/\.json$/, '.sig')}.` };
    if (!tarball) return { error: `Thiếu gói ${manifest.file} mà ${m.name} nêu.` };
    bundles.push({
      platform: manifest.platform,
      version: manifest.version,
      manifestText: text,
      sig: (await sig.text()).trim(),
      tarball,
    });
  }
  const versions = new Set(bundles.map((b) => b.version));
  if (versions.size > 1)
    return { error: `Các gói thuộc nhiều phiên bản (${[...versions].join(', ')}): chọn một phiên bản.` };
  return { bundles };
}

/** UTF-8 text → base64 (the manifest travels in a header). */
const base64 = (text) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));

function uploadMessage(text, ok) {
  const msg = $('#upload-msg');
  msg.className = `msg ${ok ? 'ok' : 'error'}`;
  msg.textContent = text;
}

function bindUpload() {
  const form = $('#upload-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const grouped = await groupBundleFiles(form.elements.files.files);
    if (grouped.error) {
      uploadMessage(grouped.error, false);
      drawn('releases');
      return;
    }
    const { bundles } = grouped;
    const version = bundles[0].version;
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      try {
        await sendJson('POST', '/api/v1/releases', { version, notes: String(f.get('notes')) });
      } catch (e) {
        if (e.code !== 'release_exists') throw e; // adding a platform to a release made before
      }
      for (const [i, b] of bundles.entries()) {
        uploadMessage(
          `Đang tải lên gói ${b.platform} (${i + 1}/${bundles.length}, ${sizeText(b.tarball.size)})…`,
          true,
        );
        await api(
          `/api/v1/releases/${encodeURIComponent(version)}/bundles/${encodeURIComponent(b.platform)}`,
          {
            method: 'PUT',
            body: b.tarball,
            headers: {
              'content-type': 'application/octet-stream',
              'x-release-manifest': base64(b.manifestText),
              'x-release-signature': b.sig,
            },
          },
        );
      }
      uploaded = `Đã tải lên phiên bản ${version}: ${bundles.map((b) => b.platform).join(', ')} (chữ ký hợp lệ).`;
      await renderReleases();
      uploaded = '';
    } catch (e) {
      // The release may have been made before a bundle was refused: the list shows it (the form keeps its
      // files and notes, to try again).
      const { releases } = await getJson('/api/v1/releases').catch(() => ({ releases: null }));
      if (releases) $('#releases').outerHTML = releasesTable(releases);
      uploadMessage(uploadRefusal(e), false);
      button.disabled = false;
      drawn('releases');
    }
  });
}

/** A refused bundle, in Vietnamese: what did not match (the API's words after it). */
const BUNDLE_REFUSALS = {
  signature:
    'Chữ ký không khớp với khóa phát hành của hệ thống: gói bị sửa sau khi ký hoặc ký bằng khóa khác.',
  manifest: 'Tệp manifest không hợp lệ.',
  platform: 'Gói dành cho nền tảng khác.',
  size: 'Kích thước gói không khớp với manifest (gói bị cắt?).',
  hash: 'Mã băm SHA-256 của gói không khớp với manifest.',
};
function uploadRefusal(e) {
  if (e.code === 'bundle_refused' && BUNDLE_REFUSALS[e.detail?.reason])
    return `Gói bị từ chối: ${BUNDLE_REFUSALS[e.detail.reason]} (${e.message})`;
  return failureText(e);
}

const releasesTable = (releases) =>
  tableHtml(
    ['Phiên bản', 'Ghi chú', 'Gói theo nền tảng (kích thước · người tải lên)', 'Ngày tạo'],
    releases.map((r) => [
      r.version,
      r.notes,
      { html: `<span class="pre">${esc(bundlesText(r))}</span>` },
      fmtTime(r.createdAt),
    ]),
    ' id="releases"',
  );

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
    ${releasesTable(releases)}
    ${mayUpload() ? uploadForm() : ''}
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
  if (mayUpload()) bindUpload();
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

/**
 * Draws a rollout. A draw overtaken by a newer one (the page's timer, an action) does not draw its older
 * answer, and ends when the newer one has drawn: an action's caller then sees its result on screen, not the
 * state before it (a timer's draw started after the click made the action's own draw stand aside, and the
 * page said it was drawn while the timer's answer was still on its way).
 */
let newestDraw = Promise.resolve();
function renderRollout(id) {
  const draw = drawRollout(id, ++drawing);
  newestDraw = draw;
  return draw;
}

async function drawRollout(id, mine) {
  const r = await getJson(`/api/v1/rollouts/${encodeURIComponent(id)}`);
  if (r.boxes.some((b) => !officeNames.has(b.officeId))) {
    const direct = await getJson(`/api/v1/health/offices?unit=${encodeURIComponent(r.unitId)}`).catch(
      () => null,
    );
    for (const o of direct?.offices ?? []) officeNames.set(o.id, o.name);
  }
  if (mine !== drawing) return newestDraw;
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
