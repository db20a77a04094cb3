// The office page's Peripherals panel: the office's kiosks, keypads, LED boards… (what its desired config holds),
// each with its role, counter, whether the box drives it or it logs in with a secret, its dates on the office's
// clock and whether it is online now (the health view). Admins add one, rotate its secret or revoke it; the
// secret is answered once and shown once, in a dialog, as text and as a QR code, and the dialog is removed from
// the page when it closes: the secret is kept in no variable, no storage and no address. Viewers see the list.
/* global document, navigator, FormData */
import { fieldErrorsHtml } from './editor.js';
import {
  $,
  $$,
  actorName,
  ApiFailure,
  badge,
  deviceRoleName,
  esc,
  failureText,
  fmtTime,
  isAdmin,
  sendJson,
  tableHtml,
} from './lib.js';

/** The roles an admin can add, in the order a person thinks of them (protocol/topics.ts ROLES). */
const ROLES = [
  'kiosk',
  'keypad',
  'ledboard',
  'display',
  'announcer',
  'rating',
  'scanner',
  'clerk-panel',
  'lookup',
];
/** A peripheral's id as the API takes it (protocol/topics.ts DEVICE_ID_PATTERN; a test checks they agree). */
export const ID_PATTERN = '[a-z0-9][a-z0-9\\-]{0,22}';
const NAME_MAX = 100;

/** What a refusal of the peripherals API means, and what the admin can do about it. */
function peripheralFailureText(e) {
  if (!(e instanceof ApiFailure)) return failureText(e);
  switch (e.code) {
    case 'office_not_managed':
      return 'Bộ phận này chưa do đám mây quản lý: hộp đang dùng danh sách thiết bị trong tệp cấu hình tại chỗ. Hãy lưu phần ghi đè của bộ phận (dù trống) ở mục Cấu hình trước, rồi thêm thiết bị.';
    case 'peripheral_exists':
      return 'Bộ phận đã có thiết bị với mã này. Hãy chọn mã khác, hoặc đổi bí mật / thu hồi thiết bị cũ.';
    case 'peripheral_driven':
      return 'Thiết bị này do hộp điều khiển trực tiếp (không đăng nhập), nên không có bí mật để đổi.';
    case 'too_many_peripherals':
      return 'Bộ phận đã có số thiết bị tối đa. Hãy thu hồi một thiết bị không dùng trước.';
    case 'invalid_request':
      return `Thông tin chưa hợp lệ, chưa lưu gì: ${e.message}`;
    default:
      return failureText(e);
  }
}

const counterText = (n, counters) => {
  if (n === null || n === undefined) return '–';
  const c = counters.find((x) => x.number === n);
  return c?.name ? `Quầy ${n} — ${c.name}` : `Quầy ${n}`;
};

/** Online now, as the office's boxes last reported it (null: no box has reported it). */
function presenceOf(id, boxes, tz) {
  const seen = boxes.flatMap((b) => b.peripherals).find((p) => p.id === id);
  if (!seen || seen.online === null || seen.online === undefined)
    return badge('unknown', 'Chưa kết nối lần nào');
  return seen.online
    ? badge('up', `Trực tuyến từ ${fmtTime(seen.since, tz)}`)
    : badge('down', `Mất kết nối từ ${fmtTime(seen.since, tz)}`);
}

function rowOf(p, ctx) {
  const dates = [
    p.createdAt
      ? `Thêm ${fmtTime(p.createdAt, ctx.tz)} bởi ${actorName(p.createdBy)}`
      : 'Có sẵn trong cấu hình',
    p.rotatedAt ? `Đổi bí mật ${fmtTime(p.rotatedAt, ctx.tz)} bởi ${actorName(p.rotatedBy)}` : '',
  ].filter(Boolean);
  const label = `${deviceRoleName(p.role)} ${p.id}`;
  const actions = ctx.admin
    ? {
        html: `${
          p.driven
            ? ''
            : `<button type="button" class="rotate secondary" aria-label="Đổi bí mật: ${esc(label)}">Đổi bí mật</button> `
        }<button type="button" class="revoke danger" aria-label="Thu hồi: ${esc(label)}">Thu hồi</button>`,
      }
    : null;
  return {
    id: p.id,
    cells: [
      { html: `${esc(p.name ?? deviceRoleName(p.role))}<br /><code>${esc(p.id)}</code>` },
      deviceRoleName(p.role),
      counterText(p.counter, ctx.counters),
      p.driven
        ? `Hộp điều khiển trực tiếp${p.driverKind ? ` (${p.driverKind})` : ''}`
        : 'Đăng nhập bằng bí mật',
      dates.join('; '),
      presenceOf(p.id, ctx.boxes, ctx.tz),
      ...(actions ? [actions] : []),
    ],
  };
}

