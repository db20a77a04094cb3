// The office page's Commands panel (issue 11): the office's commands newest first — kind, parameters in words, who
// queued it, its state and times on the office's clock — refreshed while any is unfinished; a result to read
// (diagnostics with its log lines, a pairing code big with its QR code); for admins, a form per kind (restart
// asks first), the expiry to choose and a cancel button on a command the box has not got yet. Viewers see the
// list only. The API is cloud/README.md "Fleet commands"; the kinds and their params protocol/fleet-commands.ts.
/* global document, FormData, setTimeout, clearTimeout */
import {
  $,
  $$,
  ApiFailure,
  actorName,
  badge,
  deviceRoleName,
  drawn,
  esc,
  fmtBytes,
  fmtDuration,
  fmtTime,
  getJson,
  isAdmin,
  sendJson,
  tableHtml,
} from './lib.js';

/** How often the list is read again while a command is unfinished. */
const REFRESH_MS = 2000;
/** The newest commands shown (the API answers up to 500). */
const LIST_LIMIT = 50;
/** Roles that pair by a code (device/fleet/box-commands.ts SCREEN_ROLES). */
const SCREEN_ROLES = ['display', 'kiosk', 'rating', 'clerk-panel', 'lookup'];

export const KIND_NAMES = {
  restart: 'Khởi động lại hộp',
  reprint: 'In lại phiếu',
  'test-call': 'Gọi thử',
  notice: 'Thông báo trên TV và bảng LED',
  counter: 'Mở/đóng quầy',
  'pair-screen': 'Ghép nối màn hình',
  diagnostics: 'Chẩn đoán',
};
const STATE_NAMES = {
  pending: 'Chờ gửi',
  delivered: 'Đã nhận',
  succeeded: 'Thành công',
  failed: 'Thất bại',
  expired: 'Hết hạn',
  cancelled: 'Đã hủy',
};
const STATE_BADGE = { succeeded: 'up', failed: 'down', expired: 'down' };
const UNFINISHED = ['pending', 'delivered'];
const EXPIRIES = [
  [3600, '1 giờ'],
  [6 * 3600, '6 giờ'],
  [86_400, '24 giờ'],
  [3 * 86_400, '3 ngày'],
  [7 * 86_400, '7 ngày'],
  [30 * 86_400, '30 ngày'],
];

/** What a command asks, in words. */
function paramsText(kind, p, tz) {
  p = p ?? {};
  switch (kind) {
    case 'restart':
      return 'Khởi động lại phần mềm của hộp';
    case 'reprint':
      return `Phiếu số ${p.number}${p.kiosk ? ` tại ki-ốt ${p.kiosk}` : ''}`;
    case 'test-call':
      return `Quầy ${p.counter}`;
    case 'notice':
      return `“${p.text?.vi ?? ''}”${p.text?.en ? ` / “${p.text.en}”` : ''} đến ${fmtTime(p.until, tz)}`;
    case 'counter':
      return `${p.action === 'open' ? 'Mở' : 'Đóng'} quầy ${p.counter}`;
    case 'pair-screen':
      return `Thiết bị ${p.device}`;
    case 'diagnostics':
      return `${p.logLines ?? 200} dòng nhật ký gần nhất`;
    default:
      return JSON.stringify(p);
  }
}

/** A refusal of the commands API, as something the admin can act on. */
export function commandFailureText(e) {
  if (!(e instanceof ApiFailure)) return e.message;
  const api = e.message.replace(/ \([a-z_]+\)$/, '');
  switch (e.code) {
    case 'forbidden':
      return 'Tài khoản chỉ xem không được gửi hay hủy lệnh. Hãy nhờ quản trị viên của đơn vị.';
    case 'outside_scope':
      return 'Bộ phận này nằm ngoài phạm vi tài khoản của bạn.';
    case 'too_many_commands':
      return 'Hộp đã có 100 lệnh chưa xong: chờ hộp chạy xong, hoặc hủy bớt các lệnh đang chờ gửi rồi gửi lại.';
    case 'no_box':
      return 'Bộ phận chưa có hộp điều khiển nào được kích hoạt: kích hoạt hộp rồi gửi lại.';
    case 'invalid_params':
      return `Thông số chưa đúng, chưa gửi gì — sửa rồi gửi lại (${api}).`;
    case 'params_too_large':
      return 'Nội dung quá dài (tối đa 4 KiB): rút ngắn rồi gửi lại.';
    case 'invalid_expiry':
      return 'Thời hạn của lệnh phải từ 1 phút đến 30 ngày.';
    case 'not_pending':
      return `Không hủy được: hộp đã nhận lệnh này hoặc lệnh đã xong (${api}).`;
    default:
      return `${api || e.message} (HTTP ${e.status})`;
  }
}

