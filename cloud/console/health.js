// The incident and alert pages: a unit's incident history and the devices that failed most this month; alert
// rules (admins create, change thresholds, disable, delete; viewers read), open alerts, webhook addresses and
// each alert's delivery attempts. Times are each office's clock.
/* global location, FormData */
import { historyHtml } from './fleet.js';
import {
  $,
  $$,
  alertKindName,
  badge,
  drawn,
  deliveryStateName,
  deviceText,
  esc,
  failureText,
  fmtDuration,
  fmtTime,
  getJson,
  incidentKindName,
  isAdmin,
  sendJson,
  state,
  tableHtml,
  thresholdUnitName,
  unitName,
} from './lib.js';

const PROVINCE_TZ = 'Asia/Ho_Chi_Minh';

/** The first instant of this month on the province's clock (all of Vietnam keeps one time zone). */
function monthStart(now = new Date()) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone: PROVINCE_TZ, year: 'numeric', month: '2-digit' })
      .formatToParts(now)
      .map((p) => [p.type, p.value]),
  );
  return new Date(`${parts.year}-${parts.month}-01T00:00:00+07:00`);
}

export function unitOptions(selected) {
  const top = Math.min(...state.units.map((u) => depth(u)));
  return state.units
    .map(
      (u) =>
        `<option value="${esc(u.id)}"${u.id === selected ? ' selected' : ''}>${'— '.repeat(depth(u) - top)}${esc(u.name)}</option>`,
    )
    .join('');
}
function depth(u) {
  let d = 0;
  for (let p = u; p; p = state.units.find((x) => x.id === p.parentId)) d++;
  return d;
}

// ---- incidents ------------------------------------------------------------------------------------

export async function renderIncidents(unitId) {
  const unit = unitId || state.me.unit.id;
  const from = monthStart().toISOString();
  const q = `unit=${encodeURIComponent(unit)}&from=${encodeURIComponent(from)}`;
  const [ranking, history] = await Promise.all([
    getJson(`/api/v1/health/ranking?${q}&top=10`),
    getJson(`/api/v1/health/incidents?${q}&limit=200`),
  ]);
  $('#tab-incidents').innerHTML = `<h1>Sự cố thiết bị</h1>
    <form class="filters" id="incidents-form">
      <label>Đơn vị <select name="unit">${unitOptions(unit)}</select></label>
      <button type="submit">Xem</button>
    </form>
    <section aria-labelledby="h-ranking"><h2 id="h-ranking">Thiết bị hỏng nhiều nhất tháng này — ${esc(unitName(unit))}</h2>
    <p class="hint">Từ ${esc(fmtTime(from, PROVINCE_TZ))} đến nay; xếp theo tổng thời gian gián đoạn, rồi số lần.</p>
    ${
      ranking.devices.length
        ? tableHtml(
            ['Hạng', 'Thiết bị', 'Bộ phận', 'Số lần', 'Tổng thời gian gián đoạn', 'Loại sự cố'],
            ranking.devices.map((d, i) => [
              i + 1,
              deviceText(d.role, d.device),
              { html: `<a href="#/fleet/office/${esc(d.officeId)}">${esc(d.officeName)}</a>` },
              d.incidents,
              fmtDuration(d.downtimeMs),
              Object.entries(d.kinds)
                .map(([k, n]) => `${incidentKindName(k)} (${n})`)
                .join(', '),
            ]),
            ' id="ranking"',
          )
        : '<p>Không có sự cố nào trong tháng.</p>'
    }</section>
    <section aria-labelledby="h-unit-history"><h2 id="h-unit-history">Lịch sử sự cố tháng này</h2>
    ${
      history.length
        ? tableHtml(
            ['Bộ phận', 'Bắt đầu', 'Kết thúc', 'Thời gian', 'Thiết bị', 'Sự cố'],
            history.map((i) => [
              { html: `<a href="#/fleet/office/${esc(i.officeId)}">${esc(i.officeName)}</a>` },
              fmtTime(i.startedAt, i.timezone),
              i.endedAt ? fmtTime(i.endedAt, i.timezone) : badge('down', 'Đang diễn ra'),
              fmtDuration(i.durationMs),
              deviceText(i.role, i.device),
              incidentKindName(i.kind),
            ]),
            ' id="unit-incidents"',
          )
        : historyHtml([])
    }</section>`;
  $('#incidents-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    location.hash = `#/incidents/${new FormData(ev.target).get('unit')}`;
  });
  drawn(`incidents/${unit}`);
}

// ---- alerts ---------------------------------------------------------------------------------------

