// How a call is said in Vietnamese, as a list of words (each word is a recorded clip, or a word for the
// speech engine). Pure: no I/O.

export interface ReadingStyle {
  /** The word for an empty tens place after hundreds: 105 "một trăm linh năm" (North) / "lẻ năm" (South). */
  zeroTens: 'linh' | 'lẻ';
  thousand: 'nghìn' | 'ngàn';
}

export const DEFAULT_READING: ReadingStyle = { zeroTens: 'linh', thousand: 'nghìn' };

const DIGITS = ['không', 'một', 'hai', 'ba', 'bốn', 'năm', 'sáu', 'bảy', 'tám', 'chín'] as const;

/**
 * One group of three digits, 1–999. `afterThousands`: a lower group after a thousands group says its
 * hundreds even when they are 0 ("một nghìn không trăm linh năm").
 */
function readGroup(n: number, afterThousands: boolean, style: ReadingStyle): string[] {
  const h = Math.floor(n / 100);
  const t = Math.floor(n / 10) % 10;
  const u = n % 10;
  const words: string[] = [];
  const withHundreds = h > 0 || afterThousands;
  if (withHundreds) words.push(DIGITS[h] as string, 'trăm');
  if (t === 0) {
    // 5 -> "năm", 105 -> "một trăm linh năm": after "linh" the units keep their plain names.
    if (u > 0) {
      if (withHundreds) words.push(style.zeroTens);
      words.push(DIGITS[u] as string);
    }
  } else if (t === 1) {
    // 10 "mười", 11 "mười một", 14 "mười bốn", 15 "mười lăm".
    words.push('mười');
    if (u === 5) words.push('lăm');
    else if (u > 0) words.push(DIGITS[u] as string);
  } else {
    // 20 "hai mươi", 21 "hai mươi mốt", 24 "hai mươi tư", 25 "hai mươi lăm".
    words.push(DIGITS[t] as string, 'mươi');
    if (u === 1) words.push('mốt');
    else if (u === 4) words.push('tư');
    else if (u === 5) words.push('lăm');
    else if (u > 0) words.push(DIGITS[u] as string);
  }
  return words;
}

/** The words of a whole number 0–999 999, as people say it. */
export function readNumber(n: number, style: ReadingStyle = DEFAULT_READING): string[] {
  if (!Number.isInteger(n) || n < 0 || n > 999_999)
    throw new RangeError(`cannot read ${n}: whole numbers 0–999999 only`);
  if (n === 0) return ['không'];
  const thousands = Math.floor(n / 1000);
  const rest = n % 1000;
  const words: string[] = [];
  if (thousands > 0) words.push(...readGroup(thousands, false, style), style.thousand);
  if (rest > 0) words.push(...readGroup(rest, thousands > 0, style));
  return words;
}

/**
 * A ticket number: its letters one by one (each a letter token `A`–`Z`), then its digits as a number,
 * leading zeros dropped: "A012" is said "A mười hai", as a clerk would say it; the zeros only pad the
 * printed number.
 */
export function readTicketNumber(number: string, style: ReadingStyle = DEFAULT_READING): string[] {
  const m = /^([A-Z]{0,3})([0-9]{1,6})$/.exec(number);
  if (!m) throw new RangeError(`not a ticket number: "${number}"`);
  return [...(m[1] as string).split('').filter(Boolean), ...readNumber(Number(m[2]), style)];
}

/** "Mời số A012 đến quầy số 3" as words: mời số · A · mười hai · đến quầy số · ba. */
export function callWords(
  call: { number: string; counter: number },
  style: ReadingStyle = DEFAULT_READING,
): string[] {
  return [
    'mời số',
    ...readTicketNumber(call.number, style),
    'đến quầy số',
    ...readNumber(call.counter, style),
  ];
}
