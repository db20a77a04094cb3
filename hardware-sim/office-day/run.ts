// Runs an office day against a box reachable over MQTT: connects the simulated devices from their
// credentials, learns the office from the retained state they receive, plays the day, and compares the
// simulator's KPIs with what the box recorded.
import type { RatingSession } from '../../protocol/index.js';
import { simDeviceFor, type DeviceCredential } from '../mqtt/credentials.js';
import type { SimDevice } from '../mqtt/device.js';
import { SimDisplay } from '../mqtt/display.js';
import { SimKeypad } from '../mqtt/keypad.js';
import { SimKiosk } from '../mqtt/kiosk.js';
import { SimRatingBox } from '../mqtt/rating-box.js';
import { SimScanner } from '../mqtt/scanner.js';
import type { SimClock } from './clock.js';
import {
  OfficeDay,
  type DayDevices,
  type DayObservation,
  type DayProgress,
  type OfficeLayout,
} from './day.js';
import { compareWithBox, dayKpis, type AgreementRow, type BoxRecord, type DayKpis } from './kpi.js';
import type { DayProfile } from './profile.js';

/** Epoch ms of local midnight of `date` (YYYY-MM-DD) in `timeZone`. */
export function localMidnight(date: string, timeZone: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const utc = Date.UTC(y, m - 1, d);
  const offsetAt = (t: number) => {
    const parts: Record<string, string> = {};
    const f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    for (const p of f.formatToParts(t)) parts[p.type] = p.value;
    const asUtc = Date.UTC(
      +parts.year!,
      +parts.month! - 1,
      +parts.day!,
      +parts.hour!,
      +parts.minute!,
      +parts.second!,
    );
    return asUtc - t;
  };
  return utc - offsetAt(utc - offsetAt(utc));
}

export interface ConnectedOffice {
  devices: DayDevices;
  display: SimDisplay | undefined;
  all: SimDevice[];
  close(): Promise<void>;
}

/**
 * Connects a simulated device for every credential the day needs: the first kiosk, every keypad (or
 * clerk panel, one per counter), rating box and scanner, and a display for the box's side of the story.
 */