const KINDS = [
  'box_offline',
  'printer_paper_out',
  'backlog_above',
  'disk_below',
  'config_rejected',
  'ups_on_battery',
  'ups_low_battery',
];
const THRESHOLD = {
  box_offline: 'minutes',
  printer_paper_out: 'minutes',
  ups_on_battery: 'minutes',
  backlog_above: 'events',
  disk_below: 'MB',
};

const ruleText = (r) =>
  r.thresholdUnit
    ? `${alertKindName(r.kind)}: ${r.threshold} ${thresholdUnitName(r.thresholdUnit)}`
    : alertKindName(r.kind);

export async function renderAlerts(unitId) {
  const unit = unitId || state.me.unit.id;
  const u = encodeURIComponent(unit);
  const [rules, alerts] = await Promise.all([
    getJson(`/api/v1/alert-rules?unit=${u}`),
    getJson(`/api/v1/alerts?unit=${u}&state=open`),
  ]);
  const admin = isAdmin();
  const page = $('#tab-alerts');
  page.innerHTML = `<h1>Cảnh báo</h1>
    <form class="filters" id="alerts-form">
      <label>Đơn vị <select name="unit">${unitOptions(unit)}</select></label>
      <button type="submit">Xem</button>
    </form>
    <section aria-labelledby="h-open-alerts"><h2 id="h-open-alerts">Cảnh báo đang mở — ${esc(unitName(unit))}</h2>
    ${
      alerts.length
        ? tableHtml(
            ['Cảnh báo', 'Bộ phận', 'Thiết bị', 'Từ lúc', 'Gửi webhook'],
            alerts.map((a) => [
              alertKindName(a.kind),
              { html: `<a href="#/fleet/office/${esc(a.officeId)}">${esc(a.officeName)}</a>` },
              deviceText(null, a.device),
              fmtTime(a.openedAt, a.timezone),
              {
                html: `<button type="button" class="secondary deliveries" data-alert="${esc(a.id)}" data-tz="${esc(a.timezone)}">Xem các lần gửi</button>`,
              },
            ]),
            ' id="open-alerts"',
          )
        : '<p>Không có cảnh báo nào đang mở.</p>'
    }
    <div id="deliveries" aria-live="polite"></div></section>
    <section aria-labelledby="h-rules"><h2 id="h-rules">Quy tắc cảnh báo và địa chỉ webhook</h2>
    ${
      rules.length
        ? `<table id="rules"><thead><tr><th scope="col">Quy tắc</th><th scope="col">Đơn vị</th><th scope="col">Địa chỉ webhook</th>
           <th scope="col">Trạng thái</th>${admin ? '<th scope="col">Thao tác</th>' : ''}</tr></thead><tbody>${rules
             .map((r) => ruleRow(r, admin))
             .join('')}</tbody></table>`
        : '<p>Chưa có quy tắc cảnh báo nào.</p>'
    }
    ${admin ? ruleForm(unit) : '<p class="hint">Tài khoản chỉ xem: không tạo hay sửa được quy tắc.</p>'}
    <div id="rule-msg" class="msg" role="status" aria-live="polite"></div></section>`;

  $('#alerts-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    location.hash = `#/alerts/${new FormData(ev.target).get('unit')}`;
  });
  for (const b of $$('button.deliveries', page)) b.addEventListener('click', () => showDeliveries(b));
  if (!admin) return drawn(`alerts/${unit}`);
  const msg = $('#rule-msg');
  const done = async (text, secret) => {
    await renderAlerts(unit);
    $('#rule-msg').className = 'msg ok';
    $('#rule-msg').innerHTML =
      esc(text) +
      (secret
        ? `<p>Khóa ký webhook (chỉ hiện một lần, hãy chép ngay vào hệ thống nhận): <code id="webhook-secret">${esc(secret)}</code></p>`
        : '');
  };
  const failed = (e) => {
    msg.className = 'msg error';
    msg.textContent = failureText(e);
  };
  const kind = $('#rule-kind');
  const syncThreshold = () => {
    const t = THRESHOLD[kind.value];
    $('#rule-threshold-field').hidden = !t;
    $('#rule-threshold-unit').textContent = t ? thresholdUnitName(t) : '';
  };
  kind.addEventListener('change', syncThreshold);
  syncThreshold();
  $('#rule-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const body = { unitId: f.get('unitId'), kind: f.get('kind'), enabled: f.get('enabled') === 'on' };
    if (THRESHOLD[body.kind] && f.get('threshold') !== '') body.threshold = Number(f.get('threshold'));
    if (f.get('webhookUrl')) body.webhookUrl = f.get('webhookUrl');
    try {
      const r = await sendJson('POST', '/api/v1/alert-rules', body);
      await done(`Đã tạo quy tắc “${ruleText(r)}”.`, r.webhookSecret);
    } catch (e) {
      failed(e);
    }
  });
  for (const row of $$('#rules tr[data-rule]', page)) {
    const id = encodeURIComponent(row.dataset.rule);
    $('.toggle', row)?.addEventListener('click', async () => {
      try {
        const r = await sendJson('PATCH', `/api/v1/alert-rules/${id}`, {
          enabled: row.dataset.enabled !== 'true',
        });
        await done(`Đã ${r.enabled ? 'bật' : 'tắt'} quy tắc “${ruleText(r)}”.`);
      } catch (e) {
        failed(e);
      }
    });
    $('.threshold-form', row)?.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        const threshold = Number(new FormData(ev.target).get('threshold'));
        const r = await sendJson('PATCH', `/api/v1/alert-rules/${id}`, { threshold });
        await done(`Đã đổi ngưỡng: “${ruleText(r)}”.`);
      } catch (e) {
        failed(e);
      }
    });
    $('.delete', row)?.addEventListener('click', async () => {
      try {
        await sendJson('DELETE', `/api/v1/alert-rules/${id}`);
        await done('Đã xóa quy tắc.');
      } catch (e) {
        failed(e);
      }
    });
  }
  drawn(`alerts/${unit}`);
}

