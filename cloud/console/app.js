// The admin console: plain JavaScript modules over the admin API (no build step), Chart.js served by the cloud
// itself. The session token lives in sessionStorage (sent as a Bearer header, so no cookie and no CSRF to guard).
// This module logs in, routes between the pages (the address's #/… part, so the back button and links work) and
// draws the reports and the audit log; the fleet pages are fleet.js, incidents and alerts health.js.
/* global document, sessionStorage, fetch, FormData, URLSearchParams, URL, location, window, setInterval, setTimeout, Chart */
import { renderOffice, renderTree, renderUnit } from './fleet.js';
import { renderAlerts, renderIncidents } from './health.js';
import { renderReleases } from './releases.js';
import {
  $,
  $$,
  actorName,
  adminRoleName,
  api,
  drawn,
  auditText,
  esc,
  failureText,
  fmt,
  fmtTime,
  outcomeName,
  state,
  unitName,
} from './lib.js';

function show(section) {
  $('#login').hidden = section !== 'login';
  $('#app').hidden = section !== 'app';
}

function logout() {
  if (state.token)
    fetch('/api/v1/auth/logout', {
      method: 'POST',
      headers: { authorization: `Bearer ${state.token}` },
    }).catch(() => {});
  state.token = null;
  state.me = null;
  sessionStorage.removeItem('lobby-token');
  show('login');
}

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  $('#login-error').textContent = '';
  try {
    const res = await api('/api/v1/auth/login', {
      method: 'POST',
      body: JSON.stringify({ username: f.get('username'), password: f.get('password') }),
    });
    const body = await res.json();
    state.token = body.token;
    sessionStorage.setItem('lobby-token', body.token);
    await start();
  } catch (e) {
    $('#login-error').textContent = e.message.includes('login_failed')
      ? 'Sai tên đăng nhập hoặc mật khẩu.'
      : e.message;
  }
});
$('#logout').addEventListener('click', logout);

const TABS = ['reports', 'fleet', 'incidents', 'alerts', 'releases', 'audit'];

/** Draws the page the address names: #/reports, #/fleet[/unit/<id>|/office/<id>], #/incidents[/<unit>], … */
async function route() {
  if (!state.me) return;
  const [, asked = 'reports', a, b] = location.hash.split('/').map(decodeURIComponent);
  const tab = TABS.includes(asked) && !$(`header nav [data-tab=${asked}]`).hidden ? asked : 'reports';
  for (const x of $$('header nav [data-tab]'))
    if (x.dataset.tab === tab) x.setAttribute('aria-current', 'page');
    else x.removeAttribute('aria-current');
  for (const t of $$('.tab')) t.hidden = t.id !== `tab-${tab}`;
  $('#page-error').textContent = '';
  try {
    if (tab === 'fleet') {
      const unit = a === 'unit' && b ? b : a === 'office' ? null : state.me.unit.id;
      await renderTree(unit);
      if (a === 'office' && b) await renderOffice(b);
      else await renderUnit(unit);
    } else if (tab === 'incidents') await renderIncidents(a);
    else if (tab === 'alerts') await renderAlerts(a);
    else if (tab === 'releases') await renderReleases(a);
    else if (tab === 'audit') await loadAudit();
  } catch (e) {
    $('#page-error').textContent = failureText(e);
  }
}
window.addEventListener('hashchange', route);
$('#fleet-refresh').addEventListener('click', route);
// The tree's counts stay current while the fleet page is open (editors below it are left alone).
setInterval(() => {
  if (state.me && !$('#tab-fleet').hidden && !document.hidden)
    renderTree($('#unit-tree [aria-current=page]')?.dataset.unit ?? null).catch(() => {});
}, 30_000);

async function start() {
  state.me = await (await api('/api/v1/me')).json();
  $('#who').textContent = `${state.me.username} · ${state.me.unit.name} (${adminRoleName(state.me.role)})`;
  // Viewers see reports, the fleet, incidents and alerts; the audit log is for admins (the API answers 403).
  $('header nav [data-tab=audit]').hidden = state.me.role === 'viewer';
  const units = await (await api('/api/v1/units')).json();
  state.units = units.map((u) => ({ id: u.id, name: u.name, kind: u.kind, parentId: u.parent_id }));
  const top = Math.min(...units.map((u) => u.path.split('/').length));
  const depth = (u) => u.path.split('/').length - top;
  $('#unit').innerHTML = units
    .map((u) => `<option value="${esc(u.id)}">${'— '.repeat(depth(u))}${esc(u.name)}</option>`)
    .join('');
  const today = new Date();
  const f = $('#report-form');
  if (!f.from.value) {
    f.to.value = today.toISOString().slice(0, 10);
    f.from.value = `${today.toISOString().slice(0, 8)}01`;
  }
  show('app');
  await loadReport();
  await route();
  // Signed in and the first page drawn: a page asked for from now on is drawn once (the browser tests wait
  // on it; an address set earlier is drawn twice, by its hashchange and by the route above).
  document.body.dataset.ready = 'true';
}