/** A time typed as the office's clock shows it ("2026-12-06T17:00" in `tz`) → ISO 8601 in UTC. */
export function zonedToIso(local, tz) {
  const [d, t] = local.split('T');
  const [y, mo, da] = d.split('-').map(Number);
  const [h, mi] = t.split(':').map(Number);
  const guess = Date.UTC(y, mo - 1, da, h, mi);
  // The office's offset at that instant: what its clock shows for `guess`, minus `guess`.
  const shown = (ms) => {
    const p = Object.fromEntries(
      new Intl.DateTimeFormat('en-GB', {
        timeZone: tz,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
      })
        .formatToParts(new Date(ms))
        .map((x) => [x.type, x.value]),
    );
    return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute);
  };
  return new Date(guess - (shown(guess) - guess)).toISOString();
}

/** An instant as an office-clock value for <input type="datetime-local">. */
const zonedLocal = (ms, tz) =>
  new Intl.DateTimeFormat('sv-SE', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  })
    .format(new Date(ms))
    .replace(' ', 'T');

let timer = null;
let current = null;

/**
 * Draws the panel into the office page's `section[data-panel=commands]` and shows it. `peripherals`: the
 * office's devices as its boxes report them (for the pair-screen form).
 */
export async function renderCommands(officeId, { tz, peripherals = [] }) {
  clearTimeout(timer);
  const section = $('#office-commands');
  if (!section) return;
  current = { officeId, tz, section };
  section.hidden = false;
  section.innerHTML = `<h2 id="h-commands">Lệnh điều khiển</h2>
    <p class="hint">Lệnh được gửi đến hộp điều khiển của bộ phận ở lần hộp kết nối tới; hộp chạy mỗi lệnh một lần.</p>
    ${isAdmin() ? formHtml(tz, peripherals) : '<p class="hint">Tài khoản chỉ xem: thấy các lệnh, không gửi hay hủy được.</p>'}
    <p id="command-msg" class="msg" role="status"></p>
    <h3 id="h-command-list">Các lệnh gần đây</h3>
    <div id="commands-list"></div>
    <div id="command-result" tabindex="-1"></div>`;
  if (isAdmin()) bindForm(officeId, tz);
  await refreshList();
}

function expiryOptions() {
  return EXPIRIES.map(
    ([s, t]) => `<option value="${s}"${s === 86_400 ? ' selected' : ''}>${esc(t)}</option>`,
  ).join('');
}

