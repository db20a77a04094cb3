// Config of the byte-stream drivers (serial port, RS-485 bus, or TCP): printer, LED boards, serial keypads,
// scanners. Owned by the serial drivers; referenced from ../config.ts.
import { Type } from '@sinclair/typebox';

/** Placeholder until the serial drivers land: each kind refines its own object. */
export const SERIAL_DRIVER_CONFIGS = [
  Type.Object({ kind: Type.Literal('escpos') }, { additionalProperties: true }),
  Type.Object({ kind: Type.Literal('led-rs485') }, { additionalProperties: true }),
  Type.Object({ kind: Type.Literal('serial-keypad') }, { additionalProperties: true }),
  Type.Object({ kind: Type.Literal('serial-scanner') }, { additionalProperties: true }),
] as const;

/** Box-level resources shared by several peripherals (e.g. one RS-485 bus for all LED boards). */
export const SerialHardware = Type.Object({}, { additionalProperties: true });