function query() {
  const f = new FormData($('#report-form'));
  return new URLSearchParams({
    unit: f.get('unit'),
    from: f.get('from'),
    to: f.get('to'),
    waitTargetMin: f.get('waitTargetMin') || '15',
    sort: f.get('sort') || 'name',
    order: f.get('order') || 'asc',
  });
}

/** Rows a page of a breakdown holds in the console (the API allows up to 500). */
const PAGE_ROWS = 50;

$('#report-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  loadReport();
});

async function loadReport() {
  $('#report-error').textContent = '';
  try {
    const q = query();
    q.set('limit', String(PAGE_ROWS));
    const r = await (await api(`/api/v1/reports?${q}`)).json();
    state.report = r;
    renderKpis(r);
    renderCharts(r);
    renderTables(r);
    renderPage('office', { rows: r.byOffice, total: r.offices.total, offset: 0 });
    // Counters and clerks (thousands in a province) come a page at a time.
    await Promise.all([loadRows('counter', 0), loadRows('clerk', 0)]);
    document.body.dataset.reportLoaded = `${r.unit} ${r.from} ${r.to}`;
  } catch (e) {
    $('#report-error').textContent = e.message;
  }
}

/** A percentile read from histogram buckets: at most the bucket's upper bound (1440: above 4 hours). */
const atMost = (v) => (v === null ? '–' : v >= 1440 ? '> 240' : `≤ ${fmt(v, 0)}`);
const SERVICE_TIME_LABEL =
  'Thời gian phục vụ TB (phút; từ lúc bấm "phục vụ", không bấm thì từ lúc gọi số, gồm cả lúc đi tới quầy)';

function renderKpis(r) {
  const t = r.totals;
  const onTime = t.dossiers.onTimeRate;
  const kpis = [
    ['issued', 'Số phiếu đã cấp', fmt(t.issued, 0)],
    ['served', 'Đã phục vụ', fmt(t.served, 0)],
    ['noShow', 'Vắng mặt (công dân không quay lại)', fmt(t.noShow, 0)],
    ['noShowMarks', 'Lượt gọi vắng (kể cả người quay lại)', fmt(t.noShowMarks, 0)],
    ['p50', 'Chờ trung vị (phút, không quá)', atMost(t.wait.p50AtMostMin)],
    ['p90', 'Chờ P90 (phút, không quá)', atMost(t.wait.p90AtMostMin)],
    [
      'within',
      `Được phục vụ trong ${r.waitTargetMin} phút`,
      t.wait.withinTargetPct === null ? '–' : `${fmt(t.wait.withinTargetPct)}%`,
    ],
    ['serviceMean', SERVICE_TIME_LABEL, fmt(t.serviceMeanMin)],
    [
      'serviceFromCall',
      'Phục vụ tính từ lúc gọi số (không bấm "phục vụ")',
      t.serviceFromCallPct === null ? '–' : `${fmt(t.serviceFromCallPct)}%`,
    ],
    [
      'satisfaction',
      'Chỉ số hài lòng (% Hài lòng và Rất hài lòng)',
      t.satisfaction.indexPct === null ? '–' : `${fmt(t.satisfaction.indexPct)}%`,
    ],
    ['meanScore', 'Điểm hài lòng bình quân (0–100)', fmt(t.satisfaction.meanScore)],
    ['dossiers', 'Hồ sơ tiếp nhận', fmt(t.dossiers.received, 0)],
    ['onTime', 'Tỷ lệ đúng hạn', onTime === null ? '–' : `${fmt(onTime)}%`, onTime !== null && onTime <= 95],
  ];
  $('#kpis').innerHTML = kpis
    .map(
      ([id, k, v, bad]) =>
        `<div class="kpi${bad ? ' bad' : ''}" data-kpi="${id}"><div class="v">${esc(v)}</div><div class="k">${esc(k)}</div></div>`,
    )
    .join('');
}

