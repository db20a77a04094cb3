// A rating box of physical buttons on GPIO (kind `gpio-rating`): one button per score. A press rates the
// ticket of the open rating session the box publishes for this device, once; a press with no open session
// (nobody to rate, already rated) is counted and never sent, so it cannot land on the next citizen.
// An older 4-button box (buttons scored 1–4) in an office on the five-level scale sends its buttons' levels,
// 2–5 (Không hài lòng … Rất hài lòng): its top button is Rất hài lòng, not Hài lòng.
import { FOUR_BUTTON_LEVELS, isValid, RatingSession, topics, type Reply } from '../../../protocol/index.js';
import type { PeripheralConfig } from '../../config/schema.js';
import type { Driver, DriverHost } from '../host.js';
import { DebouncedButton, Flasher } from './button.js';
import { onSharedChip, type GpioChip, type InputLine, type OutputLine } from './chip.js';
import { GpioRatingDriver } from './config.js';
import { RequestIds, driverConfig } from './driven-peripheral.js';

export async function startGpioRating(host: DriverHost, p: PeripheralConfig): Promise<Driver> {
  const cfg = driverConfig(GpioRatingDriver, p);
  return onSharedChip(host, (chip) => runGpioRating(host, p, cfg, chip));
}

export async function runGpioRating(
  host: DriverHost,
  p: PeripheralConfig,
  cfg: GpioRatingDriver,
  chip: GpioChip,
): Promise<Driver> {
  if (p.role !== 'rating' || p.counter === undefined)
    throw new Error(`${p.id}: a gpio-rating driver needs a rating device bound to a counter`);
  const counter = p.counter;
  const log = host.log.child({ peripheral: p.id, kind: 'gpio-rating', counter });
  const ids = new RequestIds(p.id, host.clock());

  let session: RatingSession | undefined;
  /** The ticket a rating was sent for (or is being sent): no second press reaches the box for it. */
  let ratedTicket: string | null = null;
  let ignoredPresses = 0;
  let ratings = 0;
  let up = false;

  const inputs: InputLine[] = [];
  const buttons: DebouncedButton[] = [];
  const outputs: OutputLine[] = [];
  let lamp: OutputLine | undefined;
  let feedback: Flasher | undefined;

  const fourButtons =
    cfg.buttons.length === 4 &&
    [...cfg.buttons.map((b) => b.score)].sort((a, b) => a - b).join() === '1,2,3,4';
  /** The score a button sends on the office's scale. */
  const onScale = (button: number) =>
    fourButtons && session?.scale.length === 5 ? (FOUR_BUTTON_LEVELS[button - 1] as number) : button;

  const open = () => session?.open === true && session.ticketId !== null && session.ticketId !== ratedTicket;
  const showLamp = () => lamp?.write(open());

  // The counts ride on the device status (extra fields are allowed): admins see ignored presses there.
  const reportCounts = (ok: boolean) => {
    const counts = { ratings, ignoredPresses };
    return host
      .reportStatus(p.id, { ts: new Date(host.clock()).toISOString(), ok, ...counts })
      .catch((err: unknown) => log.warn({ err }, 'status not published'));
  };

  const press = async (button: number) => {
    const score = onScale(button);
    if (!open() || !session?.ticketId) {
      ignoredPresses++;
      log.info(
        { score, ignoredPresses, reason: session?.open ? 'already rated' : 'no open rating session' },
        'rating press ignored: nobody to rate now',
      );
      void reportCounts(up);
      return;
    }
    const ticketId = session.ticketId;
    ratedTicket = ticketId;
    showLamp();
    let reply: Reply | undefined;
    try {
      reply = await host.request(p, topics.rating(counter), { id: ids.next(), score, ticketId });
    } catch (err) {
      log.error({ err, score, ticketId }, 'rating failed; the citizen may press again');
    }
    if (reply?.status === 'ok' || reply?.error?.code === 'already_rated') {
      if (reply.status === 'ok') ratings++;
      log.info({ score, ticketId, outcome: reply.error?.code ?? 'ok' }, 'rating recorded');
      feedback?.flash(1);
      void reportCounts(up);
      return;
    }
    if (reply)
      log.warn(
        { score, ticketId, code: reply.error?.code, message: reply.error?.message.vi },
        'rating refused',
      );
    // Not recorded: let the citizen try again (a score beyond the scale, the session closing meanwhile).
    if (ratedTicket === ticketId) ratedTicket = null;
    showLamp();
  };

  const stopSession = host.subscribe(topics.ratingSession(p.id), (_t, payload) => {
    let next: unknown;
    try {
      next = JSON.parse(payload.toString());
    } catch {
      return;
    }
    if (!isValid(RatingSession, next)) return log.warn('rating session not understood; ignored');
    session = next;
    showLamp();
  });

  const releaseLines = () => {
    for (const b of buttons) b.reset();
    for (const l of inputs) l.release();
    feedback?.stop();
    for (const o of outputs) o.release();
  };
  let stopAvailability = () => {};
  try {
    if (cfg.sessionLamp) {
      lamp = await chip.output(cfg.sessionLamp.pin, {
        activeLow: cfg.sessionLamp.activeLow,
        owner: `${p.id} (session lamp)`,
      });
      outputs.push(lamp);
      showLamp();
    }
    if (cfg.feedback) {
      const line = await chip.output(cfg.feedback.pin, {
        activeLow: cfg.feedback.activeLow,
        owner: `${p.id} (feedback)`,
      });
      outputs.push(line);
      feedback = new Flasher(line.write, cfg.feedback.flashMs);
    }
    for (const b of cfg.buttons) {
      const button = new DebouncedButton({ debounceMs: cfg.debounceMs, onPress: () => void press(b.score) });
      buttons.push(button);
      inputs.push(
        await chip.input(
          b.pin,
          { activeLow: cfg.activeLow, owner: `${p.id} (score ${b.score} button)` },
          (a) => button.level(a),
        ),
      );
    }
    stopAvailability = chip.onAvailability((now) => {
      up = now;
      if (!now) for (const b of buttons) b.reset();
      else showLamp(); // a reconnected simulator starts the lamp off
      host.reportPresence(p.id, now).catch((err: unknown) => log.warn({ err }, 'presence not published'));
    });
  } catch (err) {
    stopSession();
    releaseLines();
    throw err;
  }

  return {
    async close() {
      stopAvailability();
      stopSession();
      releaseLines();
      await host.reportPresence(p.id, false).catch(() => undefined);
    },
  };
}