function ruleRow(r, admin) {
  const editable = admin && !r.inherited;
  const unitCell = `${esc(unitName(r.unitId))}${r.inherited ? ' (kế thừa từ cấp trên)' : ''}`;
  const actions = editable
    ? `<td class="actions">
        ${
          r.thresholdUnit
            ? `<form class="threshold-form"><label>Ngưỡng (${esc(thresholdUnitName(r.thresholdUnit))})
                 <input name="threshold" type="number" min="0" required value="${r.threshold ?? 0}" /></label>
                 <button type="submit">Đổi ngưỡng</button></form>`
            : ''
        }
        <button type="button" class="toggle secondary">${r.enabled ? 'Tắt' : 'Bật'}</button>
        <button type="button" class="delete danger">Xóa</button></td>`
    : admin
      ? '<td>Sửa ở đơn vị cấp trên</td>'
      : '';
  return `<tr data-rule="${esc(r.id)}" data-enabled="${r.enabled}" data-kind="${esc(r.kind)}">
    <td>${esc(ruleText(r))}</td><td>${unitCell}</td>
    <td>${r.webhookUrl ? `<code>${esc(r.webhookUrl)}</code>` : 'không gửi webhook'}</td>
    <td>${badge(r.enabled ? 'up' : 'unknown', r.enabled ? 'Đang bật' : 'Đã tắt').html}</td>${actions}</tr>`;
}

function ruleForm(unit) {
  return `<form id="rule-form" class="filters" aria-labelledby="h-new-rule">
    <h3 id="h-new-rule">Thêm quy tắc</h3>
    <label>Đơn vị áp dụng <select name="unitId">${unitOptions(unit)}</select></label>
    <label>Khi nào cảnh báo <select name="kind" id="rule-kind">${KINDS.map(
      (k) => `<option value="${k}">${esc(alertKindName(k))}</option>`,
    ).join('')}</select></label>
    <label id="rule-threshold-field"><span>Ngưỡng (<span id="rule-threshold-unit"></span>)</span>
      <input name="threshold" type="number" min="0" max="1000000000" /></label>
    <label>Địa chỉ webhook (https://, không bắt buộc) <input name="webhookUrl" type="url" maxlength="2000" /></label>
    <label class="check"><input name="enabled" type="checkbox" checked /> Bật ngay</label>
    <button type="submit">Tạo quy tắc</button>
  </form>`;
}

async function showDeliveries(button) {
  const out = $('#deliveries');
  try {
    const list = await getJson(`/api/v1/alerts/${encodeURIComponent(button.dataset.alert)}/deliveries`);
    const tz = button.dataset.tz;
    out.innerHTML = `<h3>Các lần gửi webhook của cảnh báo</h3>${
      list.length
        ? tableHtml(
            ['Sự kiện', 'Địa chỉ', 'Trạng thái', 'Các lần thử'],
            list.map((d) => [
              d.event === 'alert.opened' ? 'Cảnh báo mở' : 'Cảnh báo kết thúc',
              d.url,
              deliveryStateName(d.state),
              d.attempts
                .map(
                  (a) =>
                    `${fmtTime(a.at, tz)}: ${a.status === null ? `lỗi (${a.error ?? '?'})` : `HTTP ${a.status}`}, ${a.durationMs} ms`,
                )
                .join('; ') || 'chưa gửi',
            ]),
            ' id="delivery-list"',
          )
        : '<p>Quy tắc của cảnh báo này không có webhook: không gửi đi đâu.</p>'
    }`;
  } catch (e) {
    out.textContent = failureText(e);
  }
}
