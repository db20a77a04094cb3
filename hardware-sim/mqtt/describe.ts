// One line for what a simulated device received, as `lobby sim devices` and `lobby sim office` print it.
import { SimKiosk } from './kiosk.js';
import { SimAnnouncer, SimLedBoard } from './outputs.js';
import { SimRatingBox } from './rating-box.js';
import { SimDisplay } from './display.js';
import type { SimDevice } from './device.js';

/** A line for the terminal, or null for messages not worth one (retained state, births). */
export function describeReceived(d: SimDevice, topic: string, body: unknown): string | null {
  const b = body as Record<string, unknown>;
  if (d instanceof SimLedBoard && topic.endsWith('/led'))
    return `LED ${(b.lines as string[]).join(' | ')}${b.blink ? '  (blink)' : ''}${b.blank ? '  (blank)' : ''}`;
  if (d instanceof SimAnnouncer && topic.endsWith('/announce'))
    return `says "${(b.text as { vi: string }).vi}"${b.recall ? ' (recall)' : ''} ×${String(b.repeat)}`;
  if (d instanceof SimKiosk && topic.endsWith('/print')) {
    const t = b.ticket as { number: string; serviceName: string; ahead: number };
    return `prints ${t.number} (${t.serviceName}), ${t.ahead} ahead`;
  }
  if (d instanceof SimRatingBox && topic.endsWith('/rating-session'))
    return b.open ? `rating screen open for ${String(b.number)}` : 'rating screen idle';
  if (d instanceof SimDisplay && topic.includes('/events/')) {
    const e = body as { type: string; data: { number?: string; counter?: number } };
    return `${e.type}${e.data.number ? ` ${e.data.number}` : ''}${e.data.counter ? ` @ counter ${e.data.counter}` : ''}`;
  }
  if (topic.endsWith('/reply'))
    return `reply ${String(b.status)}${b.error ? ` ${(b.error as { code: string }).code}` : ''}`;
  return null;
}
