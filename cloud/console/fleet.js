// The fleet pages: the unit tree with offices up and down, a unit (its units, its offices, its template), an office
// (its boxes, each peripheral, open incidents and their history, the configuration twin with each field's source,
// its overrides). Times are the office's clock. Viewers see everything, admins also save.
import { renderCommands } from './commands.js';
import { bindEditor, editorHtml, fieldErrorsHtml } from './editor.js';
import { bindPeripherals, peripheralsHtml } from './peripherals.js';
import {
  $,
  actorName,
  badge,
  drawn,
  deviceRoleName,
  deviceText,
  esc,
  fmt,
  fmtBytes,
  fmtDuration,
  fmtTime,
  getJson,
  incidentKindName,
  officeStateName,
  printerStateName,
  sendJson,
  state,
  powerStateName,
  storageStateName,
  tableHtml,
  twinStatusName,
  unitKindName,
  unitName,
} from './lib.js';

const DAY = 86_400_000;
let tree = [];

/** The tree beside every fleet page: each unit with its offices up, down and never heard from (its subtree). */
export async function renderTree(current) {
  tree = await getJson('/api/v1/health/units');
  state.units = tree.map((u) => ({ id: u.id, name: u.name, kind: u.kind, parentId: u.parentId }));
  const ids = new Set(tree.map((u) => u.id));
  const children = (id) => tree.filter((u) => u.parentId === id);
  const roots = tree.filter((u) => !ids.has(u.parentId));
  const item = (u) => {
    const kids = children(u.id);
    return `<li><a href="#/fleet/unit/${esc(u.id)}" data-unit="${esc(u.id)}" data-up="${u.up}" data-down="${u.down}"
      data-unknown="${u.unknown}"${u.id === current ? ' aria-current="page"' : ''}>
      <span class="name">${esc(u.name)}</span>${countsHtml(u)}</a>${kids.length ? `<ul>${kids.map(item).join('')}</ul>` : ''}</li>`;
  };
  $('#unit-tree').innerHTML = `<h2 id="tree-title">Đơn vị</h2>
     <p class="legend"><span class="pill up">●</span> hoạt động <span class="pill down">●</span> mất kết nối
       <span class="pill unknown">●</span> chưa kết nối</p>
     <ul aria-labelledby="tree-title">${roots.map(item).join('')}</ul>`;
}

const countsHtml = (u) =>
  `<span class="counts"><span class="pill up">${u.up}<span class="sr"> đang hoạt động</span></span>` +
  `<span class="pill down">${u.down}<span class="sr"> mất kết nối</span></span>` +
  `<span class="pill unknown">${u.unknown}<span class="sr"> chưa kết nối</span></span></span>`;

function breadcrumb(unitId, last) {
  const chain = [];
  for (let u = state.units.find((x) => x.id === unitId); u; u = state.units.find((x) => x.id === u.parentId))
    chain.unshift(u);
  const links = chain.map((u) => `<li><a href="#/fleet/unit/${esc(u.id)}">${esc(u.name)}</a></li>`);
  return `<nav aria-label="Đường dẫn" class="crumbs"><ol>${links.join('')}${
    last ? `<li aria-current="page">${esc(last)}</li>` : ''
  }</ol></nav>`;
}

const stateBadge = (s) => badge(s, officeStateName(s));

// ---- a unit ---------------------------------------------------------------------------------------

