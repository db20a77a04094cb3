// Error codes a device can receive in a reply, with the message a screen can show (Vietnamese first).
// Codes are stable API; the wording may improve.
import type { ErrorBody } from './messages.js';

type Params = Record<string, string | number>;
type Text = { vi: string; en: string };

export const ERRORS = {
  // input hygiene
  payload_too_large: {
    vi: 'Dữ liệu gửi lên quá lớn (tối đa {max} byte).',
    en: 'Payload too large (max {max} bytes).',
  },
  bad_utf8: {
    vi: 'Dữ liệu không phải văn bản UTF-8 hợp lệ.',
    en: 'Payload is not valid UTF-8.',
  },
  bad_json: { vi: 'Dữ liệu không phải JSON hợp lệ.', en: 'Payload is not valid JSON.' },
  schema_invalid: {
    vi: 'Dữ liệu sai định dạng: {detail}',
    en: 'Payload does not match the schema: {detail}',
  },
  forbidden: {
    vi: 'Thiết bị không có quyền thực hiện thao tác này.',
    en: 'This device is not allowed to do that.',
  },
  unknown_topic: { vi: 'Chủ đề không tồn tại.', en: 'Unknown topic.' },
  internal_error: { vi: 'Lỗi hệ thống, vui lòng thử lại.', en: 'Internal error, please try again.' },
  // the box's storage (protocol/README.md, "Storage faults"): neither is a final answer to the request
  storage_full: {
    vi: 'Hệ thống tạm thời không cấp được số: bộ nhớ của máy chủ đã đầy. Vui lòng báo cán bộ.',
    en: 'The box cannot take requests now: its disk is full. Please tell the staff.',
  },
  storage_failed: {
    vi: 'Hệ thống đang khởi động lại sau lỗi ghi dữ liệu. Vui lòng thử lại sau ít giây.',
    en: 'The box is restarting after a storage error. Retry the same request in a few seconds.',
  },
  // the box's UPS reports a low battery (protocol/README.md, "Power"): not a final answer either
  power_low: {
    vi: 'Mất điện: hệ thống tạm dừng cấp số để giữ an toàn dữ liệu cho đến khi có điện trở lại. Vui lòng chờ hoặc báo cán bộ.',
    en: 'Power cut: the UPS battery is low, so the box takes no requests until mains power is back. Retry later.',
  },
  request_id_reused: {
    vi: 'Mã yêu cầu "{id}" đã được dùng cho một yêu cầu khác. Thiết bị phải gửi yêu cầu mới với mã mới.',
    en: 'Request id "{id}" was already used for a different request. Send a new request with a fresh id.',
  },
  // unknown ids
  unknown_service: { vi: 'Không có lĩnh vực "{service}".', en: 'Unknown service "{service}".' },
  unknown_counter: { vi: 'Không có quầy số {counter}.', en: 'Unknown counter {counter}.' },
  unknown_ticket: { vi: 'Không có số {number} trong ngày hôm nay.', en: 'No ticket {number} today.' },
  unknown_clerk: { vi: 'Không có công chức mã "{clerk}".', en: 'Unknown clerk "{clerk}".' },
  // issuing
  office_closed: {
    vi: 'Ngoài giờ cấp số. Giờ làm việc: {hours}.',
    en: 'Tickets are not issued now. Opening hours: {hours}.',
  },
  after_cutoff: {
    vi: 'Đã hết giờ cấp số của buổi này (sau {cutoff}).',
    en: 'Tickets for this session are no longer issued (after {cutoff}).',
  },
  printer_unavailable: {
    vi: 'Máy in phiếu đang gặp sự cố ({state}). Vui lòng lấy số trên màn hình hoặc liên hệ cán bộ.',
    en: 'The ticket printer cannot print ({state}). Take the number on screen or ask staff.',
  },
  quota_reached: {
    vi: 'Lĩnh vực {service} đã hết số trong ngày ({quota} phiếu).',
    en: 'Service {service} has reached its daily quota of {quota}.',
  },
  numbers_exhausted: {
    vi: 'Lĩnh vực {service} đã dùng hết dãy số trong ngày.',
    en: 'Service {service} has used up its number range for today.',
  },
  // counter commands
  queue_empty: {
    vi: 'Không còn người chờ cho quầy {counter}.',
    en: 'Nobody is waiting for counter {counter}.',
  },
  counter_paused: {
    vi: 'Quầy {counter} đang tạm dừng; hãy tiếp tục trước khi gọi số.',
    en: 'Counter {counter} is paused; resume it before calling.',
  },
  already_paused: { vi: 'Quầy {counter} đang tạm dừng rồi.', en: 'Counter {counter} is already paused.' },
  counter_not_paused: { vi: 'Quầy {counter} không tạm dừng.', en: 'Counter {counter} is not paused.' },
  counter_closed: { vi: 'Quầy {counter} chưa mở.', en: 'Counter {counter} is not open.' },
  no_current_ticket: {
    vi: 'Quầy {counter} không có số nào đang phục vụ.',
    en: 'Counter {counter} has no current ticket.',
  },
  ticket_not_callable: {
    vi: 'Không thể gọi số {number}: số này {status}.',
    en: 'Ticket {number} cannot be called: it is {status}.',
  },
  service_not_served: {
    vi: 'Quầy {counter} không phục vụ lĩnh vực {service}.',
    en: 'Counter {counter} does not serve {service}.',
  },
  already_serving: { vi: 'Số {number} đang được phục vụ.', en: 'Ticket {number} is already being served.' },
  transfer_target_required: {
    vi: 'Cần chọn lĩnh vực hoặc quầy để chuyển.',
    en: 'Name a service or a counter to transfer to.',
  },
  transfer_same_place: {
    vi: 'Không thể chuyển sang chính quầy/lĩnh vực hiện tại.',
    en: 'Cannot transfer to the same counter and service.',
  },
  ticket_in_progress: {
    vi: 'Quầy {counter} còn số {number} chưa xong; hãy kết thúc trước.',
    en: 'Counter {counter} still has ticket {number}; finish it first.',
  },
  not_signed_in: {
    vi: 'Chưa có công chức đăng nhập quầy {counter}.',
    en: 'No clerk is signed in at counter {counter}.',
  },
  clerk_elsewhere: {
    vi: 'Công chức {clerk} đang đăng nhập ở quầy {counter}.',
    en: 'Clerk {clerk} is signed in at counter {counter}.',
  },
  // ratings and dossiers
  no_rating_session: {
    vi: 'Chưa có lượt phục vụ nào để đánh giá tại quầy {counter}.',
    en: 'There is no service to rate at counter {counter}.',
  },
  rating_closed: {
    vi: 'Không còn đánh giá được số {number}: quầy {counter} đã gọi số tiếp theo.',
    en: 'Ticket {number} can no longer be rated: counter {counter} has called the next number.',
  },
  already_rated: { vi: 'Số {number} đã được đánh giá.', en: 'Ticket {number} has already been rated.' },
  score_out_of_scale: {
    vi: 'Mức đánh giá phải từ 1 đến {max}.',
    en: 'The score must be between 1 and {max}.',
  },
  invalid_dossier_code: {
    vi: 'Mã hồ sơ "{code}" không đúng định dạng. Mã hồ sơ có dạng 000.00.04.H12-261122-0015: mã cơ quan, ngày nhận (năm, tháng, ngày: 6 chữ số) và số thứ tự (4 chữ số).',
    en: 'Dossier code "{code}" is not in a recognised format. A dossier code looks like 000.00.04.H12-261122-0015: the agency code (XXX.XX.XX.XXX), the receipt date (YYMMDD) and a 4-digit serial.',
  },
  // the lookup station (protocol/README.md, "Dossier lookup")
  dossier_not_found: {
    vi: 'Không tìm thấy hồ sơ có mã "{code}". Vui lòng kiểm tra lại mã trên giấy biên nhận hoặc hỏi cán bộ.',
    en: 'No dossier with code "{code}". Check the code on the receipt or ask staff.',
  },
  lookup_unavailable: {
    vi: 'Hiện chưa tra cứu được hồ sơ "{code}": không kết nối được hệ thống một cửa điện tử và máy chủ chưa lưu thông tin hồ sơ này. Vui lòng thử lại sau ít phút hoặc hỏi cán bộ.',
    en: 'Dossier "{code}" cannot be looked up now: the one-stop system cannot be reached and the box has no saved answer for it. Try again in a few minutes or ask staff.',
  },
  lookup_rate_limited: {
    vi: 'Máy tra cứu này đã tra quá {max} lần trong một phút. Vui lòng chờ {seconds} giây rồi thử lại.',
    en: 'This station has looked up more than {max} dossiers in a minute. Try again in {seconds} seconds.',
  },
} as const satisfies Record<string, Text>;

export type ErrorCode = keyof typeof ERRORS;

/** A ticket's status in words, for `{status}` (the engine's codes would read as English inside Vietnamese). */
const TICKET_STATUS: Record<string, Text> = {
  waiting: { vi: 'đang chờ', en: 'waiting' },
  called: { vi: 'đang được mời', en: 'being called' },
  serving: { vi: 'đang được phục vụ', en: 'being served' },
  finished: { vi: 'đã phục vụ xong', en: 'already served' },
  no_show: { vi: 'vắng mặt', en: 'no-show' },
};

function fill(template: string, params: Params, lang: keyof Text): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => {
    if (!(k in params)) return m;
    const v = String(params[k]);
    return k === 'status' && TICKET_STATUS[v] ? TICKET_STATUS[v][lang] : v;
  });
}

/** The error body sent to a device: machine-readable code plus both messages. */
export function errorBody(code: ErrorCode, params: Params = {}, detail?: string): ErrorBody {
  const t: Text = ERRORS[code];
  const body: ErrorBody = { code, message: { vi: fill(t.vi, params, 'vi'), en: fill(t.en, params, 'en') } };
  if (detail !== undefined) body.detail = detail;
  return body;
}