function formHtml(tz, peripherals) {
  const screens = peripherals.filter((p) => SCREEN_ROLES.includes(p.role));
  const seen = new Set();
  const deviceField = screens.length
    ? `<select name="device" required>${screens
        .filter((p) => !seen.has(p.id) && seen.add(p.id))
        .map(
          (p) =>
            `<option value="${esc(p.id)}">${esc(deviceRoleName(p.role))}${p.counter ? ` quầy ${p.counter}` : ''} (${esc(p.id)})</option>`,
        )
        .join('')}</select>`
    : '<input name="device" required pattern="[a-z0-9][a-z0-9-]{0,22}" maxlength="23" />';
  const soon = zonedLocal(Date.now() + 2 * 3600_000, tz);
  const counter = '<input name="counter" type="number" min="1" max="999" required />';
  return `<form id="command-form" class="filters" aria-labelledby="h-new-command">
    <h3 id="h-new-command">Gửi lệnh mới</h3>
    <label>Lệnh <select name="kind" id="command-kind">${Object.entries(KIND_NAMES)
      .map(([k, n]) => `<option value="${k}">${esc(n)}</option>`)
      .join('')}</select></label>
    <fieldset data-kind="reprint"><legend>In lại phiếu</legend>
      <label>Số phiếu hôm nay <input name="number" required maxlength="20" placeholder="A012" /></label>
      <label>Ki-ốt in (không bắt buộc) <input name="kiosk" maxlength="23" /></label></fieldset>
    <fieldset data-kind="test-call"><legend>Gọi thử</legend><label>Quầy ${counter}</label></fieldset>
    <fieldset data-kind="notice"><legend>Thông báo</legend>
      <label>Nội dung (tiếng Việt) <textarea name="vi" required maxlength="300" rows="2"></textarea></label>
      <label>Nội dung (tiếng Anh, không bắt buộc) <textarea name="en" maxlength="300" rows="2"></textarea></label>
      <label>Hiển thị đến (giờ của bộ phận) <input name="until" type="datetime-local" required value="${esc(soon)}" /></label></fieldset>
    <fieldset data-kind="counter"><legend>Mở/đóng quầy</legend>
      <label>Quầy ${counter}</label>
      <label>Thao tác <select name="action"><option value="open">Mở quầy</option><option value="close">Đóng quầy</option></select></label></fieldset>
    <fieldset data-kind="pair-screen"><legend>Ghép nối màn hình</legend>
      <label>Màn hình ${deviceField}</label></fieldset>
    <fieldset data-kind="diagnostics"><legend>Chẩn đoán</legend>
      <label>Số dòng nhật ký <input name="logLines" type="number" min="0" max="500" value="200" required /></label></fieldset>
    <label>Hết hạn sau <select name="expiresInSeconds">${expiryOptions()}</select></label>
    <button type="submit">Gửi lệnh</button>
    <div id="restart-confirm" hidden role="alertdialog" aria-labelledby="restart-q">
      <p id="restart-q">Khởi động lại hộp? Màn hình và ki-ốt mất kết nối trong giây lát, phiếu đã cấp vẫn giữ.</p>
      <button type="button" class="danger" id="restart-yes">Khởi động lại</button>
      <button type="button" class="secondary" id="restart-no">Thôi</button>
    </div>
  </form>`;
}

/** Only the chosen kind's fields are shown and sent (hidden ones are disabled, so `required` skips them). */
function showKind(form) {
  const kind = form.kind.value;
  for (const fs of $$('fieldset[data-kind]', form)) {
    fs.hidden = fs.dataset.kind !== kind;
    fs.disabled = fs.hidden;
  }
  $('#restart-confirm').hidden = true;
}

function paramsOf(kind, f, tz) {
  const n = (k) => Number(f.get(k));
  switch (kind) {
    case 'reprint':
      return { number: f.get('number').trim(), ...(f.get('kiosk') ? { kiosk: f.get('kiosk').trim() } : {}) };
    case 'test-call':
      return { counter: n('counter') };
    case 'notice':
      return {
        text: { vi: f.get('vi').trim(), ...(f.get('en').trim() ? { en: f.get('en').trim() } : {}) },
        until: zonedToIso(f.get('until'), tz),
      };
    case 'counter':
      return { counter: n('counter'), action: f.get('action') };
    case 'pair-screen':
      return { device: f.get('device') };
    case 'diagnostics':
      return { logLines: n('logLines') };
    default:
      return {};
  }
}

function message(text, ok) {
  const msg = $('#command-msg');
  msg.className = `msg ${ok ? 'ok' : 'error'}`;
  msg.textContent = text;
}

function bindForm(officeId, tz) {
  const form = $('#command-form');
  showKind(form);
  form.kind.addEventListener('change', () => showKind(form));
  const send = async () => {
    const f = new FormData(form);
    const kind = f.get('kind');
    try {
      const c = await sendJson('POST', `/api/v1/fleet/offices/${encodeURIComponent(officeId)}/commands`, {
        kind,
        params: paramsOf(kind, f, tz),
        expiresInSeconds: Number(f.get('expiresInSeconds')),
      });
      message(`Đã gửi lệnh “${KIND_NAMES[kind]}” — ${STATE_NAMES[c.state]}.`, true);
      await refreshList();
    } catch (e) {
      message(commandFailureText(e), false);
    }
    drawn(`fleet/office/${officeId}`);
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (form.kind.value === 'restart') {
      $('#restart-confirm').hidden = false;
      $('#restart-yes').focus();
    } else send();
  });
  $('#restart-yes').addEventListener('click', () => {
    $('#restart-confirm').hidden = true;
    send();
  });
  $('#restart-no').addEventListener('click', () => {
    $('#restart-confirm').hidden = true;
    form.kind.focus();
  });
}

