// A counter keypad of push buttons on GPIO (kind `gpio-keypad`): each press becomes the same counter
// command an MQTT keypad would publish, through the box's ACL and request desk.
import { topics, type CounterAction, type Reply } from '../../../protocol/index.js';
import type { PeripheralConfig } from '../../config/schema.js';
import type { Driver, DriverHost } from '../host.js';
import { DebouncedButton, Flasher } from './button.js';
import { onSharedChip, type GpioChip, type InputLine, type OutputLine } from './chip.js';
import { GpioKeypadDriver, type KeypadAction } from './config.js';
import { RequestIds, driverConfig } from './driven-peripheral.js';

export async function startGpioKeypad(host: DriverHost, p: PeripheralConfig): Promise<Driver> {
  const cfg = driverConfig(GpioKeypadDriver, p);
  return onSharedChip(host, (chip) => runGpioKeypad(host, p, cfg, chip));
}

/** The keypad on a given chip (tests pass an in-memory one). */
export async function runGpioKeypad(
  host: DriverHost,
  p: PeripheralConfig,
  cfg: GpioKeypadDriver,
  chip: GpioChip,
): Promise<Driver> {
  if (p.role !== 'keypad' || p.counter === undefined)
    throw new Error(`${p.id}: a gpio-keypad driver needs a keypad bound to a counter`);
  const counter = p.counter;
  const log = host.log.child({ peripheral: p.id, kind: 'gpio-keypad', counter });
  const ids = new RequestIds(p.id, host.clock());

  let paused = false;
  const stopWatchingCounter = host.subscribe(topics.counterState(counter), (_t, payload) => {
    try {
      paused = (JSON.parse(payload.toString()) as { status?: string }).status === 'paused';
    } catch {
      // the box publishes valid JSON; nothing to do for anything else
    }
  });

  const inputs: InputLine[] = [];
  const buttons: DebouncedButton[] = [];
  let feedbackLine: OutputLine | undefined;
  let feedback: Flasher | undefined;

  // One request at a time: an impatient second press of "next" while the first is being answered would
  // otherwise skip a citizen. It is logged and dropped.
  let inFlight = false;
  const press = async (action: KeypadAction, held: boolean) => {
    const command: CounterAction =
      action === 'pause_resume' ? (paused ? 'resume' : 'pause') : (action as CounterAction);
    if (inFlight) {
      log.info({ action: command }, 'button press ignored: the previous press is still being answered');
      return;
    }
    inFlight = true;
    let reply: Reply | undefined;
    try {
      reply = await host.request(p, topics.counterCommand(counter, command), { id: ids.next() });
    } catch (err) {
      log.error({ err, action: command }, 'button press failed');
    } finally {
      inFlight = false;
    }
    if (reply?.status === 'ok') {
      const ticket = reply.data?.ticket as { number?: string } | undefined;
      log.info(
        { action: command, held, events: reply.data?.events, number: ticket?.number },
        'button press carried out',
      );
      feedback?.flash(1);
    } else {
      if (reply)
        log.warn(
          { action: command, held, code: reply.error?.code, message: reply.error?.message.vi },
          'button press refused',
        );
      feedback?.flash(3);
    }
  };

  const releaseLines = () => {
    for (const b of buttons) b.reset();
    for (const l of inputs) l.release();
    feedback?.stop();
    feedbackLine?.release();
  };
  let stopAvailability = () => {};
  try {
    if (cfg.feedback) {
      feedbackLine = await chip.output(cfg.feedback.pin, {
        activeLow: cfg.feedback.activeLow,
        owner: `${p.id} (feedback)`,
      });
      feedback = new Flasher(feedbackLine.write, cfg.feedback.flashMs);
    }
    for (const b of cfg.buttons) {
      const long = b.longPress;
      const button = new DebouncedButton({
        debounceMs: cfg.debounceMs,
        longPressMs: long ? cfg.longPressMs : undefined,
        onPress: () => void press(b.action, false),
        onLongPress: long ? () => void press(long, true) : undefined,
      });
      buttons.push(button);
      inputs.push(
        await chip.input(b.pin, { activeLow: cfg.activeLow, owner: `${p.id} (${b.action} button)` }, (a) =>
          button.level(a),
        ),
      );
    }
    stopAvailability = chip.onAvailability((up) => {
      if (!up) for (const b of buttons) b.reset();
      host.reportPresence(p.id, up).catch((err: unknown) => log.warn({ err }, 'presence not published'));
    });
  } catch (err) {
    stopWatchingCounter();
    releaseLines();
    throw err;
  }

  return {
    async close() {
      stopAvailability();
      stopWatchingCounter();
      releaseLines();
      await host.reportPresence(p.id, false).catch(() => undefined);
    },
  };
}