export async function connectOffice(
  url: string,
  creds: DeviceCredential[],
  opts: { tag?: string } = {},
): Promise<ConnectedOffice> {
  const all: SimDevice[] = [];
  const devices: Partial<DayDevices> & Pick<DayDevices, 'keypads' | 'ratings' | 'scanners'> = {
    keypads: new Map(),
    ratings: new Map(),
    scanners: new Map(),
  };
  let display: SimDisplay | undefined;
  try {
    for (const c of creds) {
      const wanted =
        (c.role === 'kiosk' && !devices.kiosk) ||
        ((c.role === 'keypad' || c.role === 'clerk-panel') && !devices.keypads.has(c.counter ?? 0)) ||
        (c.role === 'rating' && !devices.ratings.has(c.counter ?? 0)) ||
        (c.role === 'scanner' && !devices.scanners.has(c.counter ?? 0)) ||
        (c.role === 'display' && !display);
      if (!wanted) continue;
      // The day's devices use a tag, so a real device with the same id can stay connected.
      const d = simDeviceFor(c, url, { tag: opts.tag ?? 'sim', replyTimeoutMs: 10_000 });
      await d.connect();
      all.push(d);
      if (d instanceof SimKiosk) devices.kiosk = d;
      else if (d instanceof SimKeypad) devices.keypads.set(d.counter, d);
      else if (d instanceof SimRatingBox) devices.ratings.set(d.counter, d);
      else if (d instanceof SimScanner) devices.scanners.set(d.counter, d);
      else if (d instanceof SimDisplay) display = d;
    }
  } catch (e) {
    await Promise.all(all.map((d) => d.close()));
    throw e;
  }
  const close = async () => void (await Promise.all(all.map((d) => d.close())));
  if (!devices.kiosk) {
    await close();
    throw new Error('the credentials have no kiosk: the day needs one to issue tickets');
  }
  if (devices.keypads.size === 0) {
    await close();
    throw new Error('the credentials have no keypad or clerk panel: nobody could call a ticket');
  }
  return { devices: devices as DayDevices, display, all, close };
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The office as its devices see it in the retained state (waits briefly for it to arrive). */
export async function layoutFromDevices(
  devices: DayDevices,
  clerks: Map<number, string>,
  recallsBeforeNoShow = 2,
): Promise<OfficeLayout> {
  for (let i = 0; i < 50; i++) {
    const ready =
      devices.kiosk.office !== null && [...devices.keypads.values()].every((k) => k.state !== null);
    if (ready) break;
    await settle(20);
  }
  const office = devices.kiosk.office;
  if (!office) throw new Error('no retained state/office from the box within a second');
  const session = [...devices.ratings.values()]
    .map((r) => r.ratingSession)
    .find((s): s is RatingSession => !!s);
  return {
    timezone: office.timezone,
    sessions: office.sessions,
    services: office.services,
    counters: [...devices.keypads.values()].map((k) => ({
      number: k.counter,
      services: k.state?.services ?? [],
    })),
    clerks,
    recallsBeforeNoShow,
    scaleMax: session?.scale.length ?? 4,
  };
}

export interface DayResult {
  observation: DayObservation;
  kpis: DayKpis;
  box: BoxRecord | undefined;
  rows: AgreementRow[];
  layout: OfficeLayout;
  wallMs: number;
}

export interface RunDayOptions {
  office: ConnectedOffice;
  profile: DayProfile;
  clock: SimClock;
  midnight: number;
  clerks?: Map<number, string>;
  /** Sessions to use instead of the box's (e.g. the box is open around the clock). */
  sessions?: OfficeLayout['sessions'];
  onProgress?: (p: DayProgress) => void;
  /** The box's own record; default: what the display saw (when there is one). */
  boxRecord?: () => BoxRecord;
}

export async function runDay(o: RunDayOptions): Promise<DayResult> {
  const t0 = Date.now();
  const layout = await layoutFromDevices(o.office.devices, o.clerks ?? new Map());
  if (o.sessions) layout.sessions = o.sessions;
  const display = o.office.display;
  const before = display ? { issued: display.issuedToday(), waiting: waitingNow(display) } : undefined;
  const day = new OfficeDay({
    profile: o.profile,
    layout,
    devices: o.office.devices,
    clock: o.clock,
    midnight: o.midnight,
    onProgress: o.onProgress,
  });
  const observation = await day.run();
  await settle(100); // the last retained updates and events reach the display
  const kpis = dayKpis(observation);
  let box = o.boxRecord?.();
  if (!box && display && before) {
    box = {
      source: `${display.id} (events seen and retained state)`,
      events: Object.fromEntries(display.eventCounts),
      hidden: ['rating.submitted', 'dossier.linked'],
      retained: {
        issuedToday: display.issuedToday() - before.issued,
        waiting: waitingNow(display) - before.waiting,
      },
      waitsMs: firstCallWaits(display.events),
    };
  }
  const rows = box ? compareWithBox(observation, kpis, box) : [];
  return { observation, kpis, box, rows, layout, wallMs: Date.now() - t0 };
}

function waitingNow(display: SimDisplay): number {
  let n = 0;
  for (const s of display.services.values()) n += s.waiting;
  return n;
}

/** The box's `waitedMs` of each ticket's first call (a recall by number or after a transfer is not a wait). */
export function firstCallWaits(events: { type: string; data: Record<string, unknown> }[]): number[] {
  const seen = new Set<string>();
  const waits: number[] = [];
  for (const e of events) {
    if (e.type !== 'ticket.called') continue;
    const d = e.data as { ticketId: string; waitedMs: number };
    if (seen.has(d.ticketId)) continue;
    seen.add(d.ticketId);
    waits.push(d.waitedMs);
  }
  return waits;
}
