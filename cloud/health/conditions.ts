// The functional core of fleet health: what a heartbeat says is wrong right now, as a set of conditions
// (device, kind). No clock, no database: incidents.ts opens what appears and closes what disappears.
import type { Heartbeat, PeripheralHealth } from '../../protocol/index.js';

/** The device '' is the box itself; others are its peripherals' ids. */
export const BOX_DEVICE = '';

export const INCIDENT_KINDS = [
  'box_offline',
  'peripheral_offline',
  'led_not_answering',
  'printer_paper_out',
  'printer_cover_open',
  'backlog_high',
  'disk_low',
  'storage_full',
  'storage_failed',
  'on_battery',
  'low_battery',
] as const;
export type IncidentKind = (typeof INCIDENT_KINDS)[number];

export interface Condition {
  device: string;
  kind: IncidentKind;
  detail: string | null;
}

export interface Thresholds {
  backlogEvents: number;
  diskLowMb: number;
}

export const conditionKey = (c: { device: string; kind: string }): string => `${c.device}\u0000${c.kind}`;

/** The printer state a peripheral's forwarded status carries (protocol/messages.ts DeviceStatus.printer). */
export function printerState(p: PeripheralHealth): string | null {
  const printer = (p.status as { printer?: { state?: unknown } } | null)?.printer;
  return typeof printer?.state === 'string' ? printer.state : null;
}

const isLedBoard = (p: PeripheralHealth): boolean => p.role === 'ledboard';

/** Everything wrong in one heartbeat. A peripheral never heard from (online null) is not an incident. */
export function conditionsOf(hb: Heartbeat, t: Thresholds): Condition[] {
  const out: Condition[] = [];
  for (const p of hb.peripherals) {
    const detail = (p.status as { detail?: unknown } | null)?.detail;
    const why = typeof detail === 'string' ? detail.slice(0, 200) : null;
    if (isLedBoard(p)) {
      if (p.online === false || (p.status as { ok?: unknown } | null)?.ok === false)
        out.push({ device: p.id, kind: 'led_not_answering', detail: why });
      continue;
    }
    if (p.online === false) {
      out.push({ device: p.id, kind: 'peripheral_offline', detail: why });
      continue; // an offline printer's last paper state is stale
    }
    const state = printerState(p);
    if (state === 'paper_out') out.push({ device: p.id, kind: 'printer_paper_out', detail: why });
    if (state === 'cover_open') out.push({ device: p.id, kind: 'printer_cover_open', detail: why });
  }
  if (hb.backlog.events > t.backlogEvents)
    out.push({ device: BOX_DEVICE, kind: 'backlog_high', detail: `${hb.backlog.events} events` });
  const free = hb.storage?.freeDiskBytes ?? hb.backlog.freeDiskBytes;
  if (free !== null && free < t.diskLowMb * 1024 * 1024)
    out.push({ device: BOX_DEVICE, kind: 'disk_low', detail: `${Math.floor(free / 1024 / 1024)} MB free` });
  if (hb.storage?.state === 'full')
    out.push({ device: BOX_DEVICE, kind: 'storage_full', detail: hb.storage.reason });
  if (hb.storage?.state === 'failed')
    out.push({ device: BOX_DEVICE, kind: 'storage_failed', detail: hb.storage.reason });
  // A power cut is one incident from the first heartbeat on battery to the first on mains; a low battery
  // (the box stopped taking requests) is another inside it.
  const power = hb.power;
  if (power?.state === 'battery' || power?.state === 'low_battery') {
    const charge = power.chargePct === null ? '' : `battery ${power.chargePct}%`;
    out.push({ device: BOX_DEVICE, kind: 'on_battery', detail: charge || power.status });
    if (power.state === 'low_battery')
      out.push({ device: BOX_DEVICE, kind: 'low_battery', detail: charge || power.status });
  }
  return out;
}
