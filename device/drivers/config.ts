// The `driver` field of a peripheral (hardware the box drives itself) and the box-level `hardware` section.
import { Type, type Static } from '@sinclair/typebox';
import { GPIO_DRIVER_CONFIGS, GpioHardware } from './gpio/config.js';
import { SERIAL_DRIVER_CONFIGS, SerialHardware } from './serial/config.js';

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
