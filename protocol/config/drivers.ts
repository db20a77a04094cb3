// The `driver` field of a peripheral (hardware the box drives itself) and the box-level `hardware` section.
import { Type, type Static } from '@sinclair/typebox';
import { schemaIssues, type Role, type SchemaIssue } from '../index.js';
import type { PeripheralConfig } from './schema.js';
import { GPIO_DRIVER_CONFIGS, GPIO_KIND_ROLE, GpioHardware } from './gpio.js';
import { SERIAL_DRIVER_CONFIGS, SERIAL_KIND_ROLE, SerialHardware } from './serial.js';

const KIND_ROLE: Record<string, Role> = { ...SERIAL_KIND_ROLE, ...GPIO_KIND_ROLE };

/** A driver acts as its peripheral: its kind must fit the peripheral's role (a printer on a kiosk). */
export function driverRoleIssues(peripherals: PeripheralConfig[]): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  peripherals.forEach((p, i) => {
    const kind = p.driver?.kind;
    const role = kind === undefined ? undefined : KIND_ROLE[kind];
    if (role !== undefined && role !== p.role)
      issues.push({
        path: `peripherals[${i}].driver.kind`,
        message: `a ${kind} driver acts as a ${role}, but ${p.id} is a ${p.role}`,
      });
  });
  return issues;
}

const VARIANTS = [...SERIAL_DRIVER_CONFIGS, ...GPIO_DRIVER_CONFIGS];

/**
 * A driver's schema issues against the variant its `kind` names: "Expected union value" says nothing to an
 * admin, `peripherals[3].driver.link: …` does. Null when no variant has that kind.
 */
export function driverIssues(driver: unknown, path: string): SchemaIssue[] | null {
  const kind = (driver as { kind?: unknown } | null)?.kind;
  const variant = VARIANTS.find((v) => (v.properties.kind as { const?: unknown }).const === kind);
  if (!variant) return null;
  return schemaIssues(variant, driver).map((i) => ({
    path: i.path === '(root)' ? path : `${path}.${i.path}`,
    message: i.message,
  }));
}

export const DriverConfig = Type.Union([...SERIAL_DRIVER_CONFIGS, ...GPIO_DRIVER_CONFIGS], {
  description:
    'Hardware the box drives for this peripheral (printer, RS-485 LED board, GPIO buttons, voice). ' +
    'Absent: the peripheral is MQTT-native and logs in with its secret.',
});
export type DriverConfig = Static<typeof DriverConfig>;

export const HardwareConfig = Type.Object(
  {
    serial: Type.Optional(SerialHardware),
    gpio: Type.Optional(GpioHardware),
  },
  { additionalProperties: false },
);
export type HardwareConfig = Static<typeof HardwareConfig>;