function timesText(c, tz) {
  const parts = [`Gửi ${fmtTime(c.createdAt, tz)}`];
  if (c.deliveredAt) parts.push(`hộp nhận ${fmtTime(c.deliveredAt, tz)}`);
  if (c.finishedAt) parts.push(`xong ${fmtTime(c.finishedAt, tz)}`);
  if (UNFINISHED.includes(c.state) || c.state === 'expired')
    parts.push(`hết hạn ${fmtTime(c.expiresAt, tz)}`);
  return parts.join(', ');
}

function stateCell(c) {
  const b = badge(STATE_BADGE[c.state] ?? 'unknown', STATE_NAMES[c.state] ?? c.state).html;
  return { html: c.reason ? `${b} <span class="reason">${esc(c.reason)}</span>` : b };
}

/** Reads the list again and draws it; while a command is unfinished, again in REFRESH_MS. */
async function refreshList() {
  clearTimeout(timer);
  const { officeId, tz, section } = current;
  const out = $('#commands-list', section);
  let list;
  try {
    list = (
      await getJson(`/api/v1/fleet/offices/${encodeURIComponent(officeId)}/commands?limit=${LIST_LIMIT}`)
    ).commands;
  } catch (e) {
    out.innerHTML = `<p class="error">${esc(commandFailureText(e))}</p>`;
    return;
  }
  if (!section.isConnected || current.officeId !== officeId) return;
  out.innerHTML = list.length
    ? tableHtml(
        ['Lệnh', 'Chi tiết', 'Người gửi', 'Trạng thái', 'Thời gian', 'Thao tác'],
        list.map((c) => [
          KIND_NAMES[c.kind] ?? c.kind,
          paramsText(c.kind, c.params, tz),
          actorName(c.createdBy),
          stateCell(c),
          timesText(c, tz),
          {
            html: [
              c.resultBytes
                ? `<button type="button" class="secondary show-result" data-id="${esc(c.id)}">Xem kết quả</button>`
                : '',
              c.state === 'pending' && isAdmin()
                ? `<button type="button" class="secondary cancel" data-id="${esc(c.id)}">Hủy lệnh</button>`
                : '',
            ].join(' '),
          },
        ]),
        ' id="commands" aria-labelledby="h-command-list"',
      )
    : '<p>Chưa có lệnh nào.</p>';
  // Each row says which command it is and its state (the tests and a person's eye follow them).
  $$('#commands tbody tr', out).forEach((tr, i) => {
    tr.dataset.command = list[i].id;
    tr.dataset.kind = list[i].kind;
    tr.dataset.state = list[i].state;
  });
  for (const b of $$('button.show-result', out)) b.addEventListener('click', () => showResult(b.dataset.id));
  for (const b of $$('button.cancel', out)) b.addEventListener('click', () => cancel(b.dataset.id));
  section.dataset.refreshed = String(Number(section.dataset.refreshed ?? 0) + 1);
  if (list.some((c) => UNFINISHED.includes(c.state)))
    timer = setTimeout(function again() {
      // Not while another tab or page is shown (offsetParent: null under a hidden ancestor); gone with its page.
      if (!section.isConnected) return;
      if (!document.hidden && section.offsetParent !== null) refreshList();
      else timer = setTimeout(again, REFRESH_MS);
    }, REFRESH_MS);
}

async function cancel(id) {
  const { officeId } = current;
  try {
    await sendJson(
      'POST',
      `/api/v1/fleet/offices/${encodeURIComponent(officeId)}/commands/${encodeURIComponent(id)}/cancel`,
      {},
    );
    message('Đã hủy lệnh: hộp sẽ không nhận lệnh này.', true);
  } catch (e) {
    message(commandFailureText(e), false);
  }
  await refreshList();
  drawn(`fleet/office/${officeId}`);
}