export async function renderUnit(unitId) {
  const u = tree.find((x) => x.id === unitId);
  if (!u) throw new Error('Không tìm thấy đơn vị này trong phạm vi của bạn.');
  const [offices, template] = await Promise.all([
    getJson(`/api/v1/health/offices?unit=${encodeURIComponent(unitId)}`),
    getJson(`/api/v1/fleet/units/${encodeURIComponent(unitId)}/template`),
  ]);
  const kids = tree.filter((x) => x.parentId === unitId);
  const page = $('#fleet-page');
  page.innerHTML = `${breadcrumb(u.parentId)}
    <h1>${esc(u.name)} <small>${esc(unitKindName(u.kind))}</small></h1>
    <div class="kpis" id="unit-counts">
      <div class="kpi"><div class="v">${u.offices}</div><div class="k">Bộ phận một cửa</div></div>
      <div class="kpi up"><div class="v" data-count="up">${u.up}</div><div class="k">Đang hoạt động</div></div>
      <div class="kpi down"><div class="v" data-count="down">${u.down}</div><div class="k">Mất kết nối</div></div>
      <div class="kpi"><div class="v" data-count="unknown">${u.unknown}</div><div class="k">Chưa kết nối lần nào</div></div>
    </div>
    ${
      kids.length
        ? `<h2>Đơn vị trực thuộc</h2>${tableHtml(
            ['Đơn vị', 'Cấp', 'Bộ phận', 'Hoạt động', 'Mất kết nối', 'Chưa kết nối'],
            kids.map((k) => [
              { html: `<a href="#/fleet/unit/${esc(k.id)}">${esc(k.name)}</a>` },
              unitKindName(k.kind),
              k.offices,
              k.up,
              k.down,
              k.unknown,
            ]),
            ' id="unit-children"',
          )}`
        : ''
    }
    <h2>Bộ phận một cửa của đơn vị</h2>
    ${
      offices.offices.length
        ? tableHtml(
            ['Bộ phận', 'Tình trạng', 'Số hộp', 'Sự cố đang mở'],
            offices.offices.map((o) => [
              { html: `<a href="#/fleet/office/${esc(o.id)}" data-office="${esc(o.id)}">${esc(o.name)}</a>` },
              stateBadge(o.state),
              o.boxes,
              o.openIncidents,
            ]),
            ' id="unit-offices"',
          )
        : '<p>Đơn vị này không trực tiếp có bộ phận một cửa nào.</p>'
    }
    <p><a href="#/incidents/${esc(unitId)}">Lịch sử sự cố và thiết bị hỏng nhiều nhất của đơn vị</a></p>
    <h2>Cấu hình mẫu của đơn vị</h2>
    <p>Các bộ phận một cửa do đám mây quản lý trong đơn vị này kế thừa mẫu này (trừ các trường chúng ghi đè).
       ${template.revision ? `Lần sửa ${template.revision}, ${esc(fmtTime(template.updatedAt))} bởi ${esc(actorName(template.updatedBy))}.` : 'Chưa có mẫu.'}</p>
    ${editorHtml({
      id: 'template-editor',
      label: 'Mẫu cấu hình (JSON Merge Patch)',
      hint: 'Đối tượng lồng nhau được gộp từng trường, null xóa trường, mảng thay cả mảng.',
      document: template.document,
      revision: template.revision,
    })}`;
  bindEditor(
    'template-editor',
    async (doc, revision) => {
      const r = await sendJson('PUT', `/api/v1/fleet/units/${encodeURIComponent(unitId)}/template`, {
        template: doc,
        revision,
      });
      $('#template-editor').dataset.revision = String(r.revision);
      return `Đã lưu mẫu (lần sửa ${r.revision}): ${r.offices} bộ phận được tính lại, ${r.versions.length} hộp nhận phiên bản mới.`;
    },
    () => renderUnit(unitId),
  );
  drawn(`fleet/unit/${unitId}`);
}

// ---- an office ------------------------------------------------------------------------------------

const onlineText = (online, since, tz) =>
  online === null || online === undefined
    ? badge('unknown', 'Chưa kết nối lần nào')
    : online
      ? badge('up', `Trực tuyến từ ${fmtTime(since, tz)}`)
      : badge('down', `Mất kết nối từ ${fmtTime(since, tz)}`);

const incidentsText = (list, tz) =>
  list.length
    ? {
        html: list
          .map(
            (i) =>
              `<span class="badge down">${esc(incidentKindName(i.kind))} từ ${esc(fmtTime(i.since, tz))}</span>`,
          )
          .join(' '),
      }
    : '';

