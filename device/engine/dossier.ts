// Dossier codes. The national format (Circular 01/2018/TT-VPCP) is the agency code, the receipt date and
// a daily serial: XXX.XX.XX.XXX-YYMMDD-NNNN, e.g. 000.00.04.H12-210415-0001.

const NATIONAL = /^[A-Z0-9]{3}\.[A-Z0-9]{2}\.[A-Z0-9]{2}\.[A-Z0-9]{3}-(\d{2})(\d{2})(\d{2})-\d{4}$/;

export function isNationalDossierCode(code: string): boolean {
  const m = NATIONAL.exec(code);
  if (!m) return false;
  const year = 2000 + Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate(); // day 0 of next month = last of this one
}

/** Accepts the national format, or the office's own pattern when one is configured. */
export function dossierCodeAccepted(code: string, officePattern?: RegExp): boolean {
  return isNationalDossierCode(code) || (officePattern !== undefined && officePattern.test(code));
}
