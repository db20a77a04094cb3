// Office-local calendar arithmetic, pure: the office day and the wall-clock time in the office timezone.

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      weekday: 'short',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

export interface OfficeTime {
  /** YYYY-MM-DD in the office timezone: numbering resets when it changes. */
  day: string;
  /** HH:MM, office local. */
  hhmm: string;
  /** ISO weekday, 1 = Monday. */
  weekday: number;
}

/**
 * The last answer per timezone, keyed by the UTC minute: every real UTC offset is a whole number of
 * minutes, so the office's day, time and weekday cannot change inside one UTC minute. The engine asks on
 * every command; formatting a date costs more than the rest of deciding a call.
 */
const lastByZone = new Map<string, { minute: number; value: OfficeTime }>();

export function officeTime(now: number, timeZone: string): OfficeTime {
  const minute = Math.floor(now / 60_000);
  const last = lastByZone.get(timeZone);
  if (last?.minute === minute) return last.value;
  const value = computeOfficeTime(now, timeZone);
  lastByZone.set(timeZone, { minute, value });
  return value;
}

function computeOfficeTime(now: number, timeZone: string): OfficeTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(now)) parts[p.type] = p.value;
  return {
    day: `${parts.year}-${parts.month}-${parts.day}`,
    hhmm: `${parts.hour}:${parts.minute}`,
    weekday: WEEKDAYS[parts.weekday ?? ''] ?? 0,
  };
}
