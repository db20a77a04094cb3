// What every page of the console shares: the API call, escaping, numbers, times in an office's time zone, and the
// Vietnamese names of states, roles, kinds and audit actions (no enum value is shown where a name exists).
/* global document, sessionStorage, fetch */

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

export const state = {
  token: sessionStorage.getItem('lobby-token'),
  me: null,
  units: [],
  onLogout: null,
  report: null,
  charts: {},
};

/** An API refusal: the HTTP status, the API's code and detail (field errors, the current revision). */
export class ApiFailure extends Error {
  constructor(status, body) {
    super(body.message ? `${body.message} (${body.code})` : `HTTP ${status}`);
    this.status = status;
    this.code = body.code ?? null;
    this.detail = body.detail ?? null;
  }
}

export async function api(path, opts = {}) {
  const res = await fetch(path, {
    ...opts,
    headers: {
      ...(opts.body ? { 'content-type': 'application/json' } : {}),
      ...(state.token ? { authorization: `Bearer ${state.token}` } : {}),
      ...opts.headers,
    },
  });
  if (res.status === 401 && state.token) {
    state.onLogout?.();
    throw new Error('Phiên đăng nhập đã hết hạn.');
  }
  if (!res.ok) throw new ApiFailure(res.status, await res.json().catch(() => ({})));
  return res;
}
export const getJson = async (path) => (await api(path)).json();
export const sendJson = async (method, path, body, headers) =>
  (await api(path, { method, body: JSON.stringify(body), headers })).json();

export const esc = (s) =>
  String(s ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );

export const fmt = (v, digits = 1) =>
  v === null || v === undefined ? '–' : Number(v).toLocaleString('vi-VN', { maximumFractionDigits: digits });

export const isAdmin = () => state.me?.role === 'admin';

let renders = 0;
/** A page finished drawing, with its listeners: which page, and how many so far (the browser tests wait on it). */
export function drawn(page) {
  document.body.dataset.page = page;
  document.body.dataset.renders = String(++renders);
}

const timeFormats = new Map();
/** A time as the office's clock shows it (24-hour, dd/mm/yyyy): never the browser's time zone. */
export function fmtTime(iso, timeZone = 'Asia/Ho_Chi_Minh') {
  if (!iso) return '–';
  let f = timeFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('vi-VN', {
      timeZone,
      hourCycle: 'h23',
      hour: '2-digit',
      minute: '2-digit',
      day: '2-digit',
      month: '2-digit',
      year: 'numeric',
    });
    timeFormats.set(timeZone, f);
  }
  return f.format(new Date(iso));
}

/** 95 minutes → "1 giờ 35 phút"; under a minute → "dưới 1 phút". */
export function fmtDuration(ms) {
  if (ms === null || ms === undefined) return '–';
  const min = Math.floor(ms / 60_000);
  if (min < 1) return 'dưới 1 phút';
  const d = Math.floor(min / 1440);
  const h = Math.floor((min % 1440) / 60);
  const m = min % 60;
  return [d ? `${d} ngày` : '', h ? `${h} giờ` : '', m ? `${m} phút` : ''].filter(Boolean).join(' ');
}

export const fmtBytes = (b) =>
  b === null || b === undefined
    ? '–'
    : b >= 1024 ** 3
      ? `${fmt(b / 1024 ** 3, 1)} GB`
      : `${fmt(b / 1024 ** 2, 0)} MB`;

/** The Vietnamese name of a value, or the value itself marked as a code when none is known. */
const named = (names) => (v) => (v === null || v === undefined ? '–' : (names[v] ?? v));