function formHtml(counters) {
  return `<form id="peripheral-form" class="filters" aria-labelledby="h-peripheral-add">
    <h3 id="h-peripheral-add">Thêm thiết bị</h3>
    <label>Loại thiết bị <select name="role" required>${ROLES.map(
      (r) => `<option value="${r}">${esc(deviceRoleName(r))}</option>`,
    ).join('')}</select></label>
    <label>Quầy <select name="counter"><option value="">Không gắn quầy</option>${counters
      .map((c) => `<option value="${c.number}">${esc(counterText(c.number, counters))}</option>`)
      .join('')}</select></label>
    <label>Mã thiết bị <input name="id" required maxlength="23" pattern="${ID_PATTERN}" autocomplete="off"
      spellcheck="false" aria-describedby="peripheral-id-hint" /></label>
    <label>Tên hiển thị <input name="name" maxlength="${NAME_MAX}" autocomplete="off" /></label>
    <button type="submit">Thêm và tạo bí mật</button>
    <p class="hint" id="peripheral-id-hint">Mã: 1–23 ký tự, chữ thường không dấu, số và dấu gạch ngang (ví dụ
      <code>keypad-3</code>). Bàn phím, thiết bị đánh giá, máy quét và màn hình quầy phải gắn với một quầy.</p>
  </form>`;
}

/**
 * The panel's HTML, for the office page to put in its `section[data-panel=peripherals]`.
 * @param {{managed: boolean, peripherals: object[]}} list GET …/peripherals
 * @param {{counters?: {number: number, name?: string}[]}} effective the office's effective config
 */
export function peripheralsHtml(list, effective, boxes, tz) {
  const admin = isAdmin();
  const counters = (effective?.counters ?? []).map((c) => ({ number: c.number, name: c.name }));
  const ctx = { admin, counters, boxes, tz };
  const rows = list.peripherals.map((p) => rowOf(p, ctx));
  // Devices a box reports that the list has not: from the box's own file (an office not managed yet), or a
  // version the box has not applied yet. A list saved here replaces the box's own.
  const listed = new Set(list.peripherals.map((p) => p.id));
  const others = [
    ...new Map(
      boxes
        .flatMap((b) => b.peripherals)
        .filter((p) => !listed.has(p.id))
        .map((p) => [p.id, p]),
    ).values(),
  ];
  const head = ['Thiết bị', 'Loại', 'Quầy', 'Cách kết nối', 'Ngày thêm / đổi bí mật', 'Kết nối'];
  return `<h2 id="h-peripherals">Quản lý thiết bị ngoại vi</h2>
    ${
      list.managed
        ? ''
        : '<p class="hint">Bộ phận chưa do đám mây quản lý: hộp dùng danh sách thiết bị trong tệp cấu hình tại chỗ.</p>'
    }
    ${
      rows.length
        ? tableHtml(
            admin ? [...head, 'Thao tác'] : head,
            rows.map((r) => r.cells),
            ' id="peripheral-list"',
          )
        : '<p id="peripheral-list">Bộ phận chưa có thiết bị ngoại vi nào trong cấu hình.</p>'
    }
    ${
      others.length
        ? `<p class="hint" id="peripheral-others">Hộp đang báo thiết bị không có trong danh sách này (từ tệp cấu hình
           tại chỗ của hộp, hoặc hộp chưa áp dụng phiên bản mới): ${others
             .map((p) => `${esc(deviceRoleName(p.role))} <code>${esc(p.id)}</code>`)
             .join(
               ', ',
             )}. Khi danh sách trên đám mây được lưu, hộp dùng danh sách này thay cho danh sách của nó.</p>`
        : ''
    }
    ${admin ? formHtml(counters) : '<p class="hint">Tài khoản chỉ xem: không thêm, đổi bí mật hay thu hồi được.</p>'}
    <div id="peripheral-msg" class="msg" role="status" aria-live="polite"></div>`;
}

/** Rows get their peripheral's id once in the page (tableHtml draws plain rows). */
function markRows(list) {
  const rows = $$('#peripheral-list tbody tr');
  list.peripherals.forEach((p, i) => rows[i]?.setAttribute('data-peripheral', p.id));
}

/**
 * A modal dialog, appended to the body (the office page is drawn again under it) and removed when it closes.
 * `build(dialog)` fills it; the first `[autofocus]` or button gets the focus, which returns to `back()` after.
 */
function modal(labelId, html, back) {
  const d = document.createElement('dialog');
  d.className = 'modal';
  d.setAttribute('aria-labelledby', labelId);
  d.innerHTML = html;
  document.body.append(d);
  d.addEventListener('close', () => {
    d.remove();
    back()?.focus();
  });
  d.showModal();
  return d;
}

