// Every MQTT topic of protocol v1, built and parsed in one place.
// Devices publish requests and presence; the box publishes everything else.

export const PROTOCOL_VERSION = 1;
export const ROOT = 'lobby/v1';

export const ROLES = [
  'kiosk',
  'keypad',
  'ledboard',
  'display',
  'announcer',
  'rating',
  'scanner',
  'clerk-panel',
  'lookup',
] as const;
export type Role = (typeof ROLES)[number];

/** Roles that act for one counter and must be bound to it. */
export const COUNTER_BOUND_ROLES: readonly Role[] = ['keypad', 'rating', 'scanner', 'clerk-panel'];

/** The box's own presence id; no peripheral may take it. */
export const BOX_ID = 'box';

export const COUNTER_ACTIONS = [
  'next',
  'recall',
  'no_show',
  'call',
  'serve',
  'transfer',
  'finish',
  'pause',
  'resume',
  'sign_in',
  'sign_out',
] as const;
export type CounterAction = (typeof COUNTER_ACTIONS)[number];

export const topics = {
  presence: (clientId: string) => `${ROOT}/presence/${clientId}`,
  ticketRequest: () => `${ROOT}/tickets/request`,
  /** Kiosk → box: a print job was printed (PrintDone); the box stops sending it again. */
  ticketPrinted: () => `${ROOT}/tickets/printed`,
  counterCommand: (counter: number, action: CounterAction) => `${ROOT}/counters/${counter}/cmd/${action}`,
  rating: (counter: number) => `${ROOT}/counters/${counter}/rating`,
  scan: (counter: number) => `${ROOT}/counters/${counter}/scan`,
  /** Lookup station → box: a dossier's status by its code (DossierLookupRequest); answered on `reply`. */
  dossierLookup: () => `${ROOT}/dossiers/lookup`,
  reply: (deviceId: string) => `${ROOT}/devices/${deviceId}/reply`,
  led: (deviceId: string) => `${ROOT}/devices/${deviceId}/led`,
  print: (deviceId: string) => `${ROOT}/devices/${deviceId}/print`,
  announce: (deviceId: string) => `${ROOT}/devices/${deviceId}/announce`,
  ratingSession: (deviceId: string) => `${ROOT}/devices/${deviceId}/rating-session`,
  /**
   * A device's health, retained: published by the device itself (MQTT-native) or by the box for hardware
   * it drives (printer, LED bus, amplifier). The kiosk reads its printer's here.
   */
  status: (deviceId: string) => `${ROOT}/status/${deviceId}`,
  officeState: () => `${ROOT}/state/office`,
  /** Retained: whether the box can take requests now (its storage), readable by every role. */
  boxState: () => `${ROOT}/state/box`,
  counterState: (counter: number) => `${ROOT}/state/counters/${counter}`,
  serviceState: (service: string) => `${ROOT}/state/services/${service}`,
  /** Retained: the office's dossier handling from the cloud, with its age (DossierBoardState). */
  dossierBoard: () => `${ROOT}/state/dossiers`,
  /** `ticket.called` is published on `lobby/v1/events/ticket/called`, so a filter can pick an entity. */
  event: (type: string) => `${ROOT}/events/${type.replace('.', '/')}`,
} as const;

/** A request a device sends to the box, recognised from its topic. */
export type RequestTopic =
  | { kind: 'ticket-request' }
  | { kind: 'print-done' }
  | { kind: 'dossier-lookup' }
  | { kind: 'counter-command'; counter: number; action: CounterAction }
  | { kind: 'rating'; counter: number }
  | { kind: 'scan'; counter: number };

const COUNTER_NUMBER = /^[1-9][0-9]{0,3}$/;

/** Parses a request topic; null when the topic is not a request (or names no valid counter/action). */
export function parseRequestTopic(topic: string): RequestTopic | null {
  if (!topic.startsWith(ROOT + '/')) return null;
  const parts = topic.slice(ROOT.length + 1).split('/');
  if (parts.length === 2 && parts[0] === 'tickets' && parts[1] === 'request')
    return { kind: 'ticket-request' };
  if (parts.length === 2 && parts[0] === 'tickets' && parts[1] === 'printed') return { kind: 'print-done' };
  if (parts.length === 2 && parts[0] === 'dossiers' && parts[1] === 'lookup')
    return { kind: 'dossier-lookup' };
  if (parts[0] !== 'counters' || parts.length < 3) return null;
  const n = parts[1] ?? '';
  if (!COUNTER_NUMBER.test(n)) return null;
  const counter = Number(n);
  if (parts.length === 3 && parts[2] === 'rating') return { kind: 'rating', counter };
  if (parts.length === 3 && parts[2] === 'scan') return { kind: 'scan', counter };
  if (
    parts.length === 4 &&
    parts[2] === 'cmd' &&
    (COUNTER_ACTIONS as readonly string[]).includes(parts[3] ?? '')
  ) {
    return { kind: 'counter-command', counter, action: parts[3] as CounterAction };
  }
  return null;
}

/** True when `topic` is in the request space (a device may expect a reply for it). */
export function isRequestSpace(topic: string): boolean {
  return (
    topic === `${ROOT}/tickets/request` ||
    topic === `${ROOT}/tickets/printed` ||
    topic === `${ROOT}/dossiers/lookup` ||
    /^lobby\/v1\/counters\/[^/]+\/(cmd\/[^/]+|rating|scan)$/.test(topic)
  );
}

/** The status topic's device id, or null when the topic is not a status topic. */
export function parseStatusTopic(topic: string): string | null {
  const prefix = `${ROOT}/status/`;
  if (!topic.startsWith(prefix)) return null;
  const id = topic.slice(prefix.length);
  return id.length > 0 && !id.includes('/') ? id : null;
}

/** The presence topic's client id, or null when the topic is not a presence topic. */
export function parsePresenceTopic(topic: string): string | null {
  const prefix = `${ROOT}/presence/`;
  if (!topic.startsWith(prefix)) return null;
  const id = topic.slice(prefix.length);
  return id.length > 0 && !id.includes('/') ? id : null;
}

/**
 * The live status page of a ticket, as its QR code links to it: `<base>/t/<office>/<day>/<number>`, where
 * a ticket id is `<day>/<number>`. Served by the cloud (issue 5) from the uplinked events. With the ticket's
 * key (`ticketKey` in secrets.ts), `#k=<key>`: the fragment stays on the phone (no request line or log holds
 * it) and lets the holder rate the visit from the phone (issue 14).
 */
export function ticketStatusUrl(
  base: string,
  officeId: string,
  ticketId: string,
  key?: string | null,
): string {
  const [day, number] = ticketId.split('/');
  const url = `${base}/t/${encodeURIComponent(officeId)}/${day ?? ''}/${encodeURIComponent(number ?? '')}`;
  return key ? `${url}#k=${encodeURIComponent(key)}` : url;
}

/** Device ids: short, lowercase, usable in a topic level and an MQTT client id. */
export const DEVICE_ID_PATTERN = '^[a-z0-9][a-z0-9-]{0,22}$';
export const DEVICE_ID_RE = new RegExp(DEVICE_ID_PATTERN);

/**
 * The device a client id belongs to: the device id itself, or `<device id>.<tag>` for a second connection
 * of the same device (e.g. a monitor beside the main connection). Null when the id is malformed.
 */
export function deviceIdOfClientId(clientId: string): string | null {
  const m = /^([a-z0-9][a-z0-9-]{0,22})(?:\.[a-z0-9-]{1,16})?$/.exec(clientId);
  return m ? (m[1] as string) : null;
}