function chart(id, config) {
  state.charts[id]?.destroy();
  state.charts[id] = new Chart(document.getElementById(id), {
    ...config,
    options: { animation: false, responsive: true, ...config.options },
  });
}

function renderCharts(r) {
  chart('chart-wait-hour', {
    type: 'bar',
    data: {
      labels: r.byHour.map((h) => `${h.hour}h`),
      datasets: [
        {
          label: 'Trung vị (không quá)',
          data: r.byHour.map((h) => h.waitP50AtMostMin),
          backgroundColor: '#60a5fa',
        },
        {
          label: 'P90 (không quá)',
          data: r.byHour.map((h) => h.waitP90AtMostMin),
          backgroundColor: '#1d4ed8',
        },
      ],
    },
  });
  const services = r.byService.filter((s) => s.dossiers.returned > 0);
  chart('chart-ontime', {
    type: 'bar',
    data: {
      labels: services.map((s) => s.name),
      datasets: [
        {
          label: 'Đúng hạn (%)',
          data: services.map((s) => s.dossiers.onTimeRate),
          backgroundColor: services.map((s) => (s.dossiers.onTimeRate > 95 ? '#10b981' : '#ef4444')),
        },
        {
          type: 'line',
          label: 'Mục tiêu 95%',
          data: services.map(() => 95),
          borderColor: '#f59e0b',
          pointRadius: 0,
        },
      ],
    },
    options: { scales: { y: { min: 0, max: 100 } } },
  });
}

/** Satisfaction by clerk: the clerks of the page shown (a province has thousands). */
function renderClerkChart(clerks) {
  chart('chart-clerk', {
    type: 'bar',
    data: {
      labels: clerks.map((c) => `${c.name} (${c.officeName})`),
      datasets: [
        {
          label: 'Chỉ số hài lòng (%)',
          data: clerks.map((c) => c.satisfaction.indexPct),
          backgroundColor: '#10b981',
        },
      ],
    },
    options: { indexAxis: 'y', scales: { x: { min: 0, max: 100 } } },
  });
}

function table(el, head, rows) {
  el.innerHTML =
    `<thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>` +
    `<tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody>`;
}

/**
 * The columns of a breakdown. What "received" means depends on it: a ticket is issued for a service, received
 * by the service it is transferred to as well, and received at each counter that calls it.
 */
const RECEIVED_COLS = {
  office: ['Cấp'],
  service: ['Cấp cho lĩnh vực', 'Tiếp nhận (cấp + chuyển đến)'],
  counter: ['Tiếp nhận tại quầy (phiếu được gọi)'],
};
/** The five levels (1 Rất không hài lòng … 5 Rất hài lòng), short for a table head. */
const SATISFACTION_LEVELS = ['Rất không HL', 'Không HL', 'Bình thường', 'Hài lòng', 'Rất HL'];
const figureCols = (kind) => [
  ...RECEIVED_COLS[kind],
  'Phục vụ',
  'Vắng mặt',
  'Lượt gọi vắng',
  'Chờ TV (phút, ≤)',
  'Chờ P90 (phút, ≤)',
  'Trong chỉ tiêu',
  'Phục vụ TB (phút)',
  'Đánh giá',
  ...SATISFACTION_LEVELS,
  'Chỉ số HL (%)',
  'Hồ sơ',
  'Đúng hạn',
];
const receivedCells = (f, kind) =>
  kind === 'office'
    ? [fmt(f.issued, 0)]
    : kind === 'service'
      ? [fmt(f.issued, 0), fmt(f.received, 0)]
      : [fmt(f.received, 0)];
const figureCells = (f, kind) => [
  ...receivedCells(f, kind),
  fmt(f.served, 0),
  fmt(f.noShow, 0),
  fmt(f.noShowMarks, 0),
  atMost(f.wait.p50AtMostMin),
  atMost(f.wait.p90AtMostMin),
  f.wait.withinTargetPct === null ? '–' : `${fmt(f.wait.withinTargetPct)}%`,
  fmt(f.serviceMeanMin),
  fmt(f.satisfaction.ratings, 0),
  ...f.satisfaction.levels.map((n) => fmt(n, 0)),
  f.satisfaction.indexPct === null ? '–' : `${fmt(f.satisfaction.indexPct)}%`,
  fmt(f.dossiers.received, 0),
  f.dossiers.onTimeRate === null ? '–' : `${fmt(f.dossiers.onTimeRate)}%`,
];

