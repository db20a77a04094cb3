// ESC/POS real-time status (DLE EOT n): what the bytes mean, and the printer state the box publishes.
import type { PrinterState } from '../../../../protocol/index.js';

export const DLE_EOT = (n: 1 | 2 | 3 | 4) => Uint8Array.of(0x10, 0x04, n);

/** Every DLE EOT reply has bit 1 and bit 4 set, bits 0 and 7 clear (Epson ESC/POS reference). */
export const isStatusByte = (b: number) => (b & 0x93) === 0x12;

/** The three replies the driver reads: n=1 printer, n=2 offline cause, n=4 roll paper sensor. */
export interface RawPrinterStatus {
  printer: number;
  offlineCause: number;
  paper: number;
}

export interface PrinterCondition {
  state: PrinterState;
  canPrint: boolean;
  /** For an admin: what the printer said, in Vietnamese first. */
  detail: string;
}

export function conditionOf(s: RawPrinterStatus | null): PrinterCondition {
  if (s === null)
    return { state: 'offline', canPrint: false, detail: 'Máy in không phản hồi / printer not answering' };
  if (s.offlineCause & 0x04)
    return { state: 'cover_open', canPrint: false, detail: 'Nắp máy in đang mở / cover open' };
  if (s.paper & 0x60 || s.offlineCause & 0x20)
    return { state: 'paper_out', canPrint: false, detail: 'Hết giấy / paper out' };
  if (s.offlineCause & 0x40)
    return { state: 'error', canPrint: false, detail: 'Máy in báo lỗi / printer error' };
  if (s.printer & 0x08)
    return { state: 'offline', canPrint: false, detail: 'Máy in ngoại tuyến / printer offline' };
  if (s.paper & 0x0c)
    return { state: 'paper_near_end', canPrint: true, detail: 'Sắp hết giấy / paper near end' };
  return { state: 'ready', canPrint: true, detail: 'Sẵn sàng / ready' };
}