export const officeStateName = named({
  up: 'Đang hoạt động',
  down: 'Mất kết nối',
  unknown: 'Chưa kết nối lần nào',
});
export const unitKindName = named({
  province: 'Tỉnh/Thành phố',
  district: 'Quận/Huyện',
  commune: 'Phường/Xã',
});
export const adminRoleName = named({ admin: 'quản trị', viewer: 'chỉ xem' });
export const deviceRoleName = named({
  box: 'Hộp điều khiển',
  kiosk: 'Ki-ốt lấy số',
  keypad: 'Bàn phím gọi số',
  ledboard: 'Bảng LED',
  display: 'Màn hình TV',
  announcer: 'Loa gọi số',
  rating: 'Thiết bị đánh giá',
  scanner: 'Máy quét mã',
  'clerk-panel': 'Màn hình quầy',
  lookup: 'Máy tra cứu hồ sơ',
});
export const printerStateName = named({
  ready: 'Sẵn sàng',
  paper_near_end: 'Sắp hết giấy',
  paper_out: 'Hết giấy',
  cover_open: 'Nắp đang mở',
  offline: 'Máy in không phản hồi',
  error: 'Máy in lỗi',
});
export const incidentKindName = named({
  box_offline: 'Hộp mất kết nối',
  peripheral_offline: 'Thiết bị mất kết nối',
  led_not_answering: 'Bảng LED không phản hồi',
  printer_paper_out: 'Máy in hết giấy',
  printer_cover_open: 'Máy in mở nắp',
  backlog_high: 'Dữ liệu chưa gửi tồn đọng',
  disk_low: 'Sắp hết dung lượng đĩa',
  storage_full: 'Đầy đĩa, không cấp được số',
  storage_failed: 'Lỗi ghi dữ liệu',
  on_battery: 'Mất điện, chạy bằng UPS',
  low_battery: 'Pin UPS yếu, ngừng cấp số',
});
export const alertKindName = named({
  box_offline: 'Hộp mất kết nối quá ngưỡng',
  printer_paper_out: 'Máy in hết giấy quá ngưỡng',
  backlog_above: 'Dữ liệu chưa gửi vượt ngưỡng',
  disk_below: 'Dung lượng trống dưới ngưỡng',
  config_rejected: 'Hộp từ chối cấu hình',
  ups_on_battery: 'Mất điện quá ngưỡng',
  ups_low_battery: 'Pin UPS yếu',
});
export const thresholdUnitName = named({ minutes: 'phút', events: 'sự kiện', MB: 'MB' });
export const twinStatusName = named({
  unmanaged: 'Chưa quản lý từ đám mây',
  pending: 'Đang chờ hộp áp dụng',
  in_sync: 'Đã đồng bộ',
  rejected: 'Hộp từ chối cấu hình',
});
export const deliveryStateName = named({
  pending: 'Đang chờ gửi lại',
  delivered: 'Đã gửi',
  failed: 'Gửi thất bại',
});
export const powerStateName = named({
  mains: 'Điện lưới',
  battery: 'Mất điện — đang chạy bằng UPS',
  low_battery: 'Mất điện — pin UPS yếu, ngừng cấp số',
  unknown: 'Không đọc được UPS',
});
export const storageStateName = named({
  ok: 'Bình thường',
  full: 'Đầy đĩa',
  failed: 'Lỗi ghi',
});
export const auditActionName = named({
  'auth.login': 'Đăng nhập',
  'auth.logout': 'Đăng xuất',
  'admin.created': 'Tạo tài khoản quản trị',
  'unit.created': 'Tạo đơn vị',
  'office.created': 'Tạo bộ phận một cửa',
  'box.created': 'Tạo mã kích hoạt hộp',
  'box.enrolled': 'Kích hoạt hộp',
  'box.revoked': 'Thu hồi hộp',
  'integration.created': 'Tạo kết nối phần mềm một cửa',
  'report.viewed': 'Xem báo cáo',
  'report.exported': 'Tải báo cáo CSV',
  'audit.verified': 'Kiểm tra tính toàn vẹn nhật ký',
  'fleet.template.saved': 'Lưu cấu hình mẫu của đơn vị',
  'fleet.office.saved': 'Lưu cấu hình riêng của bộ phận',
  'fleet.command.queued': 'Gửi lệnh đến hộp',
  'fleet.command.cancelled': 'Hủy lệnh gửi hộp',
  'alert_rule.created': 'Tạo quy tắc cảnh báo',
  'alert_rule.changed': 'Sửa quy tắc cảnh báo',
  'alert_rule.secret_rotated': 'Đổi khóa ký webhook',
  'alert_rule.deleted': 'Xóa quy tắc cảnh báo',
});
/** What each part of the API holds, for audit rows that carry `METHOD /route` rather than an action name. */
const ROUTE_SUBJECTS = [
  ['/api/v1/health', 'tình trạng thiết bị'],
  ['/api/v1/fleet', 'cấu hình thiết bị'],
  ['/api/v1/alert-rules', 'quy tắc cảnh báo'],
  ['/api/v1/alerts', 'cảnh báo'],
  ['/api/v1/boxes', 'danh sách hộp'],
  ['/api/v1/offices', 'bộ phận một cửa'],
  ['/api/v1/units', 'đơn vị'],
  ['/api/v1/audit', 'nhật ký'],
  ['/api/v1/reports', 'báo cáo'],
  ['/api/v1/admins', 'tài khoản quản trị'],
  ['/api/v1/me', 'tài khoản của mình'],
];
export function auditText(action) {
  const m = /^(GET|POST|PUT|PATCH|DELETE) (\S+)$/.exec(action);
  if (!m) return auditActionName(action);
  const subject = ROUTE_SUBJECTS.find(([prefix]) => m[2].startsWith(prefix))?.[1] ?? 'dữ liệu';
  return `${m[1] === 'GET' ? 'Xem' : 'Thay đổi'} ${subject}`;
}
export const outcomeName = named({ ok: 'Thành công', denied: 'Bị từ chối', failed: 'Thất bại' });