const facts = (rows) =>
  `<dl class="facts">${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;

function diagnosticsHtml(r, tz) {
  const health = r.health && typeof r.health === 'object' ? r.health : {};
  const cfg = r.versions?.config ?? {};
  return `${facts([
    ['Thời điểm', esc(fmtTime(r.at, tz))],
    ['Tình trạng', esc(health.status ?? JSON.stringify(r.health))],
    ['Phần mềm', `${esc(r.versions?.software)} (Node ${esc(r.versions?.node)})`],
    ['Cấu hình', `${esc(cfg.source)}${cfg.version !== undefined ? `, phiên bản ${esc(cfg.version)}` : ''}`],
    [
      'Đĩa',
      `còn trống ${esc(fmtBytes(r.disk?.freeBytes))} / ${esc(fmtBytes(r.disk?.totalBytes))} (<code>${esc(r.disk?.dataDir)}</code>)`,
    ],
    ['Đã chạy', esc(fmtDuration((r.uptimeSeconds ?? 0) * 1000))],
  ])}
  <h4>Thiết bị ngoại vi</h4>
  ${
    r.peripherals?.length
      ? tableHtml(
          ['Thiết bị', 'Quầy', 'Kết nối', 'Trạng thái gần nhất'],
          r.peripherals.map((p) => [
            { html: `${esc(deviceRoleName(p.role))} <code>${esc(p.id)}</code>` },
            p.counter ?? '–',
            p.online === null ? 'Chưa thấy từ khi khởi động' : p.online ? 'Trực tuyến' : 'Mất kết nối',
            p.status === null ? '–' : JSON.stringify(p.status),
          ]),
          ' class="diag-peripherals"',
        )
      : '<p>Không có thiết bị ngoại vi.</p>'
  }
  <h4 id="h-logs">Nhật ký (${r.logs?.length ?? 0} dòng gần nhất)</h4>
  <pre class="logs" tabindex="0" aria-labelledby="h-logs">${esc((r.logs ?? []).join('\n'))}</pre>`;
}

function resultHtml(c, tz) {
  const r = c.result ?? {};
  switch (c.kind) {
    case 'pair-screen':
      return `<p>Nhập mã này trên màn hình <code>${esc(r.device)}</code> (trang ghép nối của hộp) hoặc quét mã QR.
        Mã dùng được đến ${esc(fmtTime(r.expiresAt, tz))}.</p>
        <p class="pair-code" data-code="${esc(r.code)}">${esc(r.code)}</p>
        ${c.qr ? `<img class="pair-qr" src="${esc(c.qr.dataUrl)}" width="220" height="220" alt="Mã QR của địa chỉ ghép nối ${esc(r.pairUrl)}" />` : ''}
        <p>Địa chỉ: <code class="pair-url">${esc(r.pairUrl)}</code></p>`;
    case 'diagnostics':
      return diagnosticsHtml(r, tz);
    case 'reprint':
      return facts([['Đã in lại phiếu', `${esc(r.number)} tại ki-ốt ${esc(r.kiosk)}`]]);
    case 'test-call':
      return facts([['Đã gọi thử quầy', `${esc(r.counter)} trên ${esc((r.announcers ?? []).join(', '))}`]]);
    case 'notice':
      return facts([
        ['Đang hiển thị đến', esc(fmtTime(r.until, tz))],
        ['Trên các bảng', esc((r.boards ?? []).join(', ') || '–')],
      ]);
    case 'counter':
      return facts([
        [
          `Quầy ${r.counter}`,
          `${esc({ open: 'đang mở', closed: 'đã đóng', paused: 'tạm dừng' }[r.status] ?? r.status)}${r.changed ? '' : ' (đã như vậy từ trước)'}`,
        ],
      ]);
    case 'restart':
      return facts([['Chạy lại lúc', `${esc(fmtTime(r.startedAt, tz))}, phiên bản ${esc(r.version)}`]]);
    default:
      return `<pre class="logs">${esc(JSON.stringify(r, null, 2))}</pre>`;
  }
}

async function showResult(id) {
  const { officeId, tz } = current;
  const out = $('#command-result');
  try {
    const c = await getJson(
      `/api/v1/fleet/offices/${encodeURIComponent(officeId)}/commands/${encodeURIComponent(id)}`,
    );
    out.dataset.command = id;
    out.innerHTML = `<h3>Kết quả: ${esc(KIND_NAMES[c.kind] ?? c.kind)} — ${esc(paramsText(c.kind, c.params, tz))}</h3>
      ${resultHtml(c, tz)}`;
    out.focus();
  } catch (e) {
    out.innerHTML = `<p class="error">${esc(commandFailureText(e))}</p>`;
  }
  drawn(`fleet/office/${officeId}`);
}
