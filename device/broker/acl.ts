// Who may publish and subscribe where. Pure: the broker's authorize hooks ask these and nothing else decides.
import { ROOT, topics, type RequestTopic, type Role } from '../../protocol/index.js';

export interface Identity {
  id: string;
  role: Role;
  counter?: number | undefined;
}

/** What a role may request. Counter-bound requests are allowed for the device's own counter only. */
const REQUESTS: Record<Role, RequestTopic['kind'][]> = {
  kiosk: ['ticket-request', 'print-done'],
  keypad: ['counter-command'],
  'clerk-panel': ['counter-command', 'scan'],
  rating: ['rating'],
  scanner: ['scan'],
  ledboard: [],
  display: [],
  announcer: [],
  lookup: ['dossier-lookup'],
};

export type RequestDecision = { allowed: true } | { allowed: false; reason: string };

export function mayRequest(who: Identity, req: RequestTopic): RequestDecision {
  if (!REQUESTS[who.role].includes(req.kind))
    return { allowed: false, reason: `a ${who.role} may not send ${req.kind} requests` };
  if ('counter' in req && req.counter !== who.counter)
    return {
      allowed: false,
      reason: `${who.id} is bound to counter ${who.counter ?? '(none)'}, not counter ${req.counter}`,
    };
  return { allowed: true };
}

/** Filters a role may subscribe to (a subscription must fall inside one of them). */
export function subscribeFilters(who: Identity): string[] {
  const own = [`${ROOT}/devices/${who.id}/#`, topics.officeState(), topics.boxState(), topics.status(who.id)];
  const services = `${ROOT}/state/services/+`;
  const lobbyEvents = [`${ROOT}/events/ticket/#`, `${ROOT}/events/counter/#`, `${ROOT}/events/day/#`];
  const counter = who.counter !== undefined ? [topics.counterState(who.counter)] : [];
  switch (who.role) {
    case 'kiosk':
      return [...own, services];
    case 'keypad':
    case 'rating':
    case 'scanner':
      return [...own, services, ...counter];
    case 'clerk-panel':
      return [...own, `${ROOT}/state/#`, ...lobbyEvents];
    case 'display':
      return [...own, `${ROOT}/state/#`, ...lobbyEvents, `${ROOT}/presence/#`, `${ROOT}/status/#`];
    case 'ledboard':
    case 'announcer':
    case 'lookup': // a lookup station reads its own replies and whether the box takes requests, no more
      return own;
  }
}

/** True when every topic matched by `filter` is also matched by `allowed` (MQTT wildcard semantics). */
export function filterWithin(filter: string, allowed: string): boolean {
  const f = filter.split('/');
  const a = allowed.split('/');
  for (let i = 0; i < f.length; i++) {
    const al = a[i];
    const fl = f[i] as string;
    if (al === undefined) return false;
    if (al === '#') return true;
    if (fl === '#') return false;
    if (al === '+') continue;
    if (fl === '+' || fl !== al) return false;
  }
  return f.length === a.length;
}

export function maySubscribe(who: Identity, filter: string): boolean {
  if (filter.startsWith('$')) return false; // $SYS and shared subscriptions stay with the box
  return subscribeFilters(who).some((allowed) => filterWithin(filter, allowed));
}