/** The table of each paged breakdown: its head and a row's cells. */
const BREAKDOWN_TABLES = {
  office: {
    head: () => ['Mã', 'Đơn vị', ...figureCols('office')],
    cells: (x) => [x.office, x.name, ...figureCells(x, 'office')],
  },
  counter: {
    head: () => ['Đơn vị', 'Quầy', ...figureCols('counter')],
    cells: (x) => [x.officeName, x.counter, ...figureCells(x, 'counter')],
  },
  clerk: {
    head: () => ['Đơn vị', 'Công chức', ...figureCols('counter')],
    cells: (x) => [x.officeName, x.name, ...figureCells(x, 'counter')],
  },
};

function renderTables(r) {
  // The child units, ranked as asked; a name opens that unit's report (drill-down, one request away).
  $('#by-unit-title').hidden = $('#by-unit').hidden = r.byUnit.length === 0;
  table(
    $('#by-unit'),
    ['Mã', 'Đơn vị', 'Số điểm một cửa', ...figureCols('office')],
    r.byUnit.map((x) => [x.unit, x.name, x.offices, ...figureCells(x, 'office')]),
  );
  for (const [i, tr] of [...$('#by-unit').querySelectorAll('tbody tr')].entries()) {
    const u = r.byUnit[i];
    const cell = tr.children[1];
    cell.innerHTML = `<button type="button" class="link drill" data-unit="${esc(u.unit)}">${esc(u.name)}</button>`;
  }
  table(
    $('#by-service'),
    ['Mã', 'Lĩnh vực', ...figureCols('service')],
    r.byService.map((x) => [x.service, x.name, ...figureCells(x, 'service')]),
  );
}

$('#by-unit').addEventListener('click', (ev) => {
  const b = ev.target.closest('button.drill');
  if (!b) return;
  $('#unit').value = b.dataset.unit;
  loadReport();
});

/** Draws one page of a breakdown and its pager ("1–50 / 1.200", previous and next). */
function renderPage(by, page) {
  const t = BREAKDOWN_TABLES[by];
  table($(`#by-${by}`), t.head(), page.rows.map(t.cells));
  const pager = $(`.pager[data-by=${by}]`);
  const last = Math.min(page.offset + page.rows.length, page.total);
  pager.innerHTML =
    page.total <= PAGE_ROWS
      ? ''
      : `<span>${fmt(page.offset + 1, 0)}–${fmt(last, 0)} / ${fmt(page.total, 0)}</span>` +
        `<button type="button" class="secondary" data-offset="${page.offset - PAGE_ROWS}"${page.offset === 0 ? ' disabled' : ''}>Trang trước</button>` +
        `<button type="button" class="secondary" data-offset="${page.offset + PAGE_ROWS}"${last >= page.total ? ' disabled' : ''}>Trang sau</button>`;
  if (by === 'clerk') renderClerkChart(page.rows);
}

async function loadRows(by, offset) {
  const q = query();
  q.set('by', by);
  q.set('offset', String(Math.max(0, offset)));
  q.set('limit', String(PAGE_ROWS));
  renderPage(by, await (await api(`/api/v1/reports/rows?${q}`)).json());
}

for (const pager of document.querySelectorAll('.pager')) {
  pager.addEventListener('click', async (ev) => {
    const b = ev.target.closest('button[data-offset]');
    if (!b) return;
    try {
      await loadRows(pager.dataset.by, Number(b.dataset.offset));
    } catch (e) {
      $('#report-error').textContent = e.message;
    }
  });
}

for (const b of document.querySelectorAll('button.csv')) {
  b.addEventListener('click', async () => {
    try {
      const q = query();
      q.set('by', b.dataset.by);
      const blob = await (await api(`/api/v1/reports.csv?${q}`)).blob();
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `bao-cao-${q.get('unit')}-${q.get('from')}-${q.get('to')}-${b.dataset.by}.csv`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    } catch (e) {
      $('#report-error').textContent = e.message;
    }
  });
}

async function loadAudit() {
  const rows = await (await api('/api/v1/audit?limit=200')).json();
  table(
    $('#audit'),
    ['Thời điểm', 'Người thực hiện', 'Hành động', 'Đối tượng', 'Đơn vị', 'Kết quả'],
    rows.map((r) => [
      fmtTime(r.at),
      actorName(r.actor),
      auditText(r.action),
      r.target ?? '',
      r.unit_id ? unitName(r.unit_id) : '',
      outcomeName(r.outcome),
    ]),
  );
  drawn('audit');
}

state.onLogout = logout;
if (state.token) start().catch(() => logout());
else show('login');
