// Every CSV the cloud produces goes through here. Text cells come from boxes and admins (clerk names, office
// and service names): a cell a spreadsheet would read as a formula (=, +, -, @, tab or carriage return first)
// gets a leading apostrophe, as OWASP advises against CSV injection; numbers stay numbers.
import { stringify } from 'csv-stringify/sync';

const FORMULA_START = /^[=+\-@\t\r]/;

/** A text cell a spreadsheet will show as text, never evaluate. */
export const neutraliseCell = (text: string): string => (FORMULA_START.test(text) ? `'${text}` : text);

/** Rows as CSV with a header line (the header cells are neutralised too). */
export function toCsv(rows: Record<string, string | number | null>[], columns: string[]): string {
  return stringify(rows, {
    header: true,
    columns: columns.map((c) => ({ key: c, header: neutraliseCell(c) })),
    cast: { string: (v) => neutraliseCell(v) },
  });
}
