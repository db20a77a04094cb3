// Config of the GPIO drivers (push-button keypads, rating buttons, the amplifier relay) and the voice
// announcer. Owned by the GPIO and voice drivers; referenced from ../config.ts.
import { Type } from '@sinclair/typebox';

/** Placeholder until the GPIO drivers land: each kind refines its own object. */
export const GPIO_DRIVER_CONFIGS = [
  Type.Object({ kind: Type.Literal('gpio-keypad') }, { additionalProperties: true }),
  Type.Object({ kind: Type.Literal('gpio-rating') }, { additionalProperties: true }),
  Type.Object({ kind: Type.Literal('voice') }, { additionalProperties: true }),
] as const;

/** Box-level GPIO settings (which backend: onoff on a Pi, or the simulator). */
export const GpioHardware = Type.Object({}, { additionalProperties: true });