function boxHtml(b, tz) {
  const rows = [
    ['Kết nối', onlineText(b.online, b.since, tz)],
    ['Tín hiệu gần nhất', fmtTime(b.lastHeartbeatAt, tz)],
    ['Phiên bản phần mềm', b.version ?? '–'],
    [
      'Cấu hình đã áp dụng',
      b.configVersion === null
        ? '–'
        : `phiên bản ${b.configVersion}${b.configState === 'rejected' ? ' (bị từ chối)' : ''}`,
    ],
    [
      'Dữ liệu chưa gửi lên',
      b.backlog
        ? `${fmt(b.backlog.events, 0)} sự kiện${b.backlog.oldestAt ? `, cũ nhất ${fmtTime(b.backlog.oldestAt, tz)}` : ''}${
            b.backlog.alarm ? ' — CẢNH BÁO' : ''
          }`
        : '–',
    ],
    ['Dung lượng trống', fmtBytes(b.freeDiskBytes)],
    ['Lưu trữ', b.storage ? storageStateName(b.storage.state) : '–'],
    [
      'Nguồn điện',
      b.power
        ? `${powerStateName(b.power.state)}${b.power.chargePct === null ? '' : `, pin ${fmt(b.power.chargePct, 0)}%`}${
            b.power.since ? ` (từ ${fmtTime(b.power.since, tz)})` : ''
          }`
        : 'Không theo dõi UPS',
    ],
    ['Sự cố đang mở', b.incidents.length ? incidentsText(b.incidents, tz) : 'Không có'],
  ];
  const peripherals = b.peripherals.map((p) => [
    { html: `${esc(deviceRoleName(p.role))} <code>${esc(p.id)}</code>` },
    p.counter ?? '–',
    onlineText(p.online, p.since, tz),
    p.role === 'ledboard'
      ? p.online === false || p.ok === false
        ? badge('down', 'Không phản hồi')
        : badge('up', 'Đang hiển thị')
      : p.printer
        ? badge(p.printer === 'ready' ? 'up' : 'down', printerStateName(p.printer))
        : '–',
    p.ok === false ? (p.detail ?? 'Lỗi') : p.ok === true ? 'Bình thường' : '–',
    incidentsText(p.incidents, tz),
  ]);
  return `<article class="box" data-box="${esc(b.id)}" aria-labelledby="box-${esc(b.id)}">
    <h3 id="box-${esc(b.id)}">Hộp điều khiển <code>${esc(b.id)}</code>${b.revokedAt ? ' (đã thu hồi)' : ''}</h3>
    <dl class="facts">${rows
      .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v && typeof v === 'object' ? v.html : esc(v)}</dd>`)
      .join('')}</dl>
    <h4>Thiết bị ngoại vi</h4>
    ${
      peripherals.length
        ? tableHtml(
            ['Thiết bị', 'Quầy', 'Kết nối', 'Máy in / bảng LED', 'Trạng thái', 'Sự cố đang mở'],
            peripherals,
            ' class="peripherals"',
          )
        : '<p>Hộp chưa báo thiết bị ngoại vi nào.</p>'
    }
  </article>`;
}

function twinHtml(t, tz) {
  if (!t) return '';
  const status = t.drift ? 'drift' : t.status;
  const label = t.drift
    ? `${twinStatusName(t.status)} — lệch cấu hình (hộp chạy bản khác)`
    : twinStatusName(t.status);
  return `<div class="twin" data-box="${esc(t.boxId)}" data-status="${esc(status)}">
    <dl class="facts">
      <dt>Hộp</dt><dd><code>${esc(t.boxId)}</code></dd>
      <dt>Trạng thái</dt><dd>${badge(t.status === 'in_sync' && !t.drift ? 'up' : t.status === 'pending' ? 'unknown' : 'down', label).html}</dd>
      <dt>Phiên bản mong muốn</dt><dd data-desired="${t.desired?.version ?? ''}">${
        t.desired
          ? `${t.desired.version} (lưu ${esc(fmtTime(t.desired.savedAt, tz))} bởi ${esc(actorName(t.desired.savedBy))})`
          : '–'
      }</dd>
      <dt>Phiên bản đã áp dụng</dt><dd data-applied="${t.reported?.state === 'applied' ? t.reported.version : ''}">${
        t.reported
          ? `${t.reported.version}${t.reported.state === 'rejected' ? ' (bị từ chối)' : ''}, báo lúc ${esc(fmtTime(t.reported.receivedAt, tz))}`
          : 'hộp chưa báo'
      }</dd>
    </dl>
    ${
      t.reported?.state === 'rejected' && t.reported.errors.length
        ? `<p>Hộp từ chối phiên bản ${t.reported.version} và vẫn chạy cấu hình tốt gần nhất. Lỗi theo trường:</p>${fieldErrorsHtml(t.reported.errors)}`
        : ''
    }
  </div>`;
}

/** The value at a dotted path of the effective config (arrays are one field). */
const valueAt = (doc, path) =>
  path.split('.').reduce((v, k) => (v && typeof v === 'object' && !Array.isArray(v) ? v[k] : undefined), doc);

function sourceText(f) {
  const layer = (s) =>
    s === 'cloud' ? 'hồ sơ bộ phận trên đám mây' : s === 'office' ? 'bộ phận này' : `mẫu của ${unitName(s)}`;
  if (f.from === 'office')
    return `Ghi đè tại bộ phận${f.removed ? ' (đã xóa)' : ''}${f.overrides ? ` — thay cho ${layer(f.overrides)}` : ''}`;
  if (f.from === 'cloud') return 'Từ hồ sơ bộ phận trên đám mây';
  return `Kế thừa từ ${layer(f.from)}`;
}

const shortJson = (v) => {
  if (v === undefined) return '–';
  const s = JSON.stringify(v);
  return s.length > 140 ? `${s.slice(0, 140)}…` : s;
};

function configHtml(c) {
  const fields = c.fields.map((f) => {
    const kind = f.from === 'office' ? 'overridden' : 'inherited';
    return `<tr data-path="${esc(f.path)}" data-source="${kind}"><td><code>${esc(f.path)}</code></td>
      <td><code>${esc(shortJson(valueAt(c.effective ?? c.inherited, f.path)))}</code></td>
      <td>${badge(kind === 'overridden' ? 'overridden' : 'inherited', sourceText(f)).html}</td></tr>`;
  });
  const defaults = Object.entries(c.sections ?? {})
    .filter(([, s]) => s === 'default')
    .map(([k]) => k);
  return `<p>${
    c.managed
      ? `Do đám mây quản lý. Ghi đè lần sửa ${c.revision}, ${esc(fmtTime(c.updatedAt))} bởi ${esc(actorName(c.updatedBy))}.`
      : 'Chưa do đám mây quản lý: hộp chạy tệp cấu hình tại chỗ. Lưu phần ghi đè (dù trống) để đám mây quản lý bộ phận này.'
  }</p>
  ${c.errors?.length ? `<p class="error">Cấu hình hiện tại không hợp lệ:</p>${fieldErrorsHtml(c.errors)}` : ''}
  <table id="config-fields"><thead><tr><th scope="col">Trường</th><th scope="col">Giá trị đang dùng</th><th scope="col">Nguồn</th></tr></thead>
  <tbody>${fields.join('')}</tbody></table>
  ${defaults.length ? `<p class="hint">Dùng giá trị mặc định của hộp: ${defaults.map((d) => `<code>${esc(d)}</code>`).join(', ')}.</p>` : ''}`;
}

function historyHtml(list) {
  return list.length
    ? tableHtml(
        ['Bắt đầu', 'Kết thúc', 'Thời gian', 'Thiết bị', 'Sự cố', 'Chi tiết'],
        list.map((i) => [
          fmtTime(i.startedAt, i.timezone),
          i.endedAt ? fmtTime(i.endedAt, i.timezone) : badge('down', 'Đang diễn ra'),
          fmtDuration(i.durationMs),
          deviceText(i.role, i.device),
          incidentKindName(i.kind),
          i.detail ?? '',
        ]),
        ' class="incident-history"',
      )
    : '<p>Không có sự cố nào trong 30 ngày qua.</p>';
}

export { historyHtml };

export async function renderOffice(officeId) {
  const id = encodeURIComponent(officeId);
  const since = new Date(Date.now() - 30 * DAY).toISOString();
  const [view, config, history, peripherals] = await Promise.all([
    getJson(`/api/v1/health/offices/${id}`),
    getJson(`/api/v1/fleet/offices/${id}/config`),
    getJson(`/api/v1/health/incidents?office=${id}&from=${encodeURIComponent(since)}&limit=200`),
    getJson(`/api/v1/fleet/offices/${id}/peripherals`),
  ]);
  const live = view.boxes.filter((b) => !b.revokedAt);
  const twins = await Promise.all(
    live.map((b) => getJson(`/api/v1/fleet/boxes/${encodeURIComponent(b.id)}/twin`).catch(() => null)),
  );
  const tz = view.office.timezone;
  const open = view.boxes.flatMap((b) => [
    ...b.incidents.map((i) => ({ ...i, device: 'Hộp điều khiển' })),
    ...b.peripherals.flatMap((p) => p.incidents.map((i) => ({ ...i, device: deviceText(p.role, p.id) }))),
  ]);
  $('#fleet-page').innerHTML = `${breadcrumb(view.office.unitId, view.office.name)}
    <h1>${esc(view.office.name)}</h1>
    <p class="hint">Giờ hiển thị theo múi giờ của bộ phận (${esc(tz)}).</p>
    <section aria-labelledby="h-boxes"><h2 id="h-boxes">Hộp điều khiển và thiết bị ngoại vi</h2>
      ${live.length ? live.map((b) => boxHtml(b, tz)).join('') : '<p>Bộ phận chưa có hộp nào được kích hoạt.</p>'}
    </section>
    <section aria-labelledby="h-open"><h2 id="h-open">Sự cố đang mở</h2>
      ${
        open.length
          ? tableHtml(
              ['Thiết bị', 'Sự cố', 'Từ lúc'],
              open.map((i) => [i.device, incidentKindName(i.kind), fmtTime(i.since, tz)]),
              ' id="office-open-incidents"',
            )
          : '<p>Không có sự cố nào đang mở.</p>'
      }
    </section>
    <section aria-labelledby="h-twin" id="office-twin"><h2 id="h-twin">Cấu hình: mong muốn và đã áp dụng</h2>
      ${twins.map((t) => twinHtml(t, tz)).join('') || '<p>Chưa có hộp nào.</p>'}
      <h3>Cấu hình đang dùng và nguồn của từng trường</h3>
      ${configHtml(config)}
      <h3>Phần ghi đè của bộ phận</h3>
      ${editorHtml({
        id: 'overrides-editor',
        label: 'Ghi đè tại bộ phận (JSON Merge Patch trên cấu hình kế thừa)',
        hint: 'Chỉ ghi các trường khác với mẫu của đơn vị. null xóa trường, mảng thay cả mảng.',
        document: config.overrides,
        revision: config.revision,
      })}
    </section>
    <!-- Commands (queue, states, results): commands.js fills this section and shows it. -->
    <section id="office-commands" data-panel="commands" aria-labelledby="h-commands" hidden>
      <h2 id="h-commands">Lệnh điều khiển</h2>
    </section>
    <section id="office-peripherals" data-panel="peripherals" aria-labelledby="h-peripherals">
      ${peripheralsHtml(peripherals, config.effective ?? config.inherited, view.boxes, tz)}
    </section>
    <section aria-labelledby="h-history"><h2 id="h-history">Lịch sử sự cố (30 ngày)</h2>${historyHtml(history)}</section>`;
  bindEditor(
    'overrides-editor',
    async (doc, revision) => {
      const r = await sendJson('PUT', `/api/v1/fleet/offices/${id}/config`, { overrides: doc, revision });
      await renderOffice(officeId);
      const versions = r.versions.map((v) => `hộp ${esc(v.boxId)}: phiên bản ${v.version}`).join(', ');
      const text = `Đã lưu (lần sửa ${r.revision}). ${
        versions ? `Phiên bản mong muốn mới — ${versions}.` : 'Cấu hình không đổi: không có phiên bản mới.'
      }`;
      // The page was drawn again: the message goes to the new editor.
      const msg = $('#overrides-editor-msg');
      msg.className = 'msg ok';
      msg.innerHTML = text;
      return text;
    },
    () => renderOffice(officeId),
  );
  await renderCommands(officeId, { tz, peripherals: live.flatMap((b) => b.peripherals) });
  bindPeripherals(officeId, peripherals, () => renderOffice(officeId));
  drawn(`fleet/office/${officeId}`);
}
