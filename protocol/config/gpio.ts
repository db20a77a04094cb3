// Config of the GPIO drivers (push-button keypads, rating buttons, the amplifier relay) and the voice
// announcer. Owned by the GPIO and voice drivers; referenced from ../config.ts.
import { Type, type Static } from '@sinclair/typebox';
import type { Role, SchemaIssue } from '../index.js';
import type { BoxConfig } from './schema.js';

const Pin = Type.Integer({
  minimum: 0,
  maximum: 1023,
  description: 'GPIO line number: the BCM number on a Raspberry Pi (GPIO17 = 17), not the header pin',
});

const ActiveLow = Type.Boolean({
  default: true,
  description:
    'true: the button connects the line to ground and a pull-up holds it high (pressed = low), ' +
    'the usual wiring; false: pressed = high',
});

const DebounceMs = Type.Integer({
  minimum: 0,
  maximum: 1000,
  default: 30,
  description: 'A level counts once it has been stable this long (contacts bounce for a few ms)',
});

/** An output line that flashes (a LED) or beeps (a buzzer) to tell the user what happened. */
const Feedback = Type.Object(
  {
    pin: Pin,
    activeLow: Type.Boolean({ default: false, description: 'true: the line is driven low to light it' }),
    flashMs: Type.Integer({ minimum: 20, maximum: 2000, default: 120 }),
  },
  { additionalProperties: false },
);
export type FeedbackConfig = Static<typeof Feedback>;

/** What a keypad button does: a counter command without arguments, or a pause that toggles. */
export const KEYPAD_ACTIONS = [
  'next',
  'recall',
  'no_show',
  'serve',
  'finish',
  'pause',
  'resume',
  'pause_resume',
  'sign_out',
] as const;
export type KeypadAction = (typeof KEYPAD_ACTIONS)[number];
const KeypadActionSchema = Type.Union(
  KEYPAD_ACTIONS.map((a) => Type.Literal(a)),
  { description: 'pause_resume pauses an open counter and resumes a paused one' },
);

export const GpioKeypadDriver = Type.Object(
  {
    kind: Type.Literal('gpio-keypad'),
    buttons: Type.Array(
      Type.Object(
        {
          pin: Pin,
          action: KeypadActionSchema,
          longPress: Type.Optional(KeypadActionSchema),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 16 },
    ),
    activeLow: ActiveLow,
    debounceMs: DebounceMs,
    longPressMs: Type.Integer({
      minimum: 200,
      maximum: 10_000,
      default: 1000,
      description:
        'Held this long, a button with `longPress` does that action instead (on release otherwise)',
    }),
    feedback: Type.Optional(Feedback),
  },
  { additionalProperties: false },
);
export type GpioKeypadDriver = Static<typeof GpioKeypadDriver>;

export const GpioRatingDriver = Type.Object(
  {
    kind: Type.Literal('gpio-rating'),
    buttons: Type.Array(
      Type.Object(
        { pin: Pin, score: Type.Integer({ minimum: 1, maximum: 10 }) },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 10 },
    ),
    activeLow: ActiveLow,
    debounceMs: DebounceMs,
    sessionLamp: Type.Optional(
      Type.Object(
        { pin: Pin, activeLow: Type.Boolean({ default: false }) },
        { additionalProperties: false, description: 'Lit while a citizen can rate' },
      ),
    ),
    feedback: Type.Optional(Feedback),
  },
  { additionalProperties: false },
);
export type GpioRatingDriver = Static<typeof GpioRatingDriver>;

const AplayPlayer = Type.Object(
  {
    kind: Type.Literal('aplay'),
    device: Type.Optional(Type.String({ description: 'ALSA device, e.g. `default` or `plughw:1,0`' })),
    command: Type.Optional(Type.String({ description: 'Default `aplay`' })),
  },
  { additionalProperties: false },
);
const SimPlayer = Type.Object(
  {
    kind: Type.Literal('sim'),
    address: Type.String({
      minLength: 1,
      description: 'The audio simulator (hardware-sim/audio): `host:port` or a Unix socket path',
    }),
  },
  { additionalProperties: false },
);

export const VoiceDriver = Type.Object(
  {
    kind: Type.Literal('voice'),
    // No defaults inside union members: TypeBox's Value.Default leaks one member's defaults into another.
    player: Type.Union([AplayPlayer, SimPlayer], { default: { kind: 'aplay' } }),
    engine: Type.Optional(
      Type.Object(
        {
          kind: Type.Literal('espeak-ng'),
          command: Type.String({ default: 'espeak-ng' }),
          voice: Type.String({ default: 'vi' }),
          wordsPerMinute: Type.Integer({ minimum: 80, maximum: 400, default: 140 }),
        },
        {
          additionalProperties: false,
          description: 'Synthesize the whole sentence offline instead of joining the recorded clips',
        },
      ),
    ),
    clips: Type.Optional(
      Type.String({
        description: 'Folder of word clips with clips.tsv; default: the shipped assets/voice/vi',
      }),
    ),
    reading: Type.Object(
      {
        zeroTens: Type.Union([Type.Literal('linh'), Type.Literal('lẻ')], {
          default: 'linh',
          description: '105: "một trăm linh năm" (North) or "một trăm lẻ năm" (South)',
        }),
        thousand: Type.Union([Type.Literal('nghìn'), Type.Literal('ngàn')], { default: 'nghìn' }),
      },
      { default: {}, additionalProperties: false },
    ),
    repeatPauseMs: Type.Integer({ minimum: 0, maximum: 5000, default: 700 }),
    amplifier: Type.Optional(
      Type.Object(
        {
          pin: Pin,
          activeLow: Type.Boolean({
            default: false,
            description: 'true: driving the line low closes the relay',
          }),
          warmUpMs: Type.Integer({ minimum: 0, maximum: 30_000, default: 1500 }),
          idleOffMs: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 60_000 }),
        },
        { additionalProperties: false, description: "The amplifier's power relay on a GPIO line" },
      ),
    ),
  },
  { additionalProperties: false },
);
export type VoiceDriver = Static<typeof VoiceDriver>;

