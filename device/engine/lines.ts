// The waiting lines: every waiting ticket sits in exactly one line, kept in order of place by evolve. A
// counter's next citizen is at the head of one of its lines (or among the few transferred to it), so `next`
// costs the same with 20 people waiting as with 2,000. Pure; each change returns new lines.
import { List as PersistentList } from 'immutable';
import type { CounterConfig } from '../config/schema.js';
import type { LinePlace, QueueState, Ticket, WaitingLine } from './types.js';

type Lined = Pick<Ticket, 'id' | 'place' | 'service' | 'priority' | 'targetCounter'>;

/**
 * The line a waiting ticket stands in: the counter it was transferred to, or its service's priority line,
 * or its service's other line.
 */
export function lineOf(t: Omit<Lined, 'id' | 'place'>): string {
  if (t.targetCounter !== null) return counterLine(t.targetCounter);
  return serviceLine(t.service, t.priority !== null);
}

const counterLine = (counter: number) => `counter:${counter}`;
const serviceLine = (service: string, priority: boolean) => `${priority ? 'priority' : 'normal'}:${service}`;

/** Index of the first entry whose place is not below `place` (binary search: lines are kept sorted). */
function indexOf(line: WaitingLine, place: number): number {
  let lo = 0;
  let hi = line.size;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((line.get(mid) as LinePlace).place < place) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `lines` with `t` in its line. A new ticket has the highest place so far and joins at the end. */
export function joinLine(lines: Record<string, WaitingLine>, t: Lined): Record<string, WaitingLine> {
  const key = lineOf(t);
  const line = lines[key] ?? PersistentList<LinePlace>();
  const entry: LinePlace = { place: t.place, id: t.id };
  const last = line.last();
  const next =
    last === undefined || last.place < t.place
      ? line.push(entry)
      : line.insert(indexOf(line, t.place), entry);
  return { ...lines, [key]: next };
}

/** `lines` without `t`. Usually `t` is at the head (called next), which is cheap; elsewhere, a splice. */
export function leaveLine(lines: Record<string, WaitingLine>, t: Lined): Record<string, WaitingLine> {
  const key = lineOf(t);
  const line = lines[key];
  if (!line) return lines;
  const at = line.first()?.id === t.id ? 0 : indexOf(line, t.place);
  if (line.get(at)?.id !== t.id) return lines;
  const next = { ...lines };
  if (line.size === 1)
    delete next[key]; // an empty line has no entry
  else next[key] = at === 0 ? line.shift() : line.delete(at);
  return next;
}

/** The lines built from scratch (a snapshot, which does not store them). */
export function linesOf(tickets: Iterable<Ticket>): Record<string, WaitingLine> {
  const byLine = new Map<string, LinePlace[]>();
  for (const t of tickets) {
    if (t.status !== 'waiting') continue;
    const key = lineOf(t);
    const line = byLine.get(key) ?? [];
    line.push({ place: t.place, id: t.id });
    byLine.set(key, line);
  }
  const lines: Record<string, WaitingLine> = {};
  for (const [key, line] of byLine) lines[key] = PersistentList(line.sort((a, b) => a.place - b.place));
  return lines;
}

/** The tickets of a whole line, in order. */
function ticketsOf(state: QueueState, line: WaitingLine | undefined): Ticket[] {
  const out: Ticket[] = [];
  line?.forEach(({ id }) => {
    const t = state.tickets.get(id);
    if (t) out.push(t);
  });
  return out;
}

/** The ticket at the head of a line (first(), not take(1): slicing a persistent list costs far more). */
function headOf(state: QueueState, line: WaitingLine | undefined): Ticket[] {
  const head = line?.first();
  const t = head ? state.tickets.get(head.id) : undefined;
  return t ? [t] : [];
}

/**
 * The tickets one of which this counter calls next, whatever its policy: the head of each of its services'
 * two lines, and everyone transferred to it (a handful). Every policy picks the oldest ticket of some kind
 * (priority or not, of some service), and the oldest of each kind is among these.
 */
export function candidatesAt(counter: CounterConfig, state: QueueState): Ticket[] {
  const out = ticketsOf(state, state.lines[counterLine(counter.number)]);
  for (const service of counter.services) {
    out.push(...headOf(state, state.lines[serviceLine(service, true)]));
    out.push(...headOf(state, state.lines[serviceLine(service, false)]));
  }
  return out;
}

/** Everyone waiting, in order of place. */
export function waitingTickets(state: QueueState): Ticket[] {
  const out: Ticket[] = [];
  for (const line of Object.values(state.lines)) out.push(...ticketsOf(state, line));
  return out.sort((a, b) => a.place - b.place);
}
