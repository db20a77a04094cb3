// Words the dossier screens share (the lookup station and the status board): a dossier's status, a date on
// the office's calendar, and how old an answer is, up to days (an outage over a weekend).
import { currentLang, dictionary } from './i18n.js';

const t = dictionary({
  received: { vi: 'Đã tiếp nhận', en: 'Received' },
  processing: { vi: 'Đang giải quyết', en: 'Being processed' },
  additional_info: { vi: 'Cần bổ sung hồ sơ', en: 'More documents needed' },
  ready: { vi: 'Đã có kết quả', en: 'Result ready' },
  returned: { vi: 'Đã trả kết quả', en: 'Result collected' },
  cancelled: { vi: 'Đã huỷ', en: 'Cancelled' },
  seconds: { vi: '{n} giây', en: '{n} seconds' },
  minutes: { vi: '{n} phút', en: '{n} minutes' },
  hours: { vi: '{n} giờ', en: '{n} hours' },
  days: { vi: '{n} ngày', en: '{n} days' },
});

type Status = 'received' | 'processing' | 'additional_info' | 'ready' | 'returned' | 'cancelled';
const STATUSES = new Set(['received', 'processing', 'additional_info', 'ready', 'returned', 'cancelled']);

/** A dossier status in words (an unknown one as the province sent it). */
export const statusWords = (status: string): string => (STATUSES.has(status) ? t(status as Status) : status);

/** How old, in the largest unit that reads naturally: 45 giây, 3 phút, 5 giờ, 2 ngày. */
export function ageWords(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return t('seconds', { n: s });
  if (s < 2 * 3600) return t('minutes', { n: Math.round(s / 60) });
  if (s < 48 * 3600) return t('hours', { n: Math.round(s / 3600) });
  return t('days', { n: Math.round(s / 86400) });
}

/** A date (dd/mm/yyyy) on the office's calendar. */
export function dayText(iso: string, timeZone = 'Asia/Ho_Chi_Minh'): string {
  return new Intl.DateTimeFormat(currentLang() === 'vi' ? 'vi-VN' : 'en-GB', {
    timeZone,
    day: '2-digit',
    month: '2-digit',
    year: 'numeric',
  }).format(new Date(iso));
}

/** A time and date (HH:MM dd/mm/yyyy) on the office's clock. */
export function momentText(iso: string, timeZone = 'Asia/Ho_Chi_Minh'): string {
  const time = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit' }).format(
    new Date(iso),
  );
  return `${time} ${dayText(iso, timeZone)}`;
}