export const GPIO_DRIVER_CONFIGS = [GpioKeypadDriver, GpioRatingDriver, VoiceDriver] as const;

/** Box-level GPIO settings: which backend drives the lines. */
export const GpioHardware = Type.Union([
  Type.Object(
    {
      backend: Type.Literal('onoff'),
      sysfsBase: Type.Optional(
        Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 0 })], {
          description:
            'Added to each pin number for sysfs. Kernels from 6.6 number the Pi header lines from 512 ' +
            '(571 on a Pi 5); `auto` (the default) reads the base of the pinctrl gpiochip',
        }),
      ),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      backend: Type.Literal('sim'),
      address: Type.String({
        minLength: 1,
        description: 'The GPIO simulator (hardware-sim/gpio): `host:port` or a Unix socket path',
      }),
    },
    { additionalProperties: false },
  ),
]);
export type GpioHardware = Static<typeof GpioHardware>;

/** The role each GPIO driver kind acts as (checked for all drivers in ../config.ts). */
export const GPIO_KIND_ROLE: Record<string, Role> = {
  'gpio-keypad': 'keypad',
  'gpio-rating': 'rating',
  voice: 'announcer',
};

/** The GPIO lines a driver config claims, with what each is for. */
export function linesOf(driver: { kind: string } & Record<string, unknown>): { pin: number; use: string }[] {
  const lines: { pin: number; use: string }[] = [];
  if (driver.kind === 'gpio-keypad') {
    const d = driver as unknown as GpioKeypadDriver;
    for (const b of d.buttons) lines.push({ pin: b.pin, use: `${b.action} button` });
    if (d.feedback) lines.push({ pin: d.feedback.pin, use: 'feedback' });
  } else if (driver.kind === 'gpio-rating') {
    const d = driver as unknown as GpioRatingDriver;
    for (const b of d.buttons) lines.push({ pin: b.pin, use: `score ${b.score} button` });
    if (d.sessionLamp) lines.push({ pin: d.sessionLamp.pin, use: 'session lamp' });
    if (d.feedback) lines.push({ pin: d.feedback.pin, use: 'feedback' });
  } else if (driver.kind === 'voice') {
    const d = driver as unknown as VoiceDriver;
    if (d.amplifier) lines.push({ pin: d.amplifier.pin, use: 'amplifier relay' });
  }
  return lines;
}

/**
 * What the schema cannot say about GPIO and voice drivers: the role each kind acts as, a line used twice
 * (across all peripherals), and the `hardware.gpio` section the lines need.
 */
export function gpioConfigIssues(cfg: BoxConfig): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const owners = new Map<number, string>();
  let needsGpio = '';
  cfg.peripherals.forEach((p, i) => {
    const d = p.driver as ({ kind: string } & Record<string, unknown>) | undefined;
    if (!d || !(d.kind in GPIO_KIND_ROLE)) return;
    const path = `peripherals[${i}].driver`;
    for (const line of linesOf(d)) {
      const owner = owners.get(line.pin);
      if (owner !== undefined)
        issues.push({ path, message: `GPIO ${line.pin} (${line.use}) is already used by ${owner}` });
      else owners.set(line.pin, `${p.id} (${line.use})`);
      needsGpio ||= path;
    }
  });
  if (needsGpio && cfg.hardware?.gpio === undefined)
    issues.push({
      path: 'hardware.gpio',
      message: `${needsGpio} uses GPIO lines: set hardware.gpio to { backend: onoff } on a Raspberry Pi, or { backend: sim, address: … }`,
    });
  return issues;
}
