// Devices the box only talks to: an LED board and a voice announcer. They record what they are sent.
import { ROOT, topics, type Announcement, type LedText } from '../../protocol/index.js';
import { SimDevice, type Received } from './device.js';

/** Emits `led` (LedText) for every text received. */
export class SimLedBoard extends SimDevice {
  /** What the board shows now (the last text received). */
  text: LedText | null = null;
  /** Every text received, blinks included, in order. */
  readonly history: LedText[] = [];
  blinks = 0;

  protected subscriptions(): string[] {
    return [`${ROOT}/devices/${this.id}/#`];
  }

  protected override onMessage(m: Received): void {
    if (m.topic !== topics.led(this.id)) return;
    const t = m.body as LedText;
    this.text = t;
    this.history.push(t);
    if (this.history.length > 2000) this.history.splice(0, 500);
    if (t.blink) this.blinks += 1;
    this.emit('led', t);
  }
}

/** Emits `announce` (Announcement) once per callId. */
export class SimAnnouncer extends SimDevice {
  /** Announcements to play, each once (by callId), in the order received. */
  readonly played: Announcement[] = [];
  /** QoS 1 redeliveries of a call already played. */
  duplicates = 0;
  private readonly callIds = new Set<string>();

  protected subscriptions(): string[] {
    return [`${ROOT}/devices/${this.id}/#`];
  }

  protected override onMessage(m: Received): void {
    if (m.topic !== topics.announce(this.id)) return;
    const a = m.body as Announcement;
    if (this.callIds.has(a.callId)) {
      this.duplicates += 1;
      return;
    }
    this.callIds.add(a.callId);
    this.played.push(a);
    this.emit('announce', a);
  }
}