/** Who saved something, as the audit log names them (`admin:tinh`): the username. */
export const actorName = (actor) => (actor ? String(actor).replace(/^admin:/, '') : '–');

export const unitName = (id) => state.units.find((u) => u.id === id)?.name ?? id;

/** A device as people call it: "Ki-ốt lấy số kiosk-1" (the id tells two kiosks apart). */
export const deviceText = (role, id) =>
  id ? `${deviceRoleName(role ?? '')} ${id}`.trim() : 'Hộp điều khiển';

/** What an API refusal means for the person at the console, in Vietnamese. */
export function failureText(e) {
  if (!(e instanceof ApiFailure)) return e.message;
  switch (e.code) {
    case 'revision_conflict':
      return `Người khác vừa lưu bản này (phiên bản ${e.detail?.revision ?? '?'}) trong khi bạn sửa. Hãy tải lại, làm lại thay đổi rồi lưu.`;
    case 'config_invalid':
      return 'Cấu hình không hợp lệ, chưa lưu gì. Xem lỗi theo từng trường bên dưới.';
    case 'forbidden':
      return 'Tài khoản chỉ xem không được thay đổi.';
    case 'outside_scope':
      return 'Đơn vị này nằm ngoài phạm vi tài khoản của bạn.';
    case 'threshold_required':
      return 'Quy tắc này cần một ngưỡng.';
    case 'webhook_url_invalid':
      return 'Địa chỉ webhook không hợp lệ (chỉ chấp nhận https://).';
    case 'too_many_rules':
      return 'Đơn vị đã có số quy tắc tối đa.';
    case 'not_found':
      return 'Không tìm thấy.';
    default:
      return e.message;
  }
}

/** A table's head and body; cells are escaped unless given as {html}. */
export function tableHtml(head, rows, attrs = '') {
  const cell = (c) => (c && typeof c === 'object' && 'html' in c ? c.html : esc(c));
  return (
    `<table${attrs}><thead><tr>${head.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr></thead>` +
    `<tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${cell(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`
  );
}

export const badge = (cls, text) => ({ html: `<span class="badge ${esc(cls)}">${esc(text)}</span>` });