/** The secret, once: as text, as a QR code and a copy button. Closing removes it from the page. */
function showSecret(r, back) {
  const p = r.peripheral;
  const d = modal(
    'secret-title',
    `<h2 id="secret-title">Bí mật của ${esc(deviceRoleName(p.role))} <code>${esc(p.id)}</code></h2>
    <p class="warning" role="alert"><strong>Bí mật chỉ hiện một lần.</strong> Hãy nhập hoặc quét ngay vào thiết bị;
      đóng hộp thoại này là không xem lại được (chỉ có thể đổi bí mật mới).</p>
    <img id="secret-qr" src="${esc(r.qr.dataUrl)}" width="220" height="220"
      alt="Mã QR chứa mã thiết bị ${esc(p.id)} và bí mật của nó, để thiết bị quét" />
    <p id="secret-label">Bí mật (nhập tay nếu thiết bị không quét được mã QR):</p>
    <p><code id="secret-text" class="secret" aria-labelledby="secret-label">${esc(r.secret)}</code></p>
    <div class="actions">
      <button type="button" class="copy secondary">Chép bí mật</button>
      <button type="button" class="close" autofocus>Đã lưu, đóng</button>
    </div>
    <p class="msg" id="secret-copy-msg" role="status" aria-live="polite"></p>`,
    back,
  );
  $('.copy', d).addEventListener('click', async () => {
    const msg = $('#secret-copy-msg', d);
    try {
      // Read from the dialog itself: no variable holds the secret after this function returned.
      await navigator.clipboard.writeText($('#secret-text', d).textContent);
      msg.textContent = 'Đã chép bí mật.';
    } catch {
      msg.textContent = 'Trình duyệt không cho chép tự động: hãy chọn bí mật và chép bằng tay.';
    }
  });
  $('.close', d).addEventListener('click', () => d.close());
}

/** Revoking asks first, naming the device and what happens to it. */
function confirmRevoke(label, back) {
  return new Promise((resolve) => {
    const d = modal(
      'revoke-title',
      `<h2 id="revoke-title">Thu hồi ${esc(label)}?</h2>
      <p>Thiết bị bị xóa khỏi cấu hình của bộ phận. Khi hộp điều khiển nhận phiên bản mới, thiết bị bị ngắt kết nối
        và không đăng nhập lại được nữa.</p>
      <div class="actions">
        <button type="button" class="confirm danger">Thu hồi</button>
        <button type="button" class="cancel secondary" autofocus>Hủy</button>
      </div>`,
      back,
    );
    let answer = false;
    $('.confirm', d).addEventListener('click', () => {
      answer = true;
      d.close();
    });
    $('.cancel', d).addEventListener('click', () => d.close());
    d.addEventListener('close', () => resolve(answer));
  });
}

/**
 * Gives the panel its life: the add form, each row's rotate and revoke.
 * @param {string} officeId
 * @param {object} list the list the panel was drawn from
 * @param {() => Promise<void>} reload draws the office page again (the list, the twin's new desired version)
 */
export function bindPeripherals(officeId, list, reload) {
  markRows(list);
  if (!isAdmin()) return;
  const base = `/api/v1/fleet/offices/${encodeURIComponent(officeId)}/peripherals`;
  const failed = (e) => {
    const msg = $('#peripheral-msg');
    msg.className = 'msg error';
    msg.innerHTML =
      esc(peripheralFailureText(e)) + (e.detail?.errors?.length ? fieldErrorsHtml(e.detail.errors) : '');
  };
  /** After a change: the page again, a message, the focus on the row (or the form when the row is gone). */
  const after = async (text, id) => {
    await reload();
    const msg = $('#peripheral-msg');
    msg.className = 'msg ok';
    msg.textContent = text;
    return () => $(`#peripheral-list tr[data-peripheral="${id}"] button`) ?? $('#peripheral-form select');
  };
  const versionsText = (r) =>
    r.versions.length
      ? ` Hộp điều khiển nhận cấu hình mới (lần sửa ${r.revision}) trong giây lát khi đang trực tuyến.`
      : '';

  $('#peripheral-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const body = { id: String(f.get('id')).trim(), role: f.get('role'), revision: list.revision };
    if (f.get('counter')) body.counter = Number(f.get('counter'));
    if (String(f.get('name')).trim()) body.name = String(f.get('name')).trim();
    try {
      const r = await sendJson('POST', base, body);
      const back = await after(
        `Đã thêm ${deviceRoleName(r.peripheral.role)} ${r.peripheral.id}.${versionsText(r)}`,
        r.peripheral.id,
      );
      if (r.secret) showSecret(r, back);
    } catch (e) {
      failed(e);
    }
  });
  for (const row of $$('#peripheral-list tr[data-peripheral]')) {
    const id = row.dataset.peripheral;
    const p = list.peripherals.find((x) => x.id === id);
    const label = `${deviceRoleName(p.role)} ${id}`;
    const path = `${base}/${encodeURIComponent(id)}`;
    $('.rotate', row)?.addEventListener('click', async () => {
      try {
        const r = await sendJson('POST', `${path}/rotate`, undefined, { 'if-match': String(list.revision) });
        showSecret(r, await after(`Đã đổi bí mật của ${label}.${versionsText(r)}`, id));
      } catch (e) {
        failed(e);
      }
    });
    $('.revoke', row)?.addEventListener('click', async (ev) => {
      if (!(await confirmRevoke(label, () => ev.target))) return;
      try {
        const r = await sendJson('POST', `${path}/revoke`, undefined, { 'if-match': String(list.revision) });
        (await after(`Đã thu hồi ${label}.${versionsText(r)}`, id))()?.focus();
      } catch (e) {
        failed(e);
      }
    });
  }
}
